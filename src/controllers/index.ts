import { resourceFor } from '../api/scheme';
import type { Registry } from '../apiserver/registry';
import { InformerFactory } from '../client/informer';
import type { Runnable } from '../manager/runnable';
import type { Logger } from '../util/log';
import { garbageCollector } from './garbage-collector/garbage-collector';
import { namespaceController } from './namespace/namespace-controller';

/** The built-in controllers, in start order. */
export function builtinControllers(registry: Registry, log: Logger): Runnable[] {
  const informers = new InformerFactory(registry);
  const l = log.child('controllers');
  return [garbageCollector(registry, l), namespaceController(registry, informers.for(resourceFor('', 'namespaces')!), l)];
}
