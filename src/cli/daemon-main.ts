import * as fs from 'node:fs';
import { Cluster } from '../manager/cluster';
import { Logger } from '../util/log';
import { profilePaths } from '../manager/paths';

/**
 * The daemon process: runs one cluster until SIGTERM/SIGINT, then stops it gracefully.
 * Started by `minictl start` (detached, output to the profile's daemon.log) or `--foreground`.
 */
/** What the daemon is started with; `minictl start` passes it as one JSON argument. */
export interface DaemonOptions {
  profile: string;
  dataDir: string;
  port: number;
  verbosity: number;
  fsync?: boolean;
  /** nodes of a new cluster (default 1); an existing cluster keeps its nodes */
  nodes?: number;
  /** capacity of each node of a new cluster */
  cpus?: string;
  memory?: string;
  /** container runtime of the nodes (default docker) */
  runtime?: 'docker' | 'fake';
}

export interface DaemonArgs extends DaemonOptions {
  /** called once the cluster is ready */
  onReady?: (c: Cluster) => void | Promise<void>;
  out?: NodeJS.WritableStream;
}

export async function runDaemon(a: DaemonArgs): Promise<number> {
  const out = a.out ?? process.stdout;
  const log = new Logger((l) => out.write(l + '\n'), a.verbosity);
  const paths = profilePaths(a.profile, a.dataDir);
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(paths.pid, String(process.pid) + '\n', { mode: 0o600 });
  const cluster = new Cluster({ profile: a.profile, dataDir: a.dataDir, port: a.port, log, fsync: a.fsync, nodes: a.nodes ?? 1, nodeRuntime: a.runtime, nodeCpus: a.cpus, nodeMemory: a.memory });
  let stopping: Promise<void> | undefined;
  const stop = (sig: string): Promise<void> => {
    if (!stopping) {
      log.info('stopping', { signal: sig });
      stopping = cluster.stop().finally(() => {
        try {
          if (fs.readFileSync(paths.pid, 'utf8').trim() === String(process.pid)) fs.unlinkSync(paths.pid);
        } catch {
          /* already gone */
        }
      });
    }
    return stopping;
  };
  process.on('uncaughtException', (e) => log.error('uncaught exception (kept running)', { error: e.stack ?? String(e) }));
  process.on('unhandledRejection', (e) => log.error('unhandled rejection (kept running)', { error: e instanceof Error ? e.stack : String(e) }));
  const done = new Promise<number>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(sig).then(() => resolve(0)));
  });
  try {
    await cluster.start();
  } catch (e) {
    log.error('start failed', { error: (e as Error).stack ?? String(e) });
    await stop('start-failure');
    return 1;
  }
  await a.onReady?.(cluster);
  return done;
}

if (require.main === module) {
  // `daemon-main.js '<DaemonOptions JSON>'`, or the older positional form `PROFILE DIR PORT [V] [fsync]`.
  const argv = process.argv.slice(2);
  let o: DaemonOptions;
  if (argv[0]?.startsWith('{')) o = JSON.parse(argv[0]) as DaemonOptions;
  else {
    const [profile, dataDir, port, verbosity, fsync] = argv;
    o = { profile, dataDir, port: Number(port), verbosity: Number(verbosity) || 0, fsync: fsync === 'fsync' };
  }
  runDaemon(o).then((code) => process.exit(code));
}
