/**
 * Running one exec or attach session over a transport (WebSocket or SPDY), independent of the
 * wire format.
 *
 * Contract of a session:
 * - client stdin is forwarded to the process (when requested); the client half-closing stdin
 *   (v5 close signal, SPDY FIN) ends the process's stdin;
 * - process stdout/stderr go to channels 1/2 when requested (and are drained otherwise), with
 *   backpressure from the transport;
 * - once the process has exited and its output is flushed, the status goes on the error channel
 *   and the transport closes normally (WebSocket 1000, SPDY FIN + GOAWAY);
 * - if the client goes away first, the process's stdin is closed and its output dropped
 *   (exec: the process keeps running unless it reacts to stdin EOF, as with Docker; attach:
 *   the container is detached, not stopped).
 * Nothing here throws: runtime failures become an InternalError status.
 */
import { finished, type Readable, type Writable } from 'node:stream';
import type { AttachSession, ContainerRuntime, ExecSession } from '../../kubelet/runtime/container-runtime';
import type { Logger } from '../../util/log';
import { exitCodeStatus, internalErrorStatus, successStatus, type ChannelProtocol, type StreamStatus, type TerminalSize, CHANNEL_STDERR, CHANNEL_STDOUT } from './channel';
import type { RemoteCommandQuery } from './options';

export interface TransportHandlers {
  stdin(data: Buffer): void;
  stdinEnd(): void;
  resize(size: TerminalSize): void;
  /** The client went away (or the transport failed) before `finish`. */
  closed(): void;
  /** The transport can take more output after `write` returned false. */
  drain(): void;
}

/** What a wire protocol offers the session runner. */
export interface CommandTransport {
  readonly protocol: ChannelProtocol;
  /** Start delivering client events; events that arrived earlier are replayed in order. */
  bind(handlers: TransportHandlers): void;
  /** Send output on stdout (1) or stderr (2); false when congested (wait for `drain`). */
  write(channel: typeof CHANNEL_STDOUT | typeof CHANNEL_STDERR, data: Buffer): boolean;
  /** Send `status` as the protocol wants it, then close normally. Idempotent. */
  finish(status: StreamStatus): void;
  /** Drop the connection at once (server shutdown). */
  destroy(): void;
}

/** The process side of a session, common to exec and attach. */
export interface ProcessStreams {
  stdin?: Writable;
  stdout: Readable;
  stderr: Readable;
  resize(width: number, height: number): Promise<void>;
  /** The status to report once the process is done; never rejects. */
  result: Promise<StreamStatus>;
  /** The client is gone: release what the session holds. */
  abort(): void;
}

export async function openExec(runtime: ContainerRuntime, containerId: string, q: RemoteCommandQuery): Promise<ProcessStreams> {
  const s: ExecSession = await runtime.exec(containerId, q.command, { stdin: q.stdin, tty: q.tty });
  const result = s.exitCode.then(
    (code) => (code === 0 ? successStatus() : exitCodeStatus(q.command, code)),
    (e: unknown) => internalErrorStatus(`error executing command in container: ${(e as Error)?.message ?? String(e)}`),
  );
  return {
    stdin: s.stdin,
    stdout: s.stdout,
    stderr: s.stderr,
    resize: (w, h) => s.resize(w, h),
    result,
    abort: () => {
      if (s.stdin && !s.stdin.writableEnded) s.stdin.end();
      s.stdout.destroy();
      s.stderr.destroy();
    },
  };
}

export async function openAttach(runtime: ContainerRuntime, containerId: string, q: RemoteCommandQuery): Promise<ProcessStreams> {
  if (!runtime.attach) throw new Error('this container runtime does not support attach');
  const s: AttachSession = await runtime.attach(containerId, { stdin: q.stdin });
  return {
    stdin: s.stdin,
    stdout: s.stdout,
    stderr: s.stderr,
    resize: (w, h) => s.resize(w, h),
    result: s.done.then(() => successStatus()),
    abort: () => s.close(),
  };
}

function streamDone(s: Readable): Promise<void> {
  return new Promise((resolve) => finished(s, () => resolve()));
}

/**
 * Runs a session to its end: resolves once the status was sent or the client went away.
 * `open` starts the process (exec) or attaches; its rejection becomes an InternalError status.
 */
export async function runRemoteCommand(t: CommandTransport, q: RemoteCommandQuery, open: () => Promise<ProcessStreams>, log: Logger): Promise<void> {
  let proc: ProcessStreams | undefined;
  let clientGone = false;
  let stdinEnded = false;
  const pendingStdin: Buffer[] = [];
  let pendingSize: TerminalSize | undefined;
  const paused = new Set<Readable>();
  let markGone!: () => void;
  const gone = new Promise<void>((resolve) => (markGone = resolve));

  const writeStdin = (d: Buffer): void => {
    const w = proc?.stdin;
    if (w && !w.writableEnded && !w.destroyed) w.write(d);
  };
  const applySize = (size: TerminalSize): void => {
    proc?.resize(size.width, size.height).catch((e: unknown) => log.v(2, 'resize failed', { error: String(e) }));
  };

  t.bind({
    stdin: (d) => {
      if (!q.stdin || stdinEnded) return;
      if (proc) writeStdin(d);
      else pendingStdin.push(d);
    },
    stdinEnd: () => {
      if (stdinEnded) return;
      stdinEnded = true;
      if (proc?.stdin && !proc.stdin.writableEnded) proc.stdin.end();
    },
    resize: (size) => {
      if (!q.tty) return;
      if (proc) applySize(size);
      else pendingSize = size;
    },
    closed: () => {
      if (clientGone) return;
      clientGone = true;
      // Let paused output drain into the void so that the streams can end.
      for (const r of paused) r.resume();
      paused.clear();
      proc?.abort();
      markGone();
    },
    drain: () => {
      for (const r of paused) r.resume();
      paused.clear();
    },
  });

  try {
    proc = await open();
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    log.v(1, 'remote command failed to start', { error: msg });
    if (!clientGone) t.finish(internalErrorStatus(q.command.length ? `error executing command in container: ${msg}` : msg));
    return;
  }
  const p = proc;
  p.stdin?.on('error', (e: Error) => log.v(2, 'stdin of remote command failed', { error: e.message }));
  if (clientGone) {
    p.abort();
    return;
  }
  for (const d of pendingStdin.splice(0)) writeStdin(d);
  if (stdinEnded && p.stdin && !p.stdin.writableEnded) p.stdin.end();
  if (pendingSize) applySize(pendingSize);

  const pump = (r: Readable, channel: typeof CHANNEL_STDOUT | typeof CHANNEL_STDERR, wanted: boolean): void => {
    r.on('error', (e: Error) => log.v(2, 'remote command output failed', { error: e.message }));
    r.on('data', (d: Buffer) => {
      if (!wanted || clientGone) return;
      if (!t.write(channel, d)) {
        r.pause();
        paused.add(r);
      }
    });
  };
  pump(p.stdout, CHANNEL_STDOUT, q.stdout);
  pump(p.stderr, CHANNEL_STDERR, q.stderr);

  const done = Promise.all([p.result, streamDone(p.stdout), streamDone(p.stderr)]).then(([status]) => status);
  const status = await Promise.race([done, gone.then(() => undefined)]);
  if (status && !clientGone) t.finish(status);
}
