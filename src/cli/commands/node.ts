/**
 * `minictl node add|rm|stop|start|ls`: node membership through the API only. Managed nodes are
 * Node objects annotated `minictl.io/managed` (see kubelet/node-status.ts); the daemon's node
 * manager reacts to them (starts/stops kubelets, creates/removes networks and containers). The
 * commands wait (up to `--wait` seconds) until the change has taken effect.
 */
import type Docker from 'dockerode';
import type { KObject, ListObject } from '../../api/types';
import type { HttpClient } from '../../client/http-client';
import { ApiError } from '../../util/errors';
import { since } from '../../apiserver/printers/util';
import {
  NODE_ANNOTATIONS,
  NODE_LEASE_NAMESPACE,
  describeCapacity,
  isControlPlane,
  isManaged,
  isSimulated,
  isStopped,
  nextNodeName,
  nextSimulatedNames,
  nodeDisplayStatus,
  nodeNameError,
  nodeRoles,
  parseCpus,
  parseMemory,
} from '../../kubelet/node-status';
import { CliError, clientFor, resolveProfile, type CliIO, type ProfileOpts } from '../io';
import { renderTable } from '../printers/table';

const NODES = '/api/v1/nodes';
const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

export interface NodeAddOpts extends ProfileOpts {
  cpus?: string;
  memory?: string;
  simulated?: boolean;
  count?: string;
  wait?: string;
}

export interface NodeWaitOpts extends ProfileOpts {
  wait?: string;
}

export interface NodeRmOpts extends NodeWaitOpts {
  simulated?: boolean;
}

export interface NodeLsOpts extends ProfileOpts {
  output?: string;
}

function waitMs(o: NodeWaitOpts, def = 120): number {
  const v = o.wait === undefined ? def : Number(o.wait);
  if (!Number.isFinite(v) || v < 0) throw new CliError(`invalid --wait ${o.wait}: must be a number of seconds ≥ 0`);
  return v * 1000;
}

async function listNodes(c: HttpClient): Promise<KObject[]> {
  return (await c.request<ListObject>('GET', NODES)).items;
}

async function getNode(c: HttpClient, profile: string, name: string): Promise<KObject> {
  const err = nodeNameError(name);
  if (err) throw new CliError(err);
  try {
    return await c.request<KObject>('GET', `${NODES}/${encodeURIComponent(name)}`);
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) {
      const names = (await listNodes(c)).map((n) => n.metadata.name!);
      const shown = names.slice(0, 8).join(', ') + (names.length > 8 ? `, … (${names.length} in all)` : '');
      throw new CliError(`node "${name}" not found in cluster "${profile}"${names.length ? `; nodes: ${shown}` : ''}`);
    }
    throw e;
  }
}

function requireManaged(n: KObject): void {
  if (!isManaged(n)) throw new CliError(`node "${n.metadata.name}" is not managed by minictl (no ${NODE_ANNOTATIONS.managed} annotation); use kubectl for it`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or `ms` pass; returns whether it succeeded. */
async function pollUntil(ms: number, check: () => Promise<boolean>, intervalMs = 250): Promise<boolean> {
  const t = Date.now();
  for (;;) {
    if (await check()) return true;
    if (Date.now() - t >= ms) return false;
    await sleep(intervalMs);
  }
}

function isReady(n: KObject | undefined): boolean {
  return !!n && !isStopped(n) && (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** Runs `fn` over `items` with at most `limit` in flight; collects errors instead of stopping. */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<Error[]> {
  const errors: Error[] = [];
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < items.length) {
      const x = items[i++];
      try {
        await fn(x);
      } catch (e) {
        errors.push(e as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return errors;
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `minictl node add [NAME] [--cpus N] [--memory 4Gi] [--simulated --count K]` */
export async function nodeAddCommand(name: string | undefined, o: NodeAddOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const count = o.count === undefined ? 1 : Number(o.count);
  const max = o.simulated ? 10_000 : 253;
  if (!Number.isInteger(count) || count < 1 || count > max) throw new CliError(`invalid --count ${o.count}: must be an integer from 1 to ${max}${o.simulated ? '' : ' (docker nodes)'}`);
  if (name !== undefined && count > 1) throw new CliError('give either a node NAME or --count, not both');
  if (name !== undefined) {
    const err = nodeNameError(name);
    if (err) throw new CliError(err);
  }
  const annotations: Record<string, string> = { [NODE_ANNOTATIONS.managed]: 'true' };
  if (o.simulated) annotations[NODE_ANNOTATIONS.simulated] = 'true';
  try {
    if (o.cpus !== undefined) {
      parseCpus(o.cpus);
      annotations[NODE_ANNOTATIONS.cpus] = o.cpus;
    }
    if (o.memory !== undefined) {
      parseMemory(o.memory);
      annotations[NODE_ANNOTATIONS.memory] = o.memory;
    }
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const wait = waitMs(o);
  const c = clientFor(profile, paths);
  const t0 = Date.now();
  try {
    const existing = await listNodes(c);
    const taken = new Set(existing.map((n) => n.metadata.name!));
    if (name !== undefined && taken.has(name)) throw new CliError(`node "${name}" already exists in cluster "${profile}"`);
    const names = name !== undefined ? [name] : o.simulated ? nextSimulatedNames(profile, taken, count) : [];
    if (name === undefined && !o.simulated) for (let i = 0; i < count; i++) names.push(nextNodeName(profile, new Set([...taken, ...names])));
    const kind = o.simulated ? 'simulated' : 'docker';
    const errors = await pool(names, 32, async (n) => {
      try {
        await c.request('POST', NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: n, annotations }, spec: {} });
      } catch (e) {
        if (e instanceof ApiError && e.code === 409) throw new CliError(`node "${n}" already exists in cluster "${profile}"`);
        throw e;
      }
    });
    if (errors.length) {
      for (const e of errors.slice(0, 5)) io.stderr.write(`error: ${e.message}\n`);
      if (errors.length === names.length) return 1;
    }
    const created = names.length - errors.length;
    const what = names.length === 1 ? `node "${names[0]}"` : `${created} ${kind} nodes (${names[0]} … ${names[names.length - 1]})`;
    io.stdout.write(`  ✓ added ${what} (${Date.now() - t0} ms)\n`);
    if (wait === 0) return errors.length ? 1 : 0;
    let last: KObject[] = [];
    const want = new Set(names);
    const ok = await pollUntil(wait, async () => {
      last = (await listNodes(c)).filter((n) => want.has(n.metadata.name!));
      return last.filter(isReady).length >= created;
    }, names.length > 100 ? 1000 : 250);
    if (!ok) {
      const notReady = last.filter((n) => !isReady(n));
      const why = notReady
        .slice(0, 3)
        .map((n) => `${n.metadata.name}: ${(n.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready')?.message ?? 'no status yet'}`)
        .join('; ');
      throw new CliError(`${plural(notReady.length, 'node')} not Ready after ${wait / 1000} s${why ? ` (${why})` : ''}; see the daemon log`);
    }
    const cap = last[0]?.status?.capacity ? `, ${describeCapacity(last[0].status.capacity)}${last.length > 1 ? ' each' : ''}` : '';
    io.stdout.write(`  ✓ ${names.length === 1 ? `node "${names[0]}" is` : `all ${created} nodes are`} Ready (${kind}${cap}; ${Date.now() - t0} ms)\n`);
    return errors.length ? 1 : 0;
  } finally {
    c.close();
  }
}

/** `minictl node rm NAME... | --simulated` */
export async function nodeRemoveCommand(names: string[], o: NodeRmOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  if (!names.length && !o.simulated) throw new CliError('give the NAME of the node to remove (or --simulated to remove every simulated node)');
  const wait = waitMs(o, 60);
  const c = clientFor(profile, paths);
  const t0 = Date.now();
  try {
    let targets: KObject[];
    if (o.simulated && !names.length) {
      targets = (await listNodes(c)).filter((n) => isManaged(n) && isSimulated(n));
      if (!targets.length) {
        io.stdout.write(`minictl: cluster "${profile}" has no simulated nodes\n`);
        return 0;
      }
    } else {
      targets = [];
      for (const n of names) targets.push(await getNode(c, profile, n));
    }
    for (const n of targets) {
      requireManaged(n);
      if (isControlPlane(n) || n.metadata.name === profile) {
        throw new CliError(`cannot remove "${n.metadata.name}": it is the control-plane node of cluster "${profile}"; delete the whole cluster with: minictl delete${profile === 'minictl' ? '' : ' --profile ' + profile}`);
      }
    }
    const errors = await pool(targets, 32, async (n) => {
      try {
        await c.request('DELETE', `${NODES}/${encodeURIComponent(n.metadata.name!)}`, { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: n.metadata.uid } });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    });
    for (const e of errors.slice(0, 5)) io.stderr.write(`error: ${e.message}\n`);
    const removed = targets.length - errors.length;
    // The node manager deletes the Lease once the node's containers and network are gone; the
    // networks are checked too (the garbage collector may delete the Lease first).
    const leases = new Set(targets.map((n) => n.metadata.name!));
    const docker = targets.some((n) => !isSimulated(n)) ? dockerClient() : undefined;
    const networks = targets.filter((n) => !isSimulated(n)).map((n) => `minictl-${profile}-${n.metadata.name}`);
    const done = wait === 0 || (await pollUntil(wait, async () => {
      const l = await c.request<ListObject>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`);
      if (l.items.some((x) => leases.has(x.metadata.name!))) return false;
      if (!docker || !networks.length) return true;
      try {
        const left = (await docker.listNetworks({ filters: { label: [`io.minictl.profile=${profile}`] } })) as Array<{ Name: string }>;
        return !left.some((x) => networks.includes(x.Name));
      } catch {
        return true;
      }
    }));
    const what = targets.length === 1 ? `node "${targets[0].metadata.name}"` : `${removed} nodes`;
    io.stdout.write(`  ✓ removed ${what}${done ? '' : ' (its containers are still being removed)'} (${Date.now() - t0} ms)\n`);
    return errors.length ? 1 : 0;
  } finally {
    c.close();
  }
}

/** `minictl node stop NAME`: simulate a node failure. */
export async function nodeStopCommand(name: string, o: NodeWaitOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const c = clientFor(profile, paths);
  try {
    const n = await getNode(c, profile, name);
    requireManaged(n);
    if (isStopped(n)) {
      io.stdout.write(`minictl: node "${name}" is already stopped\n`);
      return 0;
    }
    await c.request('PATCH', `${NODES}/${encodeURIComponent(name)}`, { metadata: { annotations: { [NODE_ANNOTATIONS.stopped]: 'true' } } }, MERGE_PATCH);
    if (!isSimulated(n)) await waitContainersStopped(profile, name, waitMs(o, 60), io);
    io.stdout.write(`  ✓ node "${name}" stopped: its kubelet, containers and heartbeat are stopped; it turns NotReady after the node-monitor grace period. Bring it back with: minictl node start ${name}\n`);
    return 0;
  } finally {
    c.close();
  }
}

/** A Docker client, or undefined when dockerode cannot be loaded. */
function dockerClient(): Docker | undefined {
  try {
    // Loaded lazily: dockerode costs ~100 ms of start-up for every other command.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rt = require('../../kubelet/runtime/docker/docker-runtime') as typeof import('../../kubelet/runtime/docker/docker-runtime');
    return rt.createDockerClient();
  } catch {
    return undefined;
  }
}

/** Waits until no container of the node runs (Docker nodes); warns instead of failing. */
async function waitContainersStopped(profile: string, node: string, ms: number, io: CliIO): Promise<void> {
  if (ms === 0) return;
  const docker = dockerClient();
  if (!docker) return;
  const labels = [`io.minictl.profile=${profile}`, `io.minictl.node=${node}`];
  const ok = await pollUntil(ms, async () => {
    try {
      return (await docker.listContainers({ filters: { label: labels } })).length === 0;
    } catch {
      return true;
    }
  });
  if (!ok) io.stderr.write(`warning: containers of node "${node}" are still stopping after ${ms / 1000} s\n`);
}

/** `minictl node start NAME`: bring a stopped node back. */
export async function nodeStartCommand(name: string, o: NodeWaitOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  const c = clientFor(profile, paths);
  const t0 = Date.now();
  try {
    const n = await getNode(c, profile, name);
    requireManaged(n);
    if (!isStopped(n)) {
      io.stdout.write(`minictl: node "${name}" is not stopped (${nodeDisplayStatus(n)})\n`);
      return 0;
    }
    await c.request('PATCH', `${NODES}/${encodeURIComponent(name)}`, { metadata: { annotations: { [NODE_ANNOTATIONS.stopped]: null } } }, MERGE_PATCH);
    const wait = waitMs(o);
    if (wait > 0) {
      // Ready once its kubelet runs again: the Lease is renewed and the Ready condition re-posted.
      const since0 = t0 - 1000;
      const ok = await pollUntil(wait, async () => {
        try {
          const l = await c.request<KObject>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${encodeURIComponent(name)}`);
          const cur = await c.request<KObject>('GET', `${NODES}/${encodeURIComponent(name)}`);
          return Date.parse(l.spec?.renewTime ?? '') >= since0 && isReady(cur);
        } catch (e) {
          if (e instanceof ApiError && e.code === 404) return false;
          throw e;
        }
      });
      if (!ok) throw new CliError(`node "${name}" did not become Ready within ${wait / 1000} s; see the daemon log`);
    }
    io.stdout.write(`  ✓ node "${name}" started${wait > 0 ? ' and Ready' : ''} (${Date.now() - t0} ms)\n`);
    return 0;
  } finally {
    c.close();
  }
}

/** The TYPE column: docker / simulated / fake (runtime fake) / external (not managed). */
export function nodeType(n: KObject): string {
  if (!isManaged(n)) return 'external';
  if (isSimulated(n)) return 'simulated';
  if (n.metadata.annotations?.[NODE_ANNOTATIONS.runtime] === 'fake') return 'fake';
  return String(n.status?.nodeInfo?.containerRuntimeVersion ?? '').startsWith('fake://') ? 'fake' : 'docker';
}

/** Rows of `minictl node ls`: NAME STATUS ROLES TYPE PODS AGE. */
export function nodeRows(nodes: KObject[], pods: KObject[], now: Date): string[][] {
  const perNode = new Map<string, number>();
  for (const p of pods) {
    const nn = p.spec?.nodeName;
    if (!nn || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    perNode.set(nn, (perNode.get(nn) ?? 0) + 1);
  }
  return [...nodes]
    .sort((a, b) => Number(isControlPlane(b)) - Number(isControlPlane(a)) || a.metadata.name!.localeCompare(b.metadata.name!))
    .map((n) => [n.metadata.name!, nodeDisplayStatus(n), nodeRoles(n), nodeType(n), String(perNode.get(n.metadata.name!) ?? 0), since(n.metadata.creationTimestamp, now)]);
}

/** `minictl node ls` */
export async function nodeListCommand(o: NodeLsOpts, io: CliIO): Promise<number> {
  const { profile, paths } = resolveProfile(o, io.env);
  if (o.output && !['json', 'name'].includes(o.output)) throw new CliError(`unknown output format "${o.output}": use json or name`);
  const c = clientFor(profile, paths);
  try {
    const nodes = await listNodes(c);
    const pods = (await c.request<ListObject>('GET', '/api/v1/pods')).items;
    const rows = nodeRows(nodes, pods, new Date());
    if (o.output === 'name') {
      for (const r of rows) io.stdout.write(`node/${r[0]}\n`);
    } else if (o.output === 'json') {
      io.stdout.write(JSON.stringify(rows.map(([name, status, roles, type, podCount, age]) => ({ name, status, roles, type, pods: Number(podCount), age })), null, 2) + '\n');
    } else if (!rows.length) {
      io.stdout.write(`No nodes in cluster "${profile}".\n`);
    } else {
      const cols = ['NAME', 'STATUS', 'ROLES', 'TYPE', 'PODS', 'AGE'].map((name) => ({ name, priority: 0 }));
      io.stdout.write(renderTable({ columnDefinitions: cols, rows: rows.map((cells) => ({ cells })) }));
    }
    return 0;
  } finally {
    c.close();
  }
}
