import type { KObject } from '../api/types';
import { resourceFor } from '../api/scheme';
import type { Registry } from '../apiserver/registry';
import { ApiError } from '../util/errors';

/**
 * Records core/v1 Events about objects, as `kubectl describe` and `kubectl get events` show them.
 * Repeats of the same (object, type, reason, message) within ten minutes bump `count` and
 * `lastTimestamp` instead of creating a new Event. Recording never throws: an event that cannot be
 * written (namespace terminating, store closed) is dropped.
 */
export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  event(obj: KObject, type: EventType, reason: string, message: string): void;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class RegistryEventRecorder implements EventRecorder {
  private readonly recent = new Map<string, { name: string; ns: string; at: number }>();
  private seq = 0;

  constructor(
    private readonly registry: Registry,
    private readonly component: string,
    private readonly host?: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  event(obj: KObject, type: EventType, reason: string, message: string): void {
    const evRI = resourceFor('', 'events')!;
    const ns = obj.metadata.namespace || 'default';
    const key = `${obj.metadata.uid}|${type}|${reason}|${message}`;
    const now = this.now();
    const ts = rfc3339(now);
    try {
      const prev = this.recent.get(key);
      if (prev && now.getTime() - prev.at < 600_000) {
        const cur = this.registry.tryGet(evRI, prev.ns, prev.name);
        if (cur) {
          this.registry.guaranteedUpdate(evRI, prev.ns, prev.name, (e) => {
            e.count = (e.count ?? 1) + 1;
            e.lastTimestamp = ts;
            return e;
          });
          prev.at = now.getTime();
          return;
        }
      }
      const name = `${obj.metadata.name}.${(now.getTime() * 1000 + (this.seq++ % 1000)).toString(16)}`;
      this.registry.create(evRI, ns, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: {
          kind: obj.kind,
          namespace: obj.metadata.namespace,
          name: obj.metadata.name,
          uid: obj.metadata.uid,
          apiVersion: obj.apiVersion,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
        reportingComponent: this.component,
        reportingInstance: this.host ?? '',
      });
      this.recent.set(key, { name, ns, at: now.getTime() });
      // entries are in insertion order: drop expired ones from the front, and cap the size
      for (const [k, v] of this.recent) {
        if (this.recent.size <= 5000 && now.getTime() - v.at <= 600_000) break;
        this.recent.delete(k);
      }
    } catch (e) {
      if (!(e instanceof ApiError)) return;
    }
  }
}
