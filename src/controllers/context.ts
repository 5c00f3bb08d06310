import type { Registry } from '../apiserver/registry';
import type { InformerFactory } from '../client/informer';
import { RegistryEventRecorder, type EventRecorder } from '../client/events';
import type { Logger } from '../util/log';
import type { Clock } from '../controller/workqueue';

/**
 * What every controller gets: the registry (in-process client), the shared informers, a logger,
 * an event recorder per component, the clock, and the cluster's tunables.
 */
export interface ControllerContext {
  registry: Registry;
  informers: InformerFactory;
  log: Logger;
  clock: Clock;
  recorder(component: string): EventRecorder;
  /** tunables set by daemon flags; each controller documents its own keys */
  settings: ControllerSettings;
  /** the profile data dir (dynamically provisioned volumes live under `<dataDir>/volumes`); absent in pure unit tests */
  dataDir?: string;
}

export interface ControllerSettings {
  /** node-lifecycle: a node silent this long becomes NotReady/Unknown (default 20 s) */
  nodeMonitorGracePeriodMs?: number;
  /** node-lifecycle: pods on a NotReady node are evicted after this long (default 30 s) */
  podEvictionTimeoutMs?: number;
  [k: string]: unknown;
}

export function recorderFactory(registry: Registry): (component: string) => EventRecorder {
  return (component) => new RegistryEventRecorder(registry, component);
}
