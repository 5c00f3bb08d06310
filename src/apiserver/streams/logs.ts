/**
 * Serving `GET …/pods/P/log` from a runtime log stream.
 *
 * The response is `200 text/plain`, chunked; headers go out at once so that `kubectl logs -f`
 * shows output as it comes, and each chunk is written as it arrives (Node sends every write
 * immediately). It ends when the runtime stream ends (for `follow`, when the container exits),
 * after `limitBytes`, or when the client goes away — which destroys the runtime stream, releasing
 * the engine's log reader. Backpressure: the runtime stream is paused while the socket is full.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { ContainerNotFoundError } from '../../kubelet/runtime/container-runtime';
import { ApiError, RuntimeError } from '../../util/errors';
import type { PodLogQuery } from './options';
import type { StreamTarget } from './resolver';

/** Opens the runtime log stream for `q`; runtime failures become ApiErrors (nothing is sent yet). */
export async function openLogStream(target: StreamTarget, q: PodLogQuery, podName: string): Promise<Readable> {
  try {
    return await target.runtime.logs(target.containerId, {
      follow: q.follow,
      tail: q.tailLines,
      since: q.since,
      timestamps: q.timestamps,
    });
  } catch (e) {
    if (e instanceof ContainerNotFoundError) {
      throw new ApiError(400, 'BadRequest', `container "${target.containerName}" in pod "${podName}" is not available`);
    }
    if (e instanceof RuntimeError) throw new ApiError(500, 'InternalError', `Internal error occurred: reading logs of container "${target.containerName}" in pod "${podName}": ${e.message}`);
    throw e;
  }
}

/**
 * Streams `src` into `res`; resolves when the response has ended (normally or because the
 * client went away). Never rejects; a runtime stream error ends the response early.
 */
export function pipeLogs(src: Readable, res: ServerResponse, q: PodLogQuery): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'Cache-Control': 'no-cache, private',
    'X-Content-Type-Options': 'nosniff',
  });
  res.flushHeaders();
  let remaining = q.limitBytes ?? Infinity;
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      src.off('data', onData);
      res.off('drain', onDrain);
      if (!src.destroyed) src.destroy();
      if (!res.writableEnded) res.end();
      resolve();
    };
    const onDrain = (): void => {
      if (!done) src.resume();
    };
    const onData = (chunk: Buffer | string): void => {
      let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (buf.length > remaining) buf = buf.subarray(0, remaining);
      remaining -= buf.length;
      const ok = buf.length === 0 || res.write(buf);
      if (remaining <= 0) return finish();
      if (!ok) src.pause();
    };
    src.on('data', onData);
    src.on('end', finish);
    src.on('error', finish);
    src.on('close', finish);
    res.on('drain', onDrain);
    res.on('close', finish);
    res.on('error', finish);
  });
}
