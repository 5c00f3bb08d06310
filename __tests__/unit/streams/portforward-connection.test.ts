import type * as net from 'node:net';
import { Duplex } from 'node:stream';
import { ForwardedConnection, tcpDialer, type ForwardClient, type PortDialer } from '../../../src/apiserver/streams/portforward-connection';
import { ManualClock } from '../../../src/kubelet/runtime/fake/fake-runtime';

const TARGET = { namespace: 'default', name: 'web', uid: 'uid-1', ip: '10.244.1.5' };

/**
 * The pod's end of a connection: what the forwarder writes is recorded; `push`/`finish` play
 * the pod's output. Writes complete only when `flush()` says so, to model a slow pod.
 */
class FakePodSocket extends Duplex {
  readonly written: Buffer[] = [];
  private held: (() => void)[] = [];
  holdWrites = false;
  ended = false;

  constructor() {
    super({ allowHalfOpen: true });
  }
  _read(): void {
    /* fed through push() */
  }
  _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(chunk);
    if (this.holdWrites) this.held.push(() => cb());
    else cb();
  }
  _final(cb: () => void): void {
    this.ended = true;
    cb();
  }
  flush(): void {
    this.holdWrites = false;
    for (const f of this.held.splice(0)) f();
  }
  text(): string {
    return Buffer.concat(this.written).toString();
  }
}

class FakeClient implements ForwardClient {
  sent: Buffer[] = [];
  ended = false;
  errors: string[] = [];
  closed = 0;
  pauses = 0;
  resumes = 0;
  congested = false;
  send(d: Buffer): boolean {
    this.sent.push(d);
    return !this.congested;
  }
  sendEnd(): void {
    this.ended = true;
  }
  sendError(m: string): void {
    this.errors.push(m);
  }
  close(): void {
    this.closed++;
  }
  pauseInput(): void {
    this.pauses++;
  }
  resumeInput(): void {
    this.resumes++;
  }
  text(): string {
    return Buffer.concat(this.sent).toString();
  }
}

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function setup(dial?: PortDialer) {
  const pod = new FakePodSocket();
  const client = new FakeClient();
  let release!: () => void;
  const dialed = new Promise<void>((r) => (release = r));
  const d: PortDialer = dial ?? (async () => {
    await dialed;
    return pod as unknown as net.Socket;
  });
  const conn = new ForwardedConnection(client, TARGET, 8080, d);
  const done = conn.start();
  return { pod, client, conn, done, release };
}

describe('ForwardedConnection', () => {
  test('client bytes sent before the dial completes are delivered in order', async () => {
    const { pod, conn, release } = setup();
    conn.clientData(Buffer.from('GET / '));
    conn.clientData(Buffer.from('HTTP/1.1'));
    await tick();
    expect(pod.written).toEqual([]);
    release();
    await tick();
    conn.clientData(Buffer.from('\r\n'));
    await tick();
    expect(pod.text()).toBe('GET / HTTP/1.1\r\n');
  });

  test('half-closes travel both ways; done once the pod socket is closed', async () => {
    const { pod, client, conn, done, release } = setup();
    release();
    await tick();
    pod.push('answer');
    pod.push(null);
    await tick();
    expect(client.text()).toBe('answer');
    expect(client.ended).toBe(true);
    expect(client.closed).toBe(0);
    // The pod ended its side but still reads: the client may keep sending.
    conn.clientData(Buffer.from('more'));
    conn.clientEnd();
    await tick();
    expect(pod.text()).toBe('more');
    expect(pod.ended).toBe(true);
    pod.destroy();
    await done;
    expect(client.closed).toBe(1);
    expect(conn.isDone).toBe(true);
  });

  test('a client FIN before the dial ends the pod socket right after connecting', async () => {
    const { pod, conn, release } = setup();
    conn.clientData(Buffer.from('req'));
    conn.clientEnd();
    release();
    await tick();
    expect(pod.text()).toBe('req');
    expect(pod.ended).toBe(true);
  });

  test('a failed dial writes the kubelet message on the error stream and ends', async () => {
    const client = new FakeClient();
    const errors: string[] = [];
    const conn = new ForwardedConnection(client, TARGET, 8081, async () => Promise.reject(new Error('dial tcp4 10.244.1.5:8081: connect: connection refused')), (m) => errors.push(m));
    await conn.start();
    expect(client.errors).toEqual(['error forwarding port 8081 to pod uid-1, uid : dial tcp4 10.244.1.5:8081: connect: connection refused']);
    expect(errors).toEqual(client.errors);
    expect(client.closed).toBe(1);
  });

  test('abort destroys the pod socket and closes once, also before the dial completes', async () => {
    const a = setup();
    a.release();
    await tick();
    a.conn.abort();
    await a.done;
    expect(a.pod.destroyed).toBe(true);
    expect(a.client.closed).toBe(1);

    const b = setup();
    b.conn.abort();
    b.release();
    await b.done;
    await tick();
    expect(b.pod.destroyed).toBe(true);
    expect(b.client.closed).toBe(1);
  });

  test('a congested client pauses the pod socket until the transport drains', async () => {
    const { pod, client, conn, release } = setup();
    release();
    await tick();
    client.congested = true;
    pod.push('one');
    await tick();
    expect(pod.isPaused()).toBe(true);
    client.congested = false;
    conn.clientDrained();
    expect(pod.isPaused()).toBe(false);
    pod.push('two');
    await tick();
    expect(client.text()).toBe('onetwo');
  });

  test('a slow pod pauses the client input above 1 MiB unsent, and resumes on drain', async () => {
    const { pod, client, conn, release } = setup();
    release();
    await tick();
    pod.holdWrites = true;
    conn.clientData(Buffer.alloc(512 * 1024));
    expect(client.pauses).toBe(0);
    conn.clientData(Buffer.alloc(600 * 1024));
    expect(client.pauses).toBe(1);
    conn.clientData(Buffer.alloc(10));
    expect(client.pauses).toBe(1);
    pod.flush();
    await tick();
    expect(client.resumes).toBe(1);
  });

  test('more than 256 KiB before the dial completes pauses the client input until connected', async () => {
    const { client, conn, release } = setup();
    conn.clientData(Buffer.alloc(200 * 1024));
    expect(client.pauses).toBe(0);
    conn.clientData(Buffer.alloc(100 * 1024));
    expect(client.pauses).toBe(1);
    release();
    await tick();
    expect(client.resumes).toBe(1);
  });

  test('the input is resumed when the connection ends while paused', async () => {
    const { pod, client, conn, done, release } = setup();
    release();
    await tick();
    pod.holdWrites = true;
    conn.clientData(Buffer.alloc(2 << 20));
    expect(client.pauses).toBe(1);
    conn.abort();
    await done;
    expect(client.resumes).toBe(1);
  });
});

describe('tcpDialer', () => {
  /** A socket whose connect outcome the test decides. */
  function fakeConnect(): { connect: (o: net.NetConnectOpts) => net.Socket; sock: () => FakePodSocket & { opts?: net.NetConnectOpts } } {
    let last: FakePodSocket & { opts?: net.NetConnectOpts };
    return {
      connect: (o) => {
        last = Object.assign(new FakePodSocket(), { opts: o });
        return last as unknown as net.Socket;
      },
      sock: () => last,
    };
  }

  test('resolves with the half-open-capable socket once connected', async () => {
    const f = fakeConnect();
    const clock = new ManualClock(0);
    const p = tcpDialer(clock, 5000, f.connect)('10.244.1.5', 8080);
    expect(f.sock().opts).toEqual({ host: '10.244.1.5', port: 8080, allowHalfOpen: true });
    f.sock().emit('connect');
    await expect(p).resolves.toBe(f.sock());
    expect(clock.pending()).toBe(0);
  });

  test('connect errors in Go\'s words', async () => {
    const f = fakeConnect();
    const p = tcpDialer(new ManualClock(0), 5000, f.connect)('10.244.1.5', 8081);
    f.sock().emit('error', Object.assign(new Error('connect ECONNREFUSED 10.244.1.5:8081'), { code: 'ECONNREFUSED' }));
    await expect(p).rejects.toThrow('dial tcp4 10.244.1.5:8081: connect: connection refused');
    expect(f.sock().destroyed).toBe(true);
  });

  test('gives up after the connect timeout with i/o timeout', async () => {
    const f = fakeConnect();
    const clock = new ManualClock(0);
    const p = tcpDialer(clock, 5000, f.connect)('10.244.1.5', 9);
    p.catch(() => undefined);
    await clock.advance(4999);
    expect(f.sock().destroyed).toBe(false);
    await clock.advance(1);
    await expect(p).rejects.toThrow('dial tcp4 10.244.1.5:9: i/o timeout');
    expect(f.sock().destroyed).toBe(true);
  });
});
