/**
 * The credential's `onRefresh` / `onError` hooks, feeding the sidecar's metrics and logs: refreshes,
 * failures, upstream latency and the expiry of each cached token. Freshness is the credential's business
 * (its caches refresh ahead of expiry and back off after failures); these only report what they did.
 */
import type { TokenRefreshErrorEvent, TokenRefreshEvent } from "@wifkit/credentials";
import { describeFailure } from "@wifkit/metadata-server";
import type { Logger } from "pino";
import type { SidecarMetrics } from "./metrics.js";

/** The credential's `onRefresh` / `onError` options, as `tokenHooks` builds them. */
export interface TokenHooks {
  onRefresh(event: TokenRefreshEvent): void;
  onError(event: TokenRefreshErrorEvent): void;
}

/** The codes `wif-sidecar` reports itself (every other code is the failing package's). */
export const SIDECAR_ERROR_CODES = Object.freeze({
  /** A token fetch failed with an error that is not a `WifError` (metrics label, logs). */
  unknownFailure: "ERR_WIF_SIDECAR_UPSTREAM",
} as const);

/**
 * A log-safe summary of an error: a `WifError`'s code and message with whatever it quotes from upstream
 * scrubbed (`describeFailure`); of any other error only its type.
 */
export function describeError(error: unknown): Record<string, unknown> {
  const failure = describeFailure(error);
  if (failure !== undefined) return { ...failure };
  return {
    code: SIDECAR_ERROR_CODES.unknownFailure,
    type: error instanceof Error ? error.name : typeof error,
  };
}

/**
 * The hooks to pass to `fromConfig`, built before the credential; pass the same `metrics` to `startSidecar`.
 *
 * @example
 * const metrics = createSidecarMetrics();
 * const credentials = await fromConfig(path, { ...tokenHooks(metrics, logger) });
 * const sidecar = await startSidecar({ source: credentials, metrics, logger, metadata });
 */
export function tokenHooks(metrics: SidecarMetrics, logger: Logger): TokenHooks {
  return {
    onRefresh(event) {
      const kind = event.tokenType;
      const key = event.key ?? "";
      metrics.refreshes.inc([kind]);
      metrics.upstreamLatency.observe([kind, "success"], event.durationMs / 1000);
      metrics.recordExpiry(kind, key, event.expiresAt.getTime());
      logger.info(
        {
          kind,
          key,
          refresh: event.kind,
          expiresAt: event.expiresAt.toISOString(),
          refreshAt: event.refreshAt.toISOString(),
        },
        "obtained a token from upstream",
      );
    },
    onError(event) {
      const kind = event.tokenType;
      metrics.tokenRefreshFailures.inc([
        kind,
        describeFailure(event.error)?.code ?? SIDECAR_ERROR_CODES.unknownFailure,
      ]);
      metrics.upstreamLatency.observe([kind, "failure"], event.durationMs / 1000);
      logger.warn(
        {
          kind,
          key: event.key ?? "",
          refresh: event.kind,
          failures: event.consecutiveFailures,
          servingCachedToken: event.servingCachedToken,
          err: event.error,
        },
        "could not obtain a token from upstream",
      );
    },
  };
}
