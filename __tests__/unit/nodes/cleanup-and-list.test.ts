import type Docker from 'dockerode';
import { removeProfileResources, pickClusterCidr } from '../../../src/kubelet/node-manager';
import { nodeRows, nodeType } from '../../../src/cli/commands/node';
import { CONTROL_PLANE_LABEL, NODE_ANNOTATIONS } from '../../../src/kubelet/node-status';
import type { IptablesRunner } from '../../../src/network/node-network';
import type { KObject } from '../../../src/api/types';

/** A Docker engine with just what cleanup uses: containers and networks with labels. */
function fakeDocker(opts: { containers?: Array<{ Id: string; Labels: Record<string, string> }>; networks?: Array<{ Id: string; Name: string; Labels: Record<string, string>; Subnet?: string }>; down?: boolean }) {
  const containers = [...(opts.containers ?? [])];
  const networks = [...(opts.networks ?? [])];
  const removed: string[] = [];
  const matches = (labels: Record<string, string>, filters?: { label?: string[] }) => (filters?.label ?? []).every((l) => {
    const [k, v] = l.split('=');
    return labels[k] === v;
  });
  const docker = {
    ping: async () => {
      if (opts.down) throw Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' });
      return 'OK';
    },
    listContainers: async (o: { filters?: { label?: string[] } }) => containers.filter((c) => matches(c.Labels, o.filters)),
    getContainer: (id: string) => ({
      remove: async () => {
        const i = containers.findIndex((c) => c.Id === id);
        if (i < 0) throw Object.assign(new Error('No such container'), { statusCode: 404 });
        containers.splice(i, 1);
        removed.push(`container ${id}`);
      },
    }),
    listNetworks: async (o?: { filters?: { label?: string[] } }) => networks.filter((n) => matches(n.Labels, o?.filters)).map((n) => ({ ...n, IPAM: { Config: n.Subnet ? [{ Subnet: n.Subnet }] : [] } })),
    getNetwork: (idOrName: string) => {
      const find = () => networks.find((n) => n.Id === idOrName || n.Name === idOrName);
      return {
        inspect: async () => {
          const n = find();
          if (!n) throw Object.assign(new Error('network not found'), { statusCode: 404 });
          return { Id: n.Id, Name: n.Name, Labels: n.Labels, IPAM: { Config: [] }, Containers: {} };
        },
        disconnect: async () => undefined,
        remove: async () => {
          const n = find();
          if (!n) throw Object.assign(new Error('network not found'), { statusCode: 404 });
          networks.splice(networks.indexOf(n), 1);
          removed.push(`network ${n.Name}`);
        },
      };
    },
  };
  return { docker: docker as unknown as Docker, containers, networks, removed };
}

/** An iptables whose tables print like `iptables -t T -S`, deleting on `-D`. */
function fakeIptables(tables: Record<string, string[]>, failWith?: { code: number; stderr: string }): { run: IptablesRunner; tables: Record<string, string[]> } {
  const run: IptablesRunner = async (args) => {
    if (failWith) return { ...failWith, stdout: '' };
    const [, table, op, ...rest] = args;
    const lines = tables[table];
    if (!lines) return { code: 3, stdout: '', stderr: `iptables v1.8.9: can't initialize iptables table \`${table}': Table does not exist` };
    if (op === '-S' && rest[0]) {
      const chain = rest[0];
      const mine = lines.filter((l) => l === `-N ${chain}` || l === `-P ${chain} ACCEPT` || l.startsWith(`-A ${chain} `));
      if (!mine.length) return { code: 1, stdout: '', stderr: `iptables: No chain/target/match by that name.` };
      return { code: 0, stdout: mine.join('\n') + '\n', stderr: '' };
    }
    if (op === '-S') return { code: 0, stdout: lines.join('\n') + '\n', stderr: '' };
    if (op === '-X') {
      const chain = rest[0];
      if (lines.some((l) => l.startsWith(`-A ${chain} `) || new RegExp(`-[jg] ${chain}( |$)`).test(l))) return { code: 1, stdout: '', stderr: 'Directory not empty' };
      const i = lines.indexOf(`-N ${chain}`);
      if (i < 0) return { code: 1, stdout: '', stderr: 'No chain/target/match by that name.' };
      lines.splice(i, 1);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (op === '-D') {
      const want = rest.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
      const i = lines.findIndex((l) => l.replace(/^-A /, '') === want || l.replace(/^-A /, '').replace(/"/g, '') === rest.join(' '));
      if (i < 0) return { code: 1, stdout: '', stderr: 'Bad rule (does a matching rule exist in that chain?).' };
      lines.splice(i, 1);
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 2, stdout: '', stderr: `unexpected ${args.join(' ')}` };
  };
  return { run, tables };
}

describe('removeProfileResources (minictl delete)', () => {
  test('removes the profile’s containers, networks and commented iptables rules, and nothing else', async () => {
    const d = fakeDocker({
      containers: [
        { Id: 'a', Labels: { 'io.minictl.profile': 'p', 'io.minictl.node': 'p', 'io.minictl.sandbox': 'true' } },
        { Id: 'b', Labels: { 'io.minictl.profile': 'p', 'io.minictl.node': 'p-m02' } },
        { Id: 'c', Labels: { 'io.minictl.profile': 'p2', 'io.minictl.node': 'p2' } },
        { Id: 'd', Labels: {} },
      ],
      networks: [
        { Id: 'n1', Name: 'minictl-p-p', Labels: { 'io.minictl.profile': 'p', 'io.minictl.node': 'p' } },
        { Id: 'n2', Name: 'minictl-p-p-m02', Labels: { 'io.minictl.profile': 'p', 'io.minictl.node': 'p-m02' } },
        { Id: 'n3', Name: 'minictl-p2-p2', Labels: { 'io.minictl.profile': 'p2', 'io.minictl.node': 'p2' } },
        { Id: 'n4', Name: 'other', Labels: { 'io.minictl.profile': 'p' } },
      ],
    });
    const ipt = fakeIptables({
      filter: ['-P INPUT ACCEPT', '-N DOCKER-USER', '-A DOCKER-USER -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "minictl:p" -j ACCEPT', '-A DOCKER-USER -s 10.1.0.0/16 -m comment --comment minictl:p2 -j ACCEPT', '-A DOCKER-USER -j RETURN'],
      nat: ['-P POSTROUTING ACCEPT', '-A POSTROUTING -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "minictl:p" -j RETURN', '-A PREROUTING -d 10.96.0.10/32 -p udp -m comment --comment "minictl:p:dns" -j DNAT --to-destination 10.244.1.1:53', '-A POSTROUTING -m comment --comment "minictl:pp" -j RETURN'],
    });
    const r = await removeProfileResources('p', { docker: d.docker, iptables: ipt.run });
    expect(r.warnings).toEqual([]);
    expect(r.containers).toBe(2);
    expect(d.containers.map((c) => c.Id).sort()).toEqual(['c', 'd']);
    // app containers go before sandboxes
    expect(d.removed.slice(0, 2)).toEqual(['container b', 'container a']);
    expect(r.networks.sort()).toEqual(['minictl-p-p', 'minictl-p-p-m02', 'other']);
    expect(d.networks.map((n) => n.Id)).toEqual(['n3']);
    expect(r.iptablesRules).toHaveLength(3);
    expect(ipt.tables.filter.join('\n')).toContain('minictl:p2');
    expect(ipt.tables.filter.join('\n')).not.toContain('"minictl:p"');
    expect(ipt.tables.nat).toEqual(['-P POSTROUTING ACCEPT', '-A POSTROUTING -m comment --comment "minictl:pp" -j RETURN']);
  });

  test('a host without Docker or iptables is not an error', async () => {
    const d = fakeDocker({ down: true });
    const ipt = fakeIptables({}, { code: 127, stderr: 'iptables: command not found' });
    const r = await removeProfileResources('p', { docker: d.docker, iptables: ipt.run });
    expect(r).toEqual({ containers: 0, networks: [], iptablesRules: [], iptablesChains: [], warnings: [] });
  });

  test('iptables errors other than missing permission are reported as warnings', async () => {
    const d = fakeDocker({});
    const r = await removeProfileResources('p', { docker: d.docker, iptables: fakeIptables({}, { code: 4, stderr: 'resource busy' }).run });
    expect(r.warnings).toEqual(['iptables: resource busy']);
    const denied = await removeProfileResources('p', { docker: d.docker, iptables: fakeIptables({}, { code: 4, stderr: 'Permission denied (you must be root)' }).run });
    expect(denied.warnings).toEqual([]);
  });
});

test('chains the profile made are removed once empty; Docker chains and shared chains stay', async () => {
  const d = fakeDocker({});
  const ipt = fakeIptables({
    filter: ['-P FORWARD ACCEPT', '-N DOCKER-USER', '-N MC-p-FWD', '-N SHARED', '-A DOCKER-USER -m comment --comment "minictl:p" -j MC-p-FWD', '-A DOCKER-USER -j RETURN', '-A MC-p-FWD -s 10.244.1.0/24 -m comment --comment "minictl:p" -j ACCEPT', '-A SHARED -m comment --comment "minictl:p" -j ACCEPT', '-A SHARED -j RETURN'],
    nat: ['-P PREROUTING ACCEPT', '-N MC-p-PRE', '-N MC-p-SVC', '-A PREROUTING -m comment --comment "minictl:p" -j MC-p-PRE', '-A MC-p-PRE -m comment --comment "minictl:p" -j MC-p-SVC', '-A MC-p-SVC -d 10.96.0.1/32 -m comment --comment "minictl:p:svc" -j DNAT --to-destination 10.244.1.1:6443'],
  });
  const r = await removeProfileResources('p', { docker: d.docker, iptables: ipt.run });
  expect(r.warnings).toEqual([]);
  expect(r.iptablesRules).toHaveLength(6);
  expect(r.iptablesChains.sort()).toEqual(['-t filter MC-p-FWD', '-t nat MC-p-PRE', '-t nat MC-p-SVC']);
  expect(ipt.tables.filter).toEqual(['-P FORWARD ACCEPT', '-N DOCKER-USER', '-N SHARED', '-A DOCKER-USER -j RETURN', '-A SHARED -j RETURN']);
  expect(ipt.tables.nat).toEqual(['-P PREROUTING ACCEPT']);
});

describe('pickClusterCidr', () => {
  test('10.244.0.0/16 when free, else the next free /16 below it, skipping excluded ones', async () => {
    expect(await pickClusterCidr(fakeDocker({}).docker)).toBe('10.244.0.0/16');
    const busy = fakeDocker({ networks: [{ Id: 'x', Name: 'x', Labels: {}, Subnet: '10.244.3.0/24' }, { Id: 'y', Name: 'y', Labels: {}, Subnet: '10.243.0.0/16' }] });
    expect(await pickClusterCidr(busy.docker)).toBe('10.242.0.0/16');
    expect(await pickClusterCidr(busy.docker, new Set(['10.242.0.0/16']))).toBe('10.241.0.0/16');
    const wide = fakeDocker({ networks: [{ Id: 'z', Name: 'z', Labels: {}, Subnet: '10.0.0.0/8' }] });
    await expect(pickClusterCidr(wide.docker)).rejects.toThrow(/no free \/16/);
  });
});

describe('minictl node ls rows', () => {
  const now = new Date('2024-05-01T12:00:00Z');
  const mk = (name: string, ann: Record<string, string>, labels: Record<string, string> = {}, ready = 'True', runtime = 'docker://20.10.24'): KObject => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, annotations: ann, labels, creationTimestamp: '2024-05-01T11:00:00Z' },
    status: { conditions: [{ type: 'Ready', status: ready }], nodeInfo: { containerRuntimeVersion: runtime } },
  });
  const managed = { [NODE_ANNOTATIONS.managed]: 'true' };
  const nodes = [
    mk('p-s0001', { ...managed, [NODE_ANNOTATIONS.simulated]: 'true' }, {}, 'True', 'fake://0.1.0'),
    mk('p-m02', { ...managed, [NODE_ANNOTATIONS.stopped]: 'true' }, {}, 'Unknown'),
    mk('p', managed, { [CONTROL_PLANE_LABEL]: '' }),
    mk('ext', {}, {}, 'False'),
    mk('p-m03', { ...managed, [NODE_ANNOTATIONS.runtime]: 'fake' }, {}, 'True', 'fake://0.1.0'),
  ];
  const pod = (node: string, phase = 'Running'): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { nodeName: node }, status: { phase } });

  test('control plane first, then by name; pods counted per node, finished pods excluded', () => {
    const rows = nodeRows(nodes, [pod('p'), pod('p'), pod('p-m02'), pod('p', 'Succeeded'), pod('p-s0001', 'Failed')], now);
    expect(rows).toEqual([
      ['p', 'Ready', 'control-plane', 'docker', '2', '60m'],
      ['ext', 'NotReady', '<none>', 'external', '0', '60m'],
      ['p-m02', 'Stopped', '<none>', 'docker', '1', '60m'],
      ['p-m03', 'Ready', '<none>', 'fake', '0', '60m'],
      ['p-s0001', 'Ready', '<none>', 'simulated', '0', '60m'],
    ]);
    expect(nodeType(nodes[0])).toBe('simulated');
  });
});
