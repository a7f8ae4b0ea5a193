import type { Clock, Provider, ProviderOptions } from "@wifkit/core";
import { systemClock, WifError } from "@wifkit/core";
import { abortedError, durationOption, waitUnlessAborted } from "./signals.js";

/** How long before expiry a token is refreshed in the background (capped at half its lifetime). */
export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;
/** Wait before the first retry of a failed background refresh; it doubles with each further failure. */
export const DEFAULT_RETRY_BACKOFF_MS = 10_000;
/** Upper bound on the wait between background refresh attempts. */
export const DEFAULT_MAX_RETRY_BACKOFF_MS = 2 * 60_000;
/**
 * Upper bound on one call of the wrapped provider. A safety net against a provider that never settles (it
 * would otherwise hold every blocked caller); providers keep their own, tighter, per-request timeouts.
 */
export const DEFAULT_FETCH_TIMEOUT_MS = 2 * 60_000;

/** Why a fetch started: no valid token (`blocking`), ahead of expiry (`background`), or `forceRefresh`. */
export type RefreshKind = "blocking" | "background" | "forced";

/** Passed to `onRefresh` after every successful fetch. */
export interface RefreshEvent<T> {
  kind: RefreshKind;
  value: T;
  /** Clock time the fetch took. */
  durationMs: number;
  expiresAt: Date;
  /** When the next background refresh becomes due. */
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
  /** The earliest time another background refresh will start; blocking and forced calls do not wait for it. */
  retryAt: Date;
  /** True when a still-valid token keeps being served despite this failure. */
  servingCachedToken: boolean;
  /** The cache key, for providers that belong to a keyed cache. */
  key?: string;
}

export interface MemoizeOptions<T> {
  /** Time source for expiry decisions. Default `systemClock`. */
  clock?: Clock;
  /**
   * Refresh this long before expiry, in the background. Never more than half the lifetime the token had when
   * it was fetched, so short tokens are not refreshed on every call. Default `DEFAULT_REFRESH_BEFORE_MS`.
   */
  refreshBeforeMs?: number;
  /** First wait after a failed fetch before another background attempt. Default `DEFAULT_RETRY_BACKOFF_MS`. */
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

/** A provider that caches its token; also a plain `Provider<T>`. */
export interface MemoizedProvider<T> {
  (options?: ProviderOptions): Promise<T>;
  /** The cached token if it has not expired, without starting any fetch. */
  peek(): T | undefined;
  /** Drops the cached token; the next call fetches. A fetch already running still answers its waiters. */
  invalidate(): void;
}

interface CachedToken<T> {
  value: T;
  expiresAtMs: number;
  refreshAtMs: number;
}

interface Flight<T> {
  forced: boolean;
  promise: Promise<CachedToken<T>>;
}

/**
 * Wraps a token provider so that every caller shares one cached token and at most one fetch at a time.
 *
 * A fresh token is served from memory. From its refresh point (`refreshBeforeMs` before expiry, or half its
 * observed lifetime for short tokens) the first call starts a background fetch and still gets the cached
 * token at once. Callers block only when there is no valid token, and then share one fetch. A failed
 * background fetch keeps the valid token and is retried with exponential backoff (`retryBackoffMs` doubling
 * up to `maxRetryBackoffMs`) on later calls; once the token has expired, callers block on a new fetch and get
 * its error if it fails: an expired token is never returned. `forceRefresh: true` starts a fetch of its own
 * (shared only with other forced calls) and passes `forceRefresh` down. A caller's `signal` only ends that
 * caller's wait; the shared fetch goes on for the others. No timer outlives a fetch, and none keeps the
 * process alive.
 *
 * @example
 * const accessToken = memoize(() => exchangeForAccessToken(), { onError: (e) => metrics.refreshFailed(e.kind) });
 * const token = await accessToken(); // one STS exchange however many callers ask at once
 */
export function memoize<T extends { expiresAt: Date }>(
  provider: Provider<T>,
  options: MemoizeOptions<T> = {},
): MemoizedProvider<T> {
  const clock = options.clock ?? systemClock;
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

  let cached: CachedToken<T> | undefined;
  let flight: Flight<T> | undefined;
  // invalidate() bumps the generation so that fetches started before it cannot refill the cache.
  let generation = 0;
  // A fetch stores its token only if no later-started fetch already did (forced and plain can overlap).
  let lastStarted = 0;
  let lastStored = 0;
  let consecutiveFailures = 0;
  let nextBackgroundAttemptMs = Number.NEGATIVE_INFINITY;

  function backoffMs(failures: number): number {
    return Math.min(retryBackoffMs * 2 ** Math.max(0, failures - 1), maxRetryBackoffMs);
  }

  function toCachedToken(value: T, now: number): CachedToken<T> {
    const expiresAt: unknown = (value as { expiresAt?: unknown } | null | undefined)?.expiresAt;
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
      throw new WifError(
        "The token provider returned a value without a valid `expiresAt` Date; memoize needs it to know when to refresh. Fix the provider to set expiresAt.",
        { code: "ERR_WIF_TOKEN_INVALID" },
      );
    }
    const expiresAtMs = expiresAt.getTime();
    const lifetimeMs = expiresAtMs - now;
    if (lifetimeMs <= 0) {
      throw new WifError(
        `The token provider returned a token that expired at ${expiresAt.toISOString()}, before it could be used. Check the system clock and the token lifetime configured upstream.`,
        { code: "ERR_WIF_TOKEN_EXPIRED", retryable: true },
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
    const current: Flight<T> = { forced, promise: undefined as unknown as Promise<CachedToken<T>> };
    // Registered before the provider runs, so a provider that fails synchronously still clears it below.
    flight = current;

    const run = async (): Promise<CachedToken<T>> => {
      const timer = setTimeout(() => {
        controller.abort(
          new WifError(
            `The token provider did not answer within ${timeoutMs} ms; the fetch was abandoned. Check the upstream service or raise timeoutMs.`,
            { code: "ERR_WIF_TIMEOUT", retryable: true },
          ),
        );
      }, timeoutMs);
      timer.unref?.();
      try {
        const providerOptions: ProviderOptions = forced
          ? { signal: controller.signal, forceRefresh: true }
          : { signal: controller.signal };
        // Raced against our own signal so a provider that ignores it still cannot outlive the timeout.
        const value = await waitUnlessAborted(
          Promise.resolve().then(() => provider(providerOptions)),
          controller.signal,
          (reason) => reason,
        );
        const now = clock.now();
        const token = toCachedToken(value, now);
        if (startedGeneration === generation && id > lastStored) {
          cached = token;
          lastStored = id;
          consecutiveFailures = 0;
          nextBackgroundAttemptMs = Number.NEGATIVE_INFINITY;
        }
        notify(onRefresh, {
          kind,
          value,
          durationMs: now - started,
          expiresAt: new Date(token.expiresAtMs),
          refreshAt: new Date(token.refreshAtMs),
        });
        return token;
      } catch (error) {
        const now = clock.now();
        if (startedGeneration === generation) {
          consecutiveFailures += 1;
          nextBackgroundAttemptMs = now + backoffMs(consecutiveFailures);
        }
        notify(onError, {
          kind,
          error,
          durationMs: now - started,
          consecutiveFailures,
          retryAt: new Date(Math.max(now, nextBackgroundAttemptMs)),
          servingCachedToken: cached !== undefined && now < cached.expiresAtMs,
        });
        throw error;
      } finally {
        clearTimeout(timer);
        if (flight === current) flight = undefined;
      }
    };

    current.promise = run();
    // A background fetch has no waiter, and waiters may all abort: the rejection is observed here regardless.
    current.promise.catch(() => {});
    return current;
  }

  async function wait(current: Flight<T>, signal: AbortSignal | undefined): Promise<T> {
    const token = await waitUnlessAborted(current.promise, signal, (reason) =>
      abortedError("Waiting for a token", reason),
    );
    return token.value;
  }

  const memoized = (async (callOptions: ProviderOptions = {}): Promise<T> => {
    const { signal } = callOptions;
    if (signal?.aborted) throw abortedError("Waiting for a token", signal.reason);
    if (callOptions.forceRefresh) {
      return wait(flight?.forced ? flight : startFlight("forced"), signal);
    }
    const now = clock.now();
    if (cached && now < cached.expiresAtMs) {
      if (now >= cached.refreshAtMs && !flight && now >= nextBackgroundAttemptMs) startFlight("background");
      return cached.value;
    }
    return wait(flight ?? startFlight("blocking"), signal);
  }) as MemoizedProvider<T>;

  memoized.peek = () => (cached && clock.now() < cached.expiresAtMs ? cached.value : undefined);
  memoized.invalidate = () => {
    generation += 1;
    cached = undefined;
    flight = undefined;
    consecutiveFailures = 0;
    nextBackgroundAttemptMs = Number.NEGATIVE_INFINITY;
  };
  return memoized;
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
