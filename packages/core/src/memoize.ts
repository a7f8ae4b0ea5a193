import { abortedError, CORE_ERROR_CODES, WifError } from "./errors.js";
import type { Provider, ProviderOptions } from "./provider.js";
import { type Clock, durationOption, type Sleep, systemClock, unrefSleep } from "./seams.js";

// The reason a finished operation's own timer is cancelled with: aborting without one builds a
// DOMException, stack and all, every time.
const SETTLED = Symbol("settled");

/** How long before expiry a value is refreshed in the background (capped at half its lifetime). */
export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;
/** Wait after a failed fetch before the next attempt; it doubles with each further failure. */
export const DEFAULT_RETRY_BACKOFF_MS = 1_000;
/** Upper bound on that wait. */
export const DEFAULT_MAX_RETRY_BACKOFF_MS = 60_000;
/**
 * Upper bound on one call of the wrapped provider. A safety net against a provider that never settles (it
 * would otherwise hold every blocked caller); providers keep their own, tighter, per-request timeouts.
 */
export const DEFAULT_FETCH_TIMEOUT_MS = 2 * 60_000;

/** Why a fetch started: no valid value (`blocking`), ahead of expiry (`background`), or `forceRefresh`. */
export type RefreshKind = "blocking" | "background" | "forced";

/** Passed to `onRefresh` after every successful fetch. */
export interface RefreshEvent<T> {
  kind: RefreshKind;
  value: T;
  /** Clock time the fetch took. */
  durationMs: number;
  /** When the value expires; the latest Date there is for a value that never does (static AWS keys). */
  expiresAt: Date;
  /** When the next background refresh becomes due (the latest Date there is: never). */
  refreshAt: Date;
  /** The cache key, for providers that belong to a keyed cache. */
  key?: string;
}

/** Passed to `onError` after every failed fetch, whatever its kind. */
export interface RefreshErrorEvent {
  kind: RefreshKind;
  error: unknown;
  durationMs: number;
  /** Failed fetches in a row since the last success (this one included). */
  consecutiveFailures: number;
  /** The earliest time another fetch will start; until then callers without a valid value get this error. */
  retryAt: Date;
  /** True when a still-valid value keeps being served despite this failure. */
  servingCachedToken: boolean;
  /** The cache key, for providers that belong to a keyed cache. */
  key?: string;
}

export interface MemoizeOptions<T> {
  /** Time source for expiry and backoff decisions. Default `systemClock`. */
  clock?: Clock;
  /** Timer seam for the fetch timeout. Default: a real timer that does not keep the process alive. */
  sleep?: Sleep;
  /**
   * When a value stops being valid. Default: its `expiresAt` property, which must then be a valid Date.
   * Return undefined for a value that never expires (it is refreshed only on `forceRefresh`).
   */
  expiresAt?: (value: T) => Date | undefined;
  /**
   * Refresh this long before expiry, in the background. Never more than half the lifetime the value had when
   * it was fetched, so short-lived values are not refreshed on every call. Default `DEFAULT_REFRESH_BEFORE_MS`.
   */
  refreshBeforeMs?: number;
  /** First wait after a failed fetch before another attempt. Default `DEFAULT_RETRY_BACKOFF_MS`. */
  retryBackoffMs?: number;
  /** Cap on that wait as it doubles. Default `DEFAULT_MAX_RETRY_BACKOFF_MS`. */
  maxRetryBackoffMs?: number;
  /** Abandon one provider call after this long (`ERR_WIF_TIMEOUT`). Default `DEFAULT_FETCH_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Called after each successful fetch (metrics, logs). Exceptions thrown by the hook are ignored. */
  onRefresh?: (event: RefreshEvent<T>) => void;
  /** Called after each failed fetch (metrics, logs). Exceptions thrown by the hook are ignored. */
  onError?: (event: RefreshErrorEvent) => void;
}

/** A provider that caches its value; also a plain `Provider<T>`. */
export interface MemoizedProvider<T> {
  (options?: ProviderOptions): Promise<T>;
  /** The cached value if it has not expired, without starting any fetch. */
  peek(): T | undefined;
  /** Drops the cached value and any remembered failure; the next call fetches. */
  invalidate(): void;
}

interface Cached<T> {
  value: T;
  expiresAtMs: number;
  refreshAtMs: number;
}

interface Flight<T> {
  forced: boolean;
  promise: Promise<Cached<T>>;
}

function invalidExpiry(): WifError {
  return new WifError(
    "The token provider returned a value without a valid `expiresAt` Date; memoize needs it to know when to refresh. Fix the provider to set expiresAt.",
    { code: CORE_ERROR_CODES.tokenInvalid },
  );
}

const defaultExpiresAt = (value: unknown): Date => {
  const expiresAt: unknown = (value as { expiresAt?: unknown } | null | undefined)?.expiresAt;
  if (!(expiresAt instanceof Date)) throw invalidExpiry();
  return expiresAt;
};

/**
 * Wraps a provider so that every caller shares one cached value and at most one fetch at a time: the one
 * cache of wifkit, used for Google tokens, subject tokens and AWS credentials alike.
 *
 * A fresh value is served from memory. From its refresh point (`refreshBeforeMs` before expiry, or half its
 * observed lifetime for short-lived values) the first call starts a background fetch and still gets the
 * cached value at once. Callers block only when there is no valid value, and then share one fetch. A failed
 * fetch is remembered with exponential backoff (`retryBackoffMs` doubling up to `maxRetryBackoffMs`): while
 * a valid value exists it keeps being served and the background fetch is retried after the backoff; once it
 * has expired, callers within the backoff get the last error at once instead of each starting a new fetch,
 * so an outage costs the upstream one attempt per backoff step however many callers ask. An expired value is
 * never returned. `forceRefresh: true` starts a fetch of its own (shared only with other forced calls), skips
 * the backoff and passes `forceRefresh` down. A caller's `signal` only ends that caller's wait; the shared
 * fetch goes on for the others. No timer outlives a fetch.
 *
 * @example
 * const accessToken = memoize(() => exchangeForAccessToken(), { onError: (e) => metrics.refreshFailed(e.kind) });
 * const token = await accessToken(); // one STS exchange however many callers ask at once
 */
export function memoize<T>(provider: Provider<T>, options: MemoizeOptions<T> = {}): MemoizedProvider<T> {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? unrefSleep;
  const expiresAtOf = options.expiresAt ?? defaultExpiresAt;
  const refreshBeforeMs = durationOption(
    options.refreshBeforeMs,
    DEFAULT_REFRESH_BEFORE_MS,
    "refreshBeforeMs",
  );
  const retryBackoffMs = durationOption(options.retryBackoffMs, DEFAULT_RETRY_BACKOFF_MS, "retryBackoffMs");
  const maxRetryBackoffMs = durationOption(
    options.maxRetryBackoffMs,
    DEFAULT_MAX_RETRY_BACKOFF_MS,
    "maxRetryBackoffMs",
  );
  const timeoutMs = durationOption(options.timeoutMs, DEFAULT_FETCH_TIMEOUT_MS, "timeoutMs", {
    allowZero: false,
  });
  const { onRefresh, onError } = options;

  let cached: Cached<T> | undefined;
  let flight: Flight<T> | undefined;
  // invalidate() bumps the generation so that fetches started before it cannot refill the cache.
  let generation = 0;
  // A fetch stores its value only if no later-started fetch already did (forced and plain can overlap).
  let lastStarted = 0;
  let lastStored = 0;
  let consecutiveFailures = 0;
  let lastFailure: { error: unknown; retryAtMs: number } | undefined;

  function toCached(value: T, now: number): Cached<T> {
    const expiresAt = expiresAtOf(value);
    if (expiresAt === undefined) {
      return { value, expiresAtMs: Number.POSITIVE_INFINITY, refreshAtMs: Number.POSITIVE_INFINITY };
    }
    const expiresAtMs = expiresAt.getTime();
    if (Number.isNaN(expiresAtMs)) throw invalidExpiry();
    const lifetimeMs = expiresAtMs - now;
    if (lifetimeMs <= 0) {
      throw new WifError(
        `The token provider returned a value that expired at ${expiresAt.toISOString()}, before it could be used. Check the system clock and the lifetime configured upstream.`,
        { code: CORE_ERROR_CODES.tokenExpired, retryable: true },
      );
    }
    return { value, expiresAtMs, refreshAtMs: expiresAtMs - Math.min(refreshBeforeMs, lifetimeMs / 2) };
  }

  function startFlight(kind: RefreshKind): Flight<T> {
    const forced = kind === "forced";
    const started = clock.now();
    const id = ++lastStarted;
    const startedGeneration = generation;
    const controller = new AbortController();
    const current: Flight<T> = { forced, promise: undefined as unknown as Promise<Cached<T>> };
    // Registered before the provider runs, so a provider that fails synchronously still clears it below.
    flight = current;

    const run = async (): Promise<Cached<T>> => {
      const timerDone = new AbortController();
      const timeout = new Promise<never>((_, reject) => {
        sleep(timeoutMs, timerDone.signal).then(
          () => {
            const error = new WifError(
              `The token provider did not answer within ${timeoutMs} ms; the fetch was abandoned. Check the upstream service or raise timeoutMs.`,
              { code: CORE_ERROR_CODES.timeout, retryable: true },
            );
            controller.abort(error);
            reject(error);
          },
          () => {},
        );
      });
      try {
        const providerOptions: ProviderOptions = forced
          ? { signal: controller.signal, forceRefresh: true }
          : { signal: controller.signal };
        // Raced against the timeout so a provider that ignores its signal still cannot outlive it.
        const value = await Promise.race([Promise.resolve().then(() => provider(providerOptions)), timeout]);
        const now = clock.now();
        const entry = toCached(value, now);
        if (startedGeneration === generation && id > lastStored) {
          cached = entry;
          lastStored = id;
          consecutiveFailures = 0;
          lastFailure = undefined;
        }
        notify(onRefresh, {
          kind,
          value,
          durationMs: now - started,
          expiresAt: finiteDate(entry.expiresAtMs),
          refreshAt: finiteDate(entry.refreshAtMs),
        });
        return entry;
      } catch (error) {
        const now = clock.now();
        let retryAtMs = now;
        if (startedGeneration === generation) {
          consecutiveFailures += 1;
          retryAtMs = now + Math.min(retryBackoffMs * 2 ** (consecutiveFailures - 1), maxRetryBackoffMs);
          lastFailure = { error, retryAtMs };
        }
        notify(onError, {
          kind,
          error,
          durationMs: now - started,
          consecutiveFailures,
          retryAt: new Date(retryAtMs),
          servingCachedToken: cached !== undefined && now < cached.expiresAtMs,
        });
        throw error;
      } finally {
        timerDone.abort(SETTLED);
        if (flight === current) flight = undefined;
      }
    };

    current.promise = run();
    // A background fetch has no waiter, and waiters may all abort: the rejection is observed here regardless.
    current.promise.catch(() => {});
    return current;
  }

  async function wait(current: Flight<T>, signal: AbortSignal | undefined): Promise<T> {
    return (await waitUnlessAborted(current.promise, signal)).value;
  }

  const memoized = (async (callOptions: ProviderOptions = {}): Promise<T> => {
    const { signal } = callOptions;
    if (signal?.aborted) throw abortedError("Waiting for a token", signal.reason);
    if (callOptions.forceRefresh) {
      return wait(flight?.forced ? flight : startFlight("forced"), signal);
    }
    const now = clock.now();
    const backingOff = lastFailure !== undefined && now < lastFailure.retryAtMs;
    if (cached && now < cached.expiresAtMs) {
      if (now >= cached.refreshAtMs && !flight && !backingOff) startFlight("background");
      return cached.value;
    }
    if (flight) return wait(flight, signal);
    if (backingOff) throw lastFailure?.error;
    return wait(startFlight("blocking"), signal);
  }) as MemoizedProvider<T>;

  memoized.peek = () => (cached && clock.now() < cached.expiresAtMs ? cached.value : undefined);
  memoized.invalidate = () => {
    generation += 1;
    cached = undefined;
    flight = undefined;
    consecutiveFailures = 0;
    lastFailure = undefined;
  };
  return memoized;
}

/** The latest time a Date can hold, for "never". */
const NEVER_MS = 8.64e15;

function finiteDate(ms: number): Date {
  return new Date(Math.min(ms, NEVER_MS));
}

/**
 * Waits for `promise` unless `signal` aborts first, in which case it rejects with `ERR_WIF_ABORTED`. The
 * promise itself keeps running: it may be shared with other callers, and only this wait is abandoned.
 */
function waitUnlessAborted<V>(promise: Promise<V>, signal: AbortSignal | undefined): Promise<V> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortedError("Waiting for a token", signal.reason));
  return new Promise<V>((resolve, reject) => {
    const abort = () => reject(abortedError("Waiting for a token", signal.reason));
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

/** Hooks feed metrics and logs; a broken hook must never break token delivery. */
function notify<E>(hook: ((event: E) => void) | undefined, event: E): void {
  if (!hook) return;
  try {
    hook(event);
  } catch {
    // Deliberately ignored: see above.
  }
}
