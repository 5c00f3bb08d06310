import { resourceFor } from '../api/scheme';
import type { Runnable } from '../manager/runnable';
import type { ControllerContext } from './context';
import { garbageCollector } from './garbage-collector/garbage-collector';
import { namespaceController } from './namespace/namespace-controller';

/**
 * The built-in controllers, in start order. Each entry is a factory taking the shared context;
 * add a controller by adding one line here.
 */
const FACTORIES: ((ctx: ControllerContext) => Runnable)[] = [
  (ctx) => garbageCollector(ctx.registry, ctx.log),
  (ctx) => namespaceController(ctx.registry, ctx.informers.for(resourceFor('', 'namespaces')!), ctx.log),
];

export function builtinControllers(ctx: ControllerContext): Runnable[] {
  const l = ctx.log.child('controllers');
  return FACTORIES.map((f) => f({ ...ctx, log: l }));
}
