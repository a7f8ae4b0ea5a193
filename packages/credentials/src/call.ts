import { WifError } from "@wifkit/core";

/** Options every credential call accepts. */
export interface CallOptions {
  /** Aborts this call's wait (a refresh shared with other callers goes on for them). */
  signal?: AbortSignal | undefined;
  /** Upper bound on this call, waits and retries included (`ERR_WIF_TIMEOUT`). */
  timeoutMs?: number | undefined;
}

/**
 * Runs `fn` with a signal that aborts on the caller's signal or after `timeoutMs`, and reports the deadline
 * as `ERR_WIF_TIMEOUT` rather than as an abort the caller did not ask for.
 */
export async function withDeadline<T>(
  what: string,
  options: CallOptions | undefined,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs === undefined) return fn(options?.signal);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive number of milliseconds; got ${String(timeoutMs)}.`);
  }
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options?.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    return await fn(signal);
  } catch (error) {
    if (deadline.aborted && !options?.signal?.aborted) {
      throw new WifError(`${what} did not finish within ${timeoutMs} ms.`, {
        code: "ERR_WIF_TIMEOUT",
        retryable: true,
        cause: error,
      });
    }
    throw error;
  }
}
