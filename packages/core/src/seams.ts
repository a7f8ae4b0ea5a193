/**
 * The edges wifkit touches besides HTTP (which has its own seam in @wifkit/http): time, waiting, the
 * environment and the file system. Every factory takes them as options, so tests (and unusual hosts) run
 * every path on virtual time and fake files without touching the real process. Declared once, here.
 */
import { invalidOption } from "./errors.js";

/** The clock seam: milliseconds since the epoch. Tests pass a clock they can move. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Waits `ms` milliseconds, or rejects with `signal.reason` as soon as `signal` aborts. Tests pass a sleep
 * that advances a virtual clock instead of waiting.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A real `Sleep`: a timer that is cleared on abort, so nothing is left behind. */
export const systemSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/**
 * A real `Sleep` whose timer does not keep the process alive: for safety-net timeouts (a memoized fetch, an
 * executable), where a process with nothing else to do should exit rather than wait the bound out.
 */
export const unrefSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    timer.unref();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/**
 * A signal that aborts when `signal` does or after `ms`, with the reason `onTimeout()` gives. The timer is a
 * plain `setTimeout` held until `clear()`: `AbortSignal.any([signal, AbortSignal.timeout(ms)])` can lose its
 * timeout to garbage collection on Node 20 (nodejs/node#57736), and then nothing bounds the operation.
 *
 * @example
 * const deadline = timeoutSignal(5_000, options.signal);
 * try { await work(deadline.signal); } finally { deadline.clear(); }
 */
export function timeoutSignal(
  ms: number,
  signal?: AbortSignal,
  onTimeout: () => unknown = () => new DOMException("The operation timed out.", "TimeoutError"),
): { signal: AbortSignal; timedOut(): boolean; clear(): void } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(onTimeout());
  }, ms);
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    clear: () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** The environment variables a package reads; `process.env` by default. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a whole file. Rejections carry node's `code` (`ENOENT`, ...). */
export type ReadFile = (
  path: string,
  options?: { signal?: AbortSignal | undefined },
) => Promise<Uint8Array | string>;

/** What a `ReadFile` returned, decoded as UTF-8 text. */
export function asText(content: Uint8Array | string): string {
  if (typeof content === "string") return content;
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString("utf8");
}

/** Largest timer Node accepts; longer durations would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Validates a duration option (milliseconds) at construction, so a programming mistake fails loudly there
 * and not at the first refresh: `ERR_WIF_INVALID_OPTION` naming the option.
 */
export function durationOption(
  value: number | undefined,
  fallback: number,
  name: string,
  { allowZero = true }: { allowZero?: boolean } = {},
): number {
  const resolved = value ?? fallback;
  const ok = Number.isFinite(resolved) && (allowZero ? resolved >= 0 : resolved > 0);
  if (!ok || resolved > MAX_TIMER_MS) {
    throw invalidOption(
      name,
      `must be a finite number of milliseconds ${allowZero ? ">= 0" : "> 0"} and below 2^31; got ${String(value)}.`,
    );
  }
  return resolved;
}
