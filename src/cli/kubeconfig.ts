import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yaml from 'js-yaml';

/**
 * Reads and edits kubeconfig files the way `kubectl config` does: entries named after the profile
 * for cluster, user and context; other entries are preserved; written 0600.
 */
interface Named<T> {
  name: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

export interface KubeConfig {
  apiVersion: string;
  kind: string;
  clusters: Named<{ server: string; 'certificate-authority-data'?: string }>[];
  users: Named<{ token?: string }>[];
  contexts: Named<{ cluster: string; user: string; namespace?: string }>[];
  'current-context'?: string;
  preferences?: object;
  [k: string]: unknown;
}

/** The file kubectl would write to: the first path in $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const kc = env.KUBECONFIG?.split(path.delimiter).find((p) => p.trim() !== '');
  return kc ? path.resolve(kc) : path.join(env.HOME ?? os.homedir(), '.kube', 'config');
}

export function readKubeconfig(file: string): KubeConfig {
  let doc: Partial<KubeConfig> = {};
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8');
    try {
      doc = (yaml.load(text) as Partial<KubeConfig>) ?? {};
    } catch (e) {
      throw new Error(`cannot parse kubeconfig ${file}: ${(e as Error).message}; fix or move it and try again`);
    }
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`kubeconfig ${file} is not a mapping; fix or move it and try again`);
  }
  return {
    ...doc,
    apiVersion: doc.apiVersion ?? 'v1',
    kind: doc.kind ?? 'Config',
    clusters: doc.clusters ?? [],
    users: doc.users ?? [],
    contexts: doc.contexts ?? [],
    preferences: doc.preferences ?? {},
  };
}

export function writeKubeconfig(file: string, kc: KubeConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, yaml.dump(kc, { lineWidth: -1 }), { mode: 0o600 });
  fs.renameSync(tmp, file);
  fs.chmodSync(file, 0o600);
}

function upsert<T extends { name: string }>(list: T[], item: T): void {
  const i = list.findIndex((x) => x.name === item.name);
  if (i >= 0) list[i] = item;
  else list.push(item);
}

/** Adds or replaces the profile's cluster, user and context, and makes the context current. */
export function mergeContext(file: string, name: string, server: string, caPem: string, token: string): void {
  const kc = readKubeconfig(file);
  upsert(kc.clusters, { name, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } });
  upsert(kc.users, { name, user: { token } });
  upsert(kc.contexts, { name, context: { cluster: name, user: name } });
  kc['current-context'] = name;
  writeKubeconfig(file, kc);
}

/** Removes the profile's entries; clears current-context if it pointed at it. */
export function removeContext(file: string, name: string): boolean {
  if (!fs.existsSync(file)) return false;
  const kc = readKubeconfig(file);
  const before = kc.clusters.length + kc.users.length + kc.contexts.length;
  kc.clusters = kc.clusters.filter((c) => c.name !== name);
  kc.users = kc.users.filter((c) => c.name !== name);
  kc.contexts = kc.contexts.filter((c) => c.name !== name);
  const changed = before !== kc.clusters.length + kc.users.length + kc.contexts.length || kc['current-context'] === name;
  if (kc['current-context'] === name) kc['current-context'] = '';
  if (changed) writeKubeconfig(file, kc);
  return changed;
}
