import { type Clock, systemClock, WifError } from "@wifkit/core";
import type { AwsCredentialProvider, AwsCredentials } from "./types.js";

/** Temporary credentials are replaced this long before their `Expiration` (or at half their remaining life). */
export const DEFAULT_CREDENTIAL_REFRESH_BEFORE_MS = 5 * 60 * 1000;

export interface CacheCredentialsOptions {
  clock?: Clock;
  refreshBeforeMs?: number;
}

/**
 * Keeps temporary credentials until shortly before they expire and merges concurrent fetches into one.
 * Credentials without an expiration are kept for good. Deliberately small: the full token cache lives
 * in @wifkit/token-cache, which this package does not require.
 */
export function cacheCredentials(
  provider: AwsCredentialProvider,
  options: CacheCredentialsOptions = {},
): AwsCredentialProvider {
  const clock = options.clock ?? systemClock;
  const refreshBeforeMs = options.refreshBeforeMs ?? DEFAULT_CREDENTIAL_REFRESH_BEFORE_MS;
  let cached: { credentials: AwsCredentials; refreshAt: number } | undefined;
  let inflight: Promise<AwsCredentials> | undefined;

  const fetchShared = (forceRefresh: boolean): Promise<AwsCredentials> => {
    if (inflight) return inflight;
    const fetchedAt = clock.now();
    // The shared fetch is not tied to one caller's signal: aborting one waiter must not fail the others.
    // Every request inside it is bounded by its own timeout.
    const attempt = provider(forceRefresh ? { forceRefresh } : undefined).then((credentials) => {
      const expiresAt = credentials.expiration?.getTime();
      const margin =
        expiresAt === undefined ? 0 : Math.min(refreshBeforeMs, Math.max(0, (expiresAt - fetchedAt) / 2));
      cached = {
        credentials,
        refreshAt: expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt - margin,
      };
      return credentials;
    });
    inflight = attempt.finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  return async (callOptions) => {
    const signal = callOptions?.signal;
    if (signal?.aborted) throw abortedError(signal);
    if (!callOptions?.forceRefresh && cached && clock.now() < cached.refreshAt) return cached.credentials;
    const pending = fetchShared(callOptions?.forceRefresh === true);
    if (!signal) return pending;
    return await new Promise<AwsCredentials>((resolve, reject) => {
      const onAbort = () => reject(abortedError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  };
}

function abortedError(signal: AbortSignal): WifError {
  return new WifError("Fetching AWS credentials was aborted by the caller.", {
    code: "ERR_WIF_ABORTED",
    cause: signal.reason,
  });
}
