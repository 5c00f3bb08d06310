import type { IncomingMessage } from 'node:http';
import type { KObject } from '../../../src/api/types';
import type { ContainerInfo, ContainerRuntime } from '../../../src/kubelet/runtime/container-runtime';
import { ManualClock } from '../../../src/kubelet/runtime/fake/fake-runtime';
import { negotiatePortForward } from '../../../src/apiserver/streams/portforward';
import { dialErrorMessage, forwardErrorMessage } from '../../../src/apiserver/streams/portforward-connection';
import { parseForwardStreamHeaders, StreamPairer, type StreamPair } from '../../../src/apiserver/streams/portforward-spdy';
import { registryPodTarget, resolverPodTarget } from '../../../src/apiserver/streams/portforward-target';
import { negotiatePortForwardWebSocket, parsePortsQuery, portPrefix } from '../../../src/apiserver/streams/portforward-websocket';
import type { StreamResolver } from '../../../src/apiserver/streams/resolver';
import { ApiError, BadRequestError, NotFoundError } from '../../../src/util/errors';

function headers(h: Record<string, string>): Map<string, string[]> {
  return new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), [v]]));
}

describe('parseForwardStreamHeaders (the kubelet checks)', () => {
  test.each([
    ['a data stream', { streamType: 'data', port: '8080', requestID: '3' }, 5, { type: 'data', port: 8080, requestId: '3' }],
    ['an error stream', { streamType: 'error', port: '1', requestID: '0' }, 1, { type: 'error', port: 1, requestId: '0' }],
    ['port 65535', { streamType: 'data', port: '65535', requestID: 'x' }, 1, { type: 'data', port: 65535, requestId: 'x' }],
    ['no requestID, error stream: its own id', { streamType: 'error', port: '80' }, 7, { type: 'error', port: 80, requestId: '7' }],
    ['no requestID, data stream: its id − 2', { streamType: 'data', port: '80' }, 9, { type: 'data', port: 80, requestId: '7' }],
    ['no port', { streamType: 'data' }, 1, { error: '"port" header is required' }],
    ['port 0', { streamType: 'data', port: '0' }, 1, { error: 'port "0" must be > 0' }],
    ['port 65536', { streamType: 'data', port: '65536' }, 1, { error: 'unable to parse "65536" as a port: strconv.ParseUint: parsing "65536": value out of range' }],
    ['port http', { streamType: 'data', port: 'http' }, 1, { error: 'unable to parse "http" as a port: strconv.ParseUint: parsing "http": invalid syntax' }],
    ['port -1', { streamType: 'data', port: '-1' }, 1, { error: 'unable to parse "-1" as a port: strconv.ParseUint: parsing "-1": invalid syntax' }],
    ['no streamType', { port: '80' }, 1, { error: '"streamType" header is required' }],
    ['streamType stdout', { streamType: 'stdout', port: '80' }, 1, { error: 'invalid stream type "stdout"' }],
  ])('%s', (_name, h, id, expected) => {
    expect(parseForwardStreamHeaders(headers(h), id)).toEqual(expected);
  });
});

describe('StreamPairer', () => {
  function setup(timeoutMs = 1000) {
    const clock = new ManualClock(0);
    const timedOut: StreamPair<string>[] = [];
    const pairer = new StreamPairer<string>(clock, timeoutMs, (p) => timedOut.push(p));
    return { clock, timedOut, pairer };
  }

  test('pairs by requestID in either order, and forgets complete pairs', async () => {
    const { clock, pairer, timedOut } = setup();
    expect(pairer.add('a', 'error', 'a-err')).toEqual({ complete: false, pair: { requestId: 'a', error: 'a-err' } });
    expect(pairer.add('b', 'data', 'b-data')).toEqual({ complete: false, pair: { requestId: 'b', data: 'b-data' } });
    expect(pairer.add('b', 'error', 'b-err')).toEqual({ complete: true, pair: { requestId: 'b', data: 'b-data', error: 'b-err' } });
    expect(pairer.add('a', 'data', 'a-data')).toEqual({ complete: true, pair: { requestId: 'a', error: 'a-err', data: 'a-data' } });
    expect(pairer.waiting).toBe(0);
    await clock.advance(5000);
    expect(timedOut).toEqual([]);
    // A completed requestID may start over.
    expect(pairer.add('a', 'data', 'a-data-2')).toMatchObject({ complete: false });
  });

  test('a second stream of one type is an error; the pair keeps the first', () => {
    const { pairer } = setup();
    pairer.add('r', 'error', 'first');
    expect(pairer.add('r', 'error', 'second')).toEqual({ error: 'error stream already assigned', pair: { requestId: 'r', error: 'first' } });
    pairer.add('s', 'data', 'd1');
    expect(pairer.add('s', 'data', 'd2')).toMatchObject({ error: 'data stream already assigned' });
    expect(pairer.add('r', 'data', 'd')).toEqual({ complete: true, pair: { requestId: 'r', error: 'first', data: 'd' } });
  });

  test('an incomplete pair times out after the stream creation timeout', async () => {
    const { clock, pairer, timedOut } = setup(30_000);
    pairer.add('lone', 'error', 'e');
    await clock.advance(29_999);
    expect(timedOut).toEqual([]);
    await clock.advance(1);
    expect(timedOut).toEqual([{ requestId: 'lone', error: 'e' }]);
    expect(pairer.waiting).toBe(0);
    // The requestID is free again.
    expect(pairer.add('lone', 'data', 'd')).toMatchObject({ complete: false });
  });

  test('clear() cancels every timer', async () => {
    const { clock, pairer, timedOut } = setup();
    pairer.add('x', 'error', 'e');
    pairer.add('y', 'data', 'd');
    pairer.clear();
    expect(clock.pending()).toBe(0);
    await clock.advance(10_000);
    expect(timedOut).toEqual([]);
  });
});

describe('negotiatePortForward', () => {
  const h = (x: Record<string, string>): IncomingMessage['headers'] => x;
  const q = (s = '') => new URLSearchParams(s);

  test('SPDY with portforward.k8s.io, or with no version header at all', () => {
    expect(negotiatePortForward(h({ upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'portforward.k8s.io' }), q())).toEqual({ kind: 'spdy' });
    expect(negotiatePortForward(h({ upgrade: 'spdy/3.1' }), q())).toEqual({ kind: 'spdy' });
  });

  test('SPDY offering only other protocols: 400', () => {
    expect(() => negotiatePortForward(h({ upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io, channel.k8s.io' }), q())).toThrow(
      'unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io channel.k8s.io], server accepts [portforward.k8s.io]',
    );
  });

  test('kubectl ≥ 1.31: SPDY tunnelled in a WebSocket (ports not needed)', () => {
    expect(negotiatePortForward(h({ upgrade: 'websocket', 'sec-websocket-protocol': 'SPDY/3.1+portforward.k8s.io' }), q())).toEqual({ kind: 'tunnel', subprotocol: 'SPDY/3.1+portforward.k8s.io' });
    expect(negotiatePortForward(h({ upgrade: 'WebSocket', 'sec-websocket-protocol': 'v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io' }), q())).toMatchObject({ kind: 'tunnel' });
    expect(() => negotiatePortForward(h({ upgrade: 'websocket', 'sec-websocket-protocol': 'SPDY/3.1+v5.channel.k8s.io' }), q())).toThrow(
      'requested protocol(s) are not supported: [SPDY/3.1+v5.channel.k8s.io]; supports [SPDY/3.1+portforward.k8s.io]',
    );
  });

  test('client-node: channels, in the client\'s order of what is supported', () => {
    const offer = 'v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io';
    expect(negotiatePortForward(h({ upgrade: 'websocket', 'sec-websocket-protocol': offer }), q('ports=8080'))).toEqual({ kind: 'channels', subprotocol: 'v4.channel.k8s.io', ports: [8080] });
    expect(negotiatePortForward(h({ upgrade: 'websocket', 'sec-websocket-protocol': 'v4.base64.channel.k8s.io' }), q('ports=1,2'))).toEqual({ kind: 'channels', subprotocol: 'v4.base64.channel.k8s.io', ports: [1, 2] });
    expect(negotiatePortForward(h({ upgrade: 'websocket' }), q('ports=80'))).toEqual({ kind: 'channels', subprotocol: '', ports: [80] });
    expect(() => negotiatePortForward(h({ upgrade: 'websocket', 'sec-websocket-protocol': 'v5.channel.k8s.io' }), q('ports=80'))).toThrow(/^requested protocol\(s\) are not supported: \[v5.channel.k8s.io\]/);
    expect(() => negotiatePortForward(h({ upgrade: 'websocket', 'sec-websocket-protocol': 'v4.channel.k8s.io' }), q())).toThrow('query parameter "ports" is required');
  });

  test('anything else: 400', () => {
    expect(() => negotiatePortForward(h({ upgrade: 'h2c' }), q())).toThrow(BadRequestError);
    expect(() => negotiatePortForward(h({}), q())).toThrow('unsupported upgrade ""');
  });
});

describe('WebSocket channel details', () => {
  test.each([
    ['ports=8080', [8080]],
    ['ports=80,443', [80, 443]],
    ['ports=80&ports=443', [80, 443]],
    ['port=9000', [9000]],
    ['ports=65535', [65535]],
  ])('parsePortsQuery(%s)', (qs, ports) => {
    expect(parsePortsQuery(new URLSearchParams(qs))).toEqual(ports);
  });

  test.each([
    ['', 'query parameter "ports" is required'],
    ['ports=', 'query parameter "ports" cannot be empty'],
    ['ports=0', 'port "0" must be > 0'],
    ['ports=80,', 'unable to parse "" as a port: strconv.ParseUint: parsing "": invalid syntax'],
    ['ports=70000', 'unable to parse "70000" as a port: strconv.ParseUint: parsing "70000": value out of range'],
    ['ports=http', 'unable to parse "http" as a port: strconv.ParseUint: parsing "http": invalid syntax'],
  ])('parsePortsQuery(%j) is a 400', (qs, message) => {
    let err: unknown;
    try {
      parsePortsQuery(new URLSearchParams(qs));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Error).message).toBe(message);
  });

  test('the port prefix is 2 bytes, little-endian (as the kubelet writes it)', () => {
    expect(portPrefix(8080)).toEqual(Buffer.from([0x90, 0x1f]));
    expect(portPrefix(1)).toEqual(Buffer.from([1, 0]));
  });

  test('protocols: v4 binary and base64, none means binary, others unsupported', () => {
    expect(negotiatePortForwardWebSocket(['v4.channel.k8s.io'])).toMatchObject({ name: 'v4.channel.k8s.io', base64: false });
    expect(negotiatePortForwardWebSocket(['v4.base64.channel.k8s.io'])).toMatchObject({ base64: true });
    expect(negotiatePortForwardWebSocket([])).toMatchObject({ name: '', base64: false });
    expect(negotiatePortForwardWebSocket(['channel.k8s.io', 'v5.channel.k8s.io'])).toBeUndefined();
  });
});

describe('error texts', () => {
  test('dial failures in Go\'s words', () => {
    const e = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
    expect(dialErrorMessage('10.244.1.5', 8081, e('ECONNREFUSED'))).toBe('dial tcp4 10.244.1.5:8081: connect: connection refused');
    expect(dialErrorMessage('10.244.1.5', 80, e('EHOSTUNREACH'))).toBe('dial tcp4 10.244.1.5:80: connect: no route to host');
    expect(dialErrorMessage('10.244.1.5', 80, e('ETIMEDOUT'))).toBe('dial tcp4 10.244.1.5:80: i/o timeout');
    expect(dialErrorMessage('fd00::5', 80, e('ENETUNREACH'))).toBe('dial tcp6 [fd00::5]:80: connect: network is unreachable');
    expect(dialErrorMessage('10.0.0.1', 80, e('EWHATEVER'))).toBe('dial tcp4 10.0.0.1:80: connect EWHATEVER');
  });

  test('the error-stream message, as the kubelet prints it', () => {
    expect(forwardErrorMessage(8081, { namespace: 'default', name: 'web', uid: 'u-1', ip: '10.0.0.1' }, 'dial tcp4 10.0.0.1:8081: connect: connection refused')).toBe(
      'error forwarding port 8081 to pod u-1, uid : dial tcp4 10.0.0.1:8081: connect: connection refused',
    );
  });
});

describe('pod targets', () => {
  function pod(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KObject {
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: 'uid-1' }, spec: { containers: [{ name: 'app' }], ...spec }, status };
  }

  test('registryPodTarget: uid and status.podIP; 400 without node or IP; 404 passes through', () => {
    const pods: Record<string, KObject> = {
      web: pod({ nodeName: 'n1' }, { phase: 'Running', podIP: '10.244.1.7' }),
      pending: pod({}, { phase: 'Pending' }),
      starting: pod({ nodeName: 'n1' }, { phase: 'Pending' }),
    };
    const lookup = registryPodTarget({
      get: (_ri, _ns, name) => {
        const p = pods[name];
        if (!p) throw new NotFoundError('pods', name);
        return p;
      },
    });
    expect(lookup('default', 'web')).toEqual({ namespace: 'default', name: 'web', uid: 'uid-1', ip: '10.244.1.7' });
    expect(() => lookup('default', 'pending')).toThrow('pod pending does not have a host assigned');
    expect(() => lookup('default', 'starting')).toThrow('pod starting does not have an IP address yet (phase Pending)');
    expect(() => lookup('default', 'gone')).toThrow(NotFoundError);
  });

  function info(x: Partial<ContainerInfo>): ContainerInfo {
    return { id: '', runtimeName: '', podUid: '', podName: '', namespace: 'default', containerName: '', restartCount: 0, sandbox: false, state: 'running', image: '', imageRef: '', createdAt: 0, labels: {}, ...x };
  }

  test('resolverPodTarget: the sandbox IP of the resolved container', async () => {
    const runtime = {
      listContainers: async () => [
        info({ id: 'sb-other', sandbox: true, podUid: 'u-2', ip: '10.244.1.9' }),
        info({ id: 'sb-1', sandbox: true, podUid: 'u-1', ip: '10.244.1.8' }),
        info({ id: 'c-1-full-id', sandboxId: 'sb-1', podUid: 'u-1', containerName: 'app' }),
      ],
    } as unknown as ContainerRuntime;
    const resolver: StreamResolver = {
      resolve: (_ns, name) => {
        if (name === 'multi') throw new BadRequestError('a container name must be specified for pod multi, choose one of: [a b]');
        if (name === 'gone') throw new NotFoundError('pods', name);
        return { runtime, containerId: name === 'web' ? 'c-1-full-id' : 'unknown', containerName: 'app' };
      },
    };
    const lookup = resolverPodTarget(resolver);
    await expect(lookup('default', 'web')).resolves.toEqual({ namespace: 'default', name: 'web', uid: 'u-1', ip: '10.244.1.8' });
    await expect(lookup('default', 'multi')).rejects.toThrow(/pods with several containers need a pod lookup/);
    await expect(lookup('default', 'gone')).rejects.toThrow(NotFoundError);
    await expect(lookup('default', 'other')).rejects.toThrow('pod other does not have an IP address yet');
    const failing = resolverPodTarget({ resolve: () => ({ runtime: { listContainers: async () => Promise.reject(new Error('engine down')) } as unknown as ContainerRuntime, containerId: 'x', containerName: 'app' }) });
    const err = await Promise.resolve()
      .then(() => failing('default', 'web'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(500);
  });
});
