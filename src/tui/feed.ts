import type { KObject } from '../api/types';
import type { HttpClient } from '../client/http-client';
import type { Snapshot } from './model';

/**
 * Keeps a Snapshot of the cluster current with list + watch per resource over the API (the
 * dashboard is a separate process from the daemon). Reconnects a broken watch after a second;
 * `onChange` is throttled to at most one call per `throttleMs`.
 */
const SOURCES: [keyof Snapshot, string][] = [
  ['pods', '/api/v1/pods'],
  ['nodes', '/api/v1/nodes'],
  ['deployments', '/apis/apps/v1/deployments'],
  ['statefulsets', '/apis/apps/v1/statefulsets'],
  ['daemonsets', '/apis/apps/v1/daemonsets'],
  ['jobs', '/apis/batch/v1/jobs'],
  ['events', '/api/v1/events'],
];

export class ClusterFeed {
  private readonly maps = new Map<keyof Snapshot, Map<string, KObject>>();
  private readonly stops: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private closed = false;
  error?: string;

  constructor(
    private readonly client: HttpClient,
    private readonly onChange: () => void,
    private readonly throttleMs = 100,
  ) {
    for (const [k] of SOURCES) this.maps.set(k, new Map());
  }

  snapshot(): Snapshot {
    const s = {} as Snapshot;
    for (const [k] of SOURCES) s[k] = [...this.maps.get(k)!.values()];
    return s;
  }

  /** Lists everything once; resolves when the first full snapshot is loaded, then keeps watching. */
  async start(): Promise<void> {
    await Promise.all(SOURCES.map(([k, path]) => this.follow(k, path)));
  }

  private async follow(k: keyof Snapshot, path: string): Promise<void> {
    const m = this.maps.get(k)!;
    const list = await this.client.request<{ metadata: { resourceVersion: string }; items: KObject[] }>('GET', path);
    m.clear();
    for (const o of list.items) m.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    this.changed();
    if (this.closed) return;
    const stop = this.client.watch(
      `${path}?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
      (ev) => {
        if (!ev.object?.metadata) return;
        const key = `${ev.object.metadata.namespace}/${ev.object.metadata.name}`;
        if (ev.type === 'DELETED') m.delete(key);
        else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') m.set(key, ev.object);
        this.changed();
      },
      (err) => {
        if (this.closed) return;
        this.error = err ? err.message : undefined;
        setTimeout(() => void this.follow(k, path).catch((e) => (this.error = (e as Error).message)), 1000).unref();
      },
    );
    this.stops.push(stop);
  }

  private changed(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, this.throttleMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.stops) s();
  }
}
