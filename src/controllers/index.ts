import { resourceFor } from '../api/scheme';
import type { Runnable } from '../manager/runnable';
import type { ControllerContext } from './context';
import { schedulerFromContext } from '../scheduler/scheduler';
import { garbageCollector } from './garbage-collector/garbage-collector';
import { namespaceController } from './namespace/namespace-controller';
import { replicaSetController } from './replicaset/replicaset-controller';
import { deploymentController } from './deployment/deployment-controller';
import { statefulSetController } from './statefulset/statefulset-controller';
import { daemonSetController } from './daemonset/daemonset-controller';
import { endpointSliceMirroringController, endpointsController } from './endpoints/endpoints-controller';
import { jobController } from './job/job-controller';
import { cronJobController } from './cronjob/cronjob-controller';
import { nodeLifecycleController } from './node-lifecycle/node-lifecycle-controller';
import { disruptionController } from './disruption/disruption-controller';
import { hpaController } from './hpa/hpa-controller';
import { metricsCollectorFor } from '../apiserver/metrics';
import { persistentVolumeController } from './volume/binder';
import { volumeProtectionController } from './volume/protection';

/**
 * The built-in controllers, in start order. Each entry is a factory taking the shared context;
 * add a controller by adding one line here.
 */
const FACTORIES: ((ctx: ControllerContext) => Runnable)[] = [
  (ctx) => schedulerFromContext(ctx),
  (ctx) => garbageCollector(ctx.registry, ctx.log),
  (ctx) => namespaceController(ctx.registry, ctx.informers.for(resourceFor('', 'namespaces')!), ctx.log),
  (ctx) => replicaSetController(ctx),
  (ctx) => deploymentController(ctx),
  (ctx) => statefulSetController(ctx),
  (ctx) => daemonSetController(ctx),
  (ctx) => endpointsController(ctx),
  (ctx) => endpointSliceMirroringController(ctx),
  (ctx) => jobController(ctx),
  (ctx) => cronJobController(ctx),
  (ctx) => nodeLifecycleController(ctx),
  (ctx) => disruptionController(ctx),
  (ctx) => metricsCollectorFor(ctx),
  (ctx) => hpaController(ctx, { metrics: metricsCollectorFor(ctx) }),
  (ctx) => persistentVolumeController(ctx),
  (ctx) => volumeProtectionController(ctx),
];

export function builtinControllers(ctx: ControllerContext): Runnable[] {
  const l = ctx.log.child('controllers');
  return FACTORIES.map((f) => f({ ...ctx, log: l }));
}
