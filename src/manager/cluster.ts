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
import { PodStreams, kubeletResolver } from '../apiserver/streams';
import { NodeManager, type NodeManagerOptions } from '../kubelet/node-manager';
import { installMetricsServer } from '../apiserver/metrics';
import { registryPodTarget } from '../apiserver/streams/portforward-target';
import { resourceFor } from '../api/scheme';
import { ServiceAllocator } from '../network/ipam/service-allocator';
import { bootstrapClusterServices } from '../network/proxy/cluster-services';
import { ServiceNetwork, type ServiceNetworkOptions } from '../network/proxy/service-network';
import { storageAdmission } from '../controllers/volume/admission';

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
  /**
   * Nodes registered on a fresh cluster, each driven by its own kubelet (see NodeManager).
   * Undefined or 0: no node manager, no kubelets (an API-only cluster).
   */
  nodes?: number;
  /** Container runtime of non-simulated nodes: 'docker' (default) or 'fake' (no containers). */
  nodeRuntime?: 'docker' | 'fake';
  /** Capacity of the initial nodes (`--cpus 2`, `--memory 4Gi`); default the host's. */
  nodeCpus?: string;
  nodeMemory?: string;
  /** Node manager tunables and hooks (heartbeat periods, pod range, kubelet DNS …). */
  nodeManager?: Partial<Omit<NodeManagerOptions, 'profile' | 'registry' | 'informers' | 'dataDir'>>;
  /**
   * The Services data plane (service proxy, cluster DNS, NodePort/LoadBalancer listeners, ingress;
   * see ServiceNetwork). Default: on when the cluster has docker nodes (`nodes` set, runtime not
   * 'fake'), else off (only the `kubernetes`/`kube-dns` Services and their Endpoints are kept).
   * `false` forces it off; an object turns it on with these settings.
   */
  network?: false | Partial<Omit<ServiceNetworkOptions, 'profile' | 'registry' | 'informers' | 'log' | 'dataDir' | 'apiPort' | 'dataPlane'>>;
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
  /** Runs the kubelets of the profile's nodes; undefined when `nodes` is 0/undefined. */
  nodeManager?: NodeManager;
  /** Services data plane: proxy, cluster DNS, host ports, ingress (see ClusterOptions.network). */
  network?: ServiceNetwork;
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
    const servicesRI = resourceFor('', 'services')!;
    this.registry.addAdmissionPlugin(new ServiceAllocator({ listServices: () => this.registry.list(servicesRI, undefined).items }));
    this.registry.addAdmissionPlugin(storageAdmission(this.registry));
    bootstrapCluster(this.registry);
    bootstrapClusterServices(this.registry);
    this.log.info('store ready', { revision: this.store.revision(), ms: Date.now() - t0 });
    this.apiserver = new ApiServer({ registry: this.registry, pki: this.pki, token: this.token, port: this.opts.port ?? 0, log: this.log.child('apiserver'), isReady: () => this.ready });
    this.port = await this.apiserver.listen();
    this.log.info('apiserver listening', { address: `https://127.0.0.1:${this.port}` });
    this.informers = new InformerFactory(this.registry);
    const ctx = { registry: this.registry, informers: this.informers, log: this.log, clock: realClock, recorder: recorderFactory(this.registry), settings: this.opts.controllerSettings ?? {}, dataDir: this.paths.dir };
    for (const r of builtinControllers(ctx)) this.runnables.add(r);
    // Before the kubelets: their ClusterFirst DNS depends on whether cluster DNS is reachable.
    const net = this.opts.network;
    const dockerNodes = !!this.opts.nodes && (this.opts.nodeRuntime ?? this.opts.nodeManager?.runtime ?? 'docker') !== 'fake';
    const network = new ServiceNetwork({ ...(net || {}), profile: this.opts.profile, registry: this.registry, informers: this.informers, log: this.log, dataDir: this.paths.dir, apiPort: this.port, dataPlane: net === false ? false : net !== undefined || dockerNodes });
    this.network = network;
    this.runnables.add(network);
    if (this.opts.nodes) {
      this.nodeManager = new NodeManager({
        log: this.log,
        ...this.opts.nodeManager,
        // `dns` is read when each kubelet is created, after the network has started.
        kubelet: {
          get dns() {
            return network.podDns();
          },
          serviceEnv: (ns: string) => network.serviceEnv(ns),
          ...this.opts.nodeManager?.kubelet,
        },
        profile: this.opts.profile,
        registry: this.registry,
        informers: this.informers,
        dataDir: this.paths.dir,
        initialNodes: this.opts.nodes,
        runtime: this.opts.nodeRuntime ?? this.opts.nodeManager?.runtime,
        initialCpus: this.opts.nodeCpus ?? this.opts.nodeManager?.initialCpus,
        initialMemory: this.opts.nodeMemory ?? this.opts.nodeManager?.initialMemory,
      });
      this.runnables.add(this.nodeManager);
      const nodeManager = this.nodeManager;
      // pods/log, exec and attach reach the container through the kubelet of the pod's node.
      this.apiserver.streams = new PodStreams({ resolver: kubeletResolver(this.registry, (node) => nodeManager.kubeletFor(node)), portForward: { pods: registryPodTarget(this.registry) }, log: this.log.child('streams') });
    }
    // metrics.k8s.io (kubectl top, the HPA): container stats from the kubelets' runtimes
    installMetricsServer(ctx, this.apiserver, this.nodeManager);
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
