import { WifError } from "@wifkit/core";

/** The error a caller gets when its own signal ends its wait; never carries the abort reason's text. */
export function abortedError(what: string, reason: unknown): WifError {
  return new WifError(`${what} was aborted by the caller's signal.`, {
    code: "ERR_WIF_ABORTED",
    cause: reason,
  });
}

/**
 * Waits for `promise` unless `signal` aborts first, in which case it rejects with `onAbort(reason)`. The
 * promise itself keeps running: it may be shared with other callers, and only this wait is abandoned.
 */
export function waitUnlessAborted<V>(
  promise: Promise<V>,
  signal: AbortSignal | undefined,
  onAbort: (reason: unknown) => unknown,
): Promise<V> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(onAbort(signal.reason));
  return new Promise<V>((resolve, reject) => {
    const abort = () => reject(onAbort(signal.reason));
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}

/** Validates a duration option; programming mistakes fail loudly at construction, not at the first refresh. */
export function durationOption(
  value: number | undefined,
  fallback: number,
  name: string,
  { allowZero = true }: { allowZero?: boolean } = {},
): number {
  const resolved = value ?? fallback;
  const ok = Number.isFinite(resolved) && (allowZero ? resolved >= 0 : resolved > 0);
  if (!ok || resolved > 2 ** 31 - 1) {
    throw new RangeError(
      `${name} must be a finite number of milliseconds ${allowZero ? ">= 0" : "> 0"} and below 2^31; got ${String(value)}.`,
    );
  }
  return resolved;
}
