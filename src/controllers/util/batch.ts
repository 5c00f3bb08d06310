/**
 * `slowStartBatch`: runs `fn` `count` times in batches of 1, 2, 4, … calls, stopping after the
 * first batch in which a call failed. A systematic failure (quota, bad template, namespace
 * terminating) therefore costs one call instead of `count`. The event loop is yielded between
 * batches so a large scale-up does not starve the API server. Returns how many calls succeeded
 * and the first error.
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: (i: number) => void | Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  let index = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    let error: unknown;
    for (let i = 0; i < batch; i++) {
      try {
        await fn(index++);
        successes++;
      } catch (e) {
        if (error === undefined) error = e;
      }
    }
    remaining -= batch;
    if (error !== undefined) return { successes, error };
    if (remaining > 0) await new Promise<void>((r) => setImmediate(r));
  }
  return { successes };
}

/** Kubernetes' `controller.SlowStartInitialBatchSize`. */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;
