import { RESOURCES, resourceFor } from '../../api/scheme';
import type { Registry } from '../../apiserver/registry';
import { Controller } from '../../controller/controller';
import type { Informer } from '../../client/informer';
import { AlreadyExistsError, NotFoundError } from '../../util/errors';
import type { Logger } from '../../util/log';

/**
 * Namespace lifecycle: a namespace being deleted (Terminating) has all its content deleted; once
 * nothing is left its `kubernetes` finalizer is removed and it disappears. Active namespaces get
 * their `default` ServiceAccount.
 */
export function namespaceController(registry: Registry, namespaces: Informer, log: Logger): Controller {
  const nsRI = resourceFor('', 'namespaces')!;
  const saRI = resourceFor('', 'serviceaccounts')!;
  const namespaced = RESOURCES.filter((r) => r.namespaced);
  return new Controller({
    name: 'namespace',
    log,
    setup: (enqueue) => {
      namespaces.addHandlers({ onAdd: (o) => enqueue(o.metadata.name!), onUpdate: (_o, n) => enqueue(n.metadata.name!) });
      namespaces.start();
    },
    reconcile: (name) => {
      const ns = namespaces.get(undefined, name);
      if (!ns) return;
      if (!ns.metadata.deletionTimestamp) {
        if (!registry.tryGet(saRI, name, 'default')) {
          try {
            registry.create(saRI, name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
          } catch (e) {
            if (!(e instanceof AlreadyExistsError)) throw e;
          }
        }
        return;
      }
      let remaining = 0;
      for (const ri of namespaced) {
        for (const o of registry.list(ri, name).items) {
          remaining++;
          if (o.metadata.deletionTimestamp) continue;
          try {
            registry.delete(ri, name, o.metadata.name!, { propagationPolicy: 'Background' });
          } catch (e) {
            if (!(e instanceof NotFoundError)) throw e;
          }
        }
      }
      if (remaining > 0) {
        // re-check until content is gone (pods terminate gracefully, finalizers run)
        const left = namespaced.reduce((n, ri) => n + registry.list(ri, name).items.length, 0);
        if (left > 0) return { requeueAfterMs: 500 };
      }
      if ((ns.spec?.finalizers ?? []).length) {
        registry.update(nsRI, undefined, name, { ...ns, spec: { ...ns.spec, finalizers: [] } }, { subresource: 'finalize' });
      }
      return;
    },
  });
}
