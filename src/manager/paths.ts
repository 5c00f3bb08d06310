import * as os from 'node:os';
import * as path from 'node:path';

/** Where a profile's files live. Everything is under the data dir, created 0700. */
export interface ProfilePaths {
  dir: string;
  db: string;
  pid: string;
  log: string;
  config: string;
}

export const DEFAULT_PROFILE = 'minictl';

export function defaultDataRoot(): string {
  return process.env.MINICTL_HOME ?? path.join(os.homedir(), '.minictl');
}

/** `dataDir` given explicitly wins; otherwise `<root>/<profile>`. */
export function profilePaths(profile: string, dataDir?: string): ProfilePaths {
  const dir = dataDir ? path.resolve(dataDir) : path.join(defaultDataRoot(), profile);
  return {
    dir,
    db: path.join(dir, 'state.db'),
    pid: path.join(dir, 'daemon.pid'),
    log: path.join(dir, 'daemon.log'),
    config: path.join(dir, 'config.json'),
  };
}

export function validateProfileName(name: string): string | undefined {
  if (!/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/.test(name)) {
    return `invalid profile name "${name}": use 1-40 lower-case letters, digits or '-', starting and ending with a letter or digit`;
  }
  return undefined;
}
