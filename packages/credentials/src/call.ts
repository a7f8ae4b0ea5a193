import { CORE_ERROR_CODES, invalidOption, type Sleep, systemSleep, WifError } from "@wifkit/core";

// The reason a finished operation's own timer is cancelled with: aborting without one builds a
// DOMException, stack and all, every time.
const SETTLED = Symbol("settled");

/** Options every credential call accepts. */
export interface CallOptions {
  /** Aborts this call's wait (a refresh shared with other callers goes on for them). */
  signal?: AbortSignal | undefined;
  /** Upper bound on this call, waits and retries included (`ERR_WIF_TIMEOUT`). */
  timeoutMs?: number | undefined;
}

/**
 * Runs `fn` with a signal that aborts on the caller's signal or after `timeoutMs`, and reports the deadline
 * as `ERR_WIF_TIMEOUT` rather than as an abort the caller did not ask for. The deadline is a `sleep` held
 * until `fn` settles, not `AbortSignal.timeout`: combined through `AbortSignal.any` it can be garbage
 * collected before it fires on Node 20 (nodejs/node#57736), and the seam lets tests run it on virtual time.
 */
export async function withDeadline<T>(
  what: string,
  options: CallOptions | undefined,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
  sleep: Sleep = systemSleep,
): Promise<T> {
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs === undefined) return fn(options?.signal);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidOption("timeoutMs", `must be a positive number of milliseconds; got ${String(timeoutMs)}.`);
  }
  const controller = new AbortController();
  const callerSignal = options?.signal;
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  const settled = new AbortController();
  let timedOut = false;
  sleep(timeoutMs, settled.signal).then(
    () => {
      timedOut = true;
      controller.abort(new Error(`${what} did not finish within ${timeoutMs} ms.`));
    },
    () => {},
  );
  try {
    return await fn(controller.signal);
  } catch (error) {
    if (timedOut && !callerSignal?.aborted) {
      throw new WifError(`${what} did not finish within ${timeoutMs} ms.`, {
        code: CORE_ERROR_CODES.timeout,
        retryable: true,
        cause: error,
      });
    }
    throw error;
  } finally {
    settled.abort(SETTLED);
    callerSignal?.removeEventListener("abort", onCallerAbort);
  }
}
