import * as fs from 'node:fs';
import { SqliteStore } from '../store/sqlite-store';
import { Registry } from '../apiserver/registry';
import { ApiServer } from '../apiserver/server';
import { ensurePKI, ensureToken, type ClusterPKI } from '../apiserver/certs';
import { bootstrapCluster } from './bootstrap';
import { profilePaths, type ProfilePaths } from './paths';
import { Logger, silentLogger } from '../util/log';
import type { Runnable } from './runnable';
import { RunnableGroup } from './runnable';
import { builtinControllers } from '../controllers';
import { recorderFactory, type ControllerSettings } from '../controllers/context';
import { InformerFactory } from '../client/informer';
import { realClock } from '../controller/workqueue';

/**
 * One cluster in one process: store → apiserver → controllers, started in that order behind ready
 * gates and stopped in reverse. Used by the daemon and by library users (src/index.ts).
 */
export interface ClusterOptions {
  profile: string;
  /** Data directory; default ~/.minictl/<profile>. Ignored when `inMemory`. */
  dataDir?: string;
  /** Keep state in memory only (tests); PKI and token still go to dataDir. */
  inMemory?: boolean;
  /** API port on 127.0.0.1; 0 = pick a free one. */
  port?: number;
  fsync?: boolean;
  log?: Logger;
  /** Extra components started after the controllers (kubelets, proxy ...). */
  extraRunnables?: (c: Cluster) => Runnable[];
  compactEveryMs?: number;
  /** controller tunables (grace periods ...) */
  controllerSettings?: ControllerSettings;
}

export interface ClusterInfo {
  profile: string;
  server: string;
  port: number;
  token: string;
  caCertPem: string;
  dataDir: string;
}

export class Cluster {
  readonly paths: ProfilePaths;
  store!: SqliteStore;
  registry!: Registry;
  /** shared in-process informers (caches) for controllers, scheduler and kubelets */
  informers!: InformerFactory;
  apiserver!: ApiServer;
  pki!: ClusterPKI;
  token!: string;
  port = 0;
  private readonly log: Logger;
  private readonly runnables = new RunnableGroup();
  private ready = false;
  private compactTimer?: NodeJS.Timeout;

  constructor(readonly opts: ClusterOptions) {
    this.paths = profilePaths(opts.profile, opts.dataDir);
    this.log = opts.log ?? silentLogger;
  }

  async start(): Promise<ClusterInfo> {
    const t0 = Date.now();
    fs.mkdirSync(this.paths.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.paths.dir, 0o700);
    this.pki = ensurePKI(this.paths.dir);
    this.token = ensureToken(this.paths.dir);
    this.store = new SqliteStore({ path: this.opts.inMemory ? ':memory:' : this.paths.db, fsync: this.opts.fsync });
    if (!this.opts.inMemory) for (const f of [this.paths.db, this.paths.db + '-wal', this.paths.db + '-shm']) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    this.registry = new Registry(this.store);
    bootstrapCluster(this.registry);
    this.log.info('store ready', { revision: this.store.revision(), ms: Date.now() - t0 });
    this.apiserver = new ApiServer({ registry: this.registry, pki: this.pki, token: this.token, port: this.opts.port ?? 0, log: this.log.child('apiserver'), isReady: () => this.ready });
    this.port = await this.apiserver.listen();
    this.log.info('apiserver listening', { address: `https://127.0.0.1:${this.port}` });
    this.informers = new InformerFactory(this.registry);
    const ctx = { registry: this.registry, informers: this.informers, log: this.log, clock: realClock, recorder: recorderFactory(this.registry), settings: this.opts.controllerSettings ?? {} };
    for (const r of builtinControllers(ctx)) this.runnables.add(r);
    for (const r of this.opts.extraRunnables?.(this) ?? []) this.runnables.add(r);
    await this.runnables.start(this.log);
    this.compactTimer = setInterval(() => {
      try {
        this.store.compact();
      } catch (e) {
        this.log.error('compaction failed', { error: String(e) });
      }
    }, this.opts.compactEveryMs ?? 5 * 60_000);
    this.compactTimer.unref();
    this.ready = true;
    this.log.info('cluster ready', { ms: Date.now() - t0 });
    return this.info();
  }

  info(): ClusterInfo {
    return { profile: this.opts.profile, server: `https://127.0.0.1:${this.port}`, port: this.port, token: this.token, caCertPem: this.pki.caCertPem, dataDir: this.paths.dir };
  }

  /** Stops in reverse order: extra runnables and controllers, then the API server, then the store. */
  async stop(graceMs = 10_000): Promise<void> {
    this.ready = false;
    if (this.compactTimer) clearInterval(this.compactTimer);
    await this.runnables.stop(graceMs, this.log);
    this.informers?.stopAll();
    await this.apiserver?.close();
    this.store?.close();
    this.log.info('cluster stopped');
  }
}
