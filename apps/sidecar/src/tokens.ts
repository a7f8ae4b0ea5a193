/**
 * The token side of the sidecar. Freshness is the credential's business: its caches (@wifkit/token-cache)
 * share one upstream call between callers, refresh ahead of expiry in the background, back off after
 * failures and never hand out an expired token. Every token request asks the credential, which answers from
 * memory while a valid token is cached. What stays here is the sidecar's own: the response rendered for the
 * token it was last given (per scope set, and per ID token audience and format), readiness, the keep-warm
 * timer of the default token, and metrics and logs fed by the credential's hooks.
 */
import { createHash } from "node:crypto";
import type { Clock, Token } from "@wifkit/core";
import { isWifError, type WifError } from "@wifkit/core";
import type { TokenRefreshErrorEvent, TokenRefreshEvent } from "@wifkit/credentials";
import type { Logger } from "pino";
import type { CounterSeries, SidecarMetrics } from "./metrics.js";

/**
 * What the sidecar asks of a credential. A credential from @wifkit/credentials satisfies it as is; tests use
 * their own source built on @wifkit/token-cache. The source's cache decides when upstream is called.
 */
export interface TokenSource {
  /** An OAuth access token for these scopes. */
  getAccessToken(request: { scopes: readonly string[] }): Promise<Token>;
  /** An OIDC ID token for this audience, with the `email` claim when `includeEmail`. */
  getIdToken(request: { audience: string; includeEmail: boolean }): Promise<Token>;
}

/** The credential's `onRefresh` / `onError` options, as `tokenHooks` builds them. */
export interface TokenHooks {
  onRefresh(event: TokenRefreshEvent): void;
  onError(event: TokenRefreshErrorEvent): void;
}

export type TokenKind = "access_token" | "id_token";

/**
 * An access token is served only while `expires_in` can be at least 1: clients treat 0 as no expiry or as an
 * incomplete answer (golang.org/x/oauth2 refuses it). A wire format rule, not a cache rule.
 */
export const ACCESS_TOKEN_MIN_REMAINING_MS = 1_000;
/** How often the keep-warm timer asks the credential for the default token. */
export const DEFAULT_KEEP_WARM_INTERVAL_MS = 5_000;
/**
 * Scope sets, and ID token audiences and formats, the sidecar keeps a rendered response for; the sidecar
 * passes the same bound to the credential's caches (`maxCachedTokens`).
 */
export const DEFAULT_MAX_TOKEN_KEYS = 256;
/** Limits on what a request may ask for. */
export const MAX_SCOPES_PER_REQUEST = 64;
export const MAX_SCOPE_LENGTH = 512;
export const MAX_AUDIENCE_LENGTH = 2048;

const TOKEN_HEADER_PREFIX = ["Metadata-Flavor", "Google", "Content-Type", "application/json"] as const;
const ID_TOKEN_HEADER_PREFIX = ["Metadata-Flavor", "Google", "Content-Type", "application/text"] as const;

/** ETag of a response body: 16 hex digits like the real server's. */
export function etagOf(body: Buffer | string): string {
  return createHash("sha256").update(body).digest("hex").slice(0, 16);
}

/** Thrown for a request the sidecar must answer with 400 (bad scopes or audience). */
export class BadRequestError extends Error {
  override name = "BadRequestError";
}

/** Splits `a,b` / `a b` into a sorted, de-duplicated scope list. Throws `BadRequestError` when malformed. */
export function parseScopes(text: string): string[] {
  const scopes = [...new Set(text.split(/[\s,]+/).filter((scope) => scope.length > 0))].sort();
  if (scopes.length > MAX_SCOPES_PER_REQUEST) {
    throw new BadRequestError(`at most ${MAX_SCOPES_PER_REQUEST} scopes may be requested at once`);
  }
  for (const scope of scopes) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
    if (scope.length > MAX_SCOPE_LENGTH || /[\u0000-\u001f\u007f"\\]/.test(scope)) {
      throw new BadRequestError("a requested scope is too long or contains forbidden characters");
    }
  }
  return scopes;
}

/** The error code reported for a failure (metrics label, logs): stable `ERR_WIF_...` or a generic one. */
export function errorCode(error: unknown): string {
  if (isWifError(error)) return (error as { code: string }).code;
  return "ERR_WIF_SIDECAR_UPSTREAM";
}

/** A log-safe summary of an error: WifError messages never carry tokens; other errors keep only type and code. */
export function describeError(error: unknown): Record<string, unknown> {
  if (isWifError(error)) {
    const wif = error as WifError;
    return {
      code: wif.code,
      message: wif.message,
      ...(wif.status === undefined ? {} : { status: wif.status }),
      ...(wif.upstreamError === undefined ? {} : { upstreamError: wif.upstreamError }),
    };
  }
  if (error instanceof Error) return { code: errorCode(error), type: error.name };
  return { code: errorCode(error), type: typeof error };
}

/**
 * The credential's `onRefresh` / `onError` hooks, feeding the sidecar's metrics and logs: refreshes,
 * failures, upstream latency and the expiry of each cached token. Build them before the credential and pass
 * the same `metrics` to `startSidecar`.
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
      metrics.tokenRefreshes.inc([kind]);
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
      metrics.tokenRefreshFailures.inc([kind, errorCode(event.error)]);
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

/**
 * One scope set, or one ID token audience and format: how to ask the credential for its token, and the
 * response rendered for the token the credential last handed out. Fields are public because the request
 * handler reads them on the hot path.
 */
export class TokenEntry {
  /** The token the response below was rendered for. */
  value: string | undefined;
  expiresAtMs = 0;
  /** Response body and flat header list, served as they are while `current(now)` (see `accept`). */
  body: Buffer = Buffer.alloc(0);
  headers: string[] = [];
  renderedUntilMs = -1;
  /** The credential's refresh count (this token kind) when the response was rendered. */
  private renderedAtRefresh = -1;
  /** Set when the entry was dropped to make room: request-side caches that still point at it look it up again. */
  evicted = false;
  readonly hits: CounterSeries;
  readonly misses: CounterSeries;
  /** Counts the tokens of this kind the credential fetched (through its onRefresh hook). */
  private readonly refreshes: CounterSeries;
  /** Asks the credential for this entry's token; built once so the hot path allocates no request object. */
  readonly fetch: () => Promise<Token>;
  private readonly minRemainingMs: number;

  constructor(
    readonly kind: TokenKind,
    /** Scopes joined by spaces, or `standard|full` + space + audience. */
    readonly key: string,
    source: TokenSource,
    request: { scopes: readonly string[] } | { audience: string; includeEmail: boolean },
    metrics: SidecarMetrics,
    private readonly onFirstToken?: () => void,
  ) {
    this.minRemainingMs = kind === "access_token" ? ACCESS_TOKEN_MIN_REMAINING_MS : 1;
    this.hits = metrics.cacheHits.labels(kind);
    this.misses = metrics.cacheMisses.labels(kind);
    this.refreshes = metrics.tokenRefreshes.labels(kind);
    if ("scopes" in request) {
      const accessRequest = { scopes: request.scopes };
      this.fetch = () => source.getAccessToken(accessRequest);
    } else {
      const idRequest = { audience: request.audience, includeEmail: request.includeEmail };
      this.fetch = () => source.getIdToken(idRequest);
    }
  }

  /**
   * True when the rendered response can be sent as it is at `now`: the same second of `expires_in`, and the
   * credential has fetched no token of this kind since (a refresh is served from the next request on).
   */
  current(now: number): boolean {
    return now <= this.renderedUntilMs && this.renderedAtRefresh === this.refreshes.value;
  }

  /** True when the entry holds a token that can still be served at `now` (a cache hit, for the counters). */
  holds(now: number): boolean {
    return this.value !== undefined && this.expiresAtMs - now >= this.minRemainingMs;
  }

  /**
   * Takes the token the credential answered with and makes `body` and `headers` its response at `now`.
   * Returns false when the token cannot be served (empty, or expired by the time it arrived).
   *
   * The response is kept until `renderedUntilMs`, the end of the current second of the token's remaining
   * lifetime (where `expires_in` changes; always before expiry), unless the credential reports a refresh
   * first: until then requests get these bytes without asking the credential, and the first request after
   * asks it again. So the credential sees every key in use at least once a second (its cache refreshes
   * ahead of expiry on such calls), a token it fetched is served from the next request on, and the body is
   * rendered at most once a second per token.
   */
  accept(token: Token, now: number): boolean {
    const value = token.value;
    const expiresAtMs = token.expiresAt.getTime();
    if (typeof value !== "string" || value.length === 0 || !(expiresAtMs - now >= this.minRemainingMs)) {
      return false;
    }
    const seconds = Math.floor((expiresAtMs - now) / 1000);
    const until = Math.min(expiresAtMs - seconds * 1000, expiresAtMs - 1);
    this.renderedAtRefresh = this.refreshes.value;
    if (value === this.value && expiresAtMs === this.expiresAtMs) {
      // The same token: an ID token's bytes stay; an access token's until expires_in changes.
      if (this.kind === "id_token" || now <= this.renderedUntilMs) {
        this.renderedUntilMs = until;
        return true;
      }
    } else if (this.value === undefined) {
      this.onFirstToken?.();
    }
    this.value = value;
    this.expiresAtMs = expiresAtMs;
    this.body = Buffer.from(
      this.kind === "id_token"
        ? value
        : `{"access_token":${JSON.stringify(value)},"expires_in":${seconds},"token_type":"Bearer"}`,
    );
    this.headers = [
      ...(this.kind === "id_token" ? ID_TOKEN_HEADER_PREFIX : TOKEN_HEADER_PREFIX),
      "ETag",
      etagOf(this.body),
      "Content-Length",
      `${this.body.length}`,
    ];
    this.renderedUntilMs = until;
    return true;
  }
}

export interface SidecarTokensOptions {
  source: TokenSource;
  /** Scopes of the `default` token (no `scopes` parameter). */
  defaultScopes: readonly string[];
  metrics: SidecarMetrics;
  logger: Logger;
  clock: Clock;
  /** Bound on scope sets, and on ID token audiences and formats. Default `DEFAULT_MAX_TOKEN_KEYS`. */
  maxKeys?: number;
}

/**
 * The sidecar's token entries, its readiness, and the keep-warm timer that asks the credential for the
 * default token so that its cache refreshes it ahead of expiry even when no request comes.
 */
export class SidecarTokens {
  readonly defaultEntry: TokenEntry;
  private readonly accessEntries = new Map<string, TokenEntry>();
  private readonly idEntries = new Map<string, TokenEntry>();
  private readonly maxKeys: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private warming = false;
  private firstTokenSeen = false;

  constructor(private readonly options: SidecarTokensOptions) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_TOKEN_KEYS;
    const scopes = parseScopes(options.defaultScopes.join(" "));
    this.defaultEntry = new TokenEntry(
      "access_token",
      scopes.join(" "),
      options.source,
      { scopes },
      options.metrics,
      () => {
        this.firstTokenSeen = true;
        options.logger.info("ready: the first token was obtained");
      },
    );
    this.accessEntries.set(this.defaultEntry.key, this.defaultEntry);
  }

  /** True once the first default-scope token was obtained (the sidecar's readiness). */
  get hasObtainedFirstToken(): boolean {
    return this.firstTokenSeen;
  }

  /** The entry for a scope set (already parsed by `parseScopes`), created on first use. */
  accessEntry(scopes: readonly string[]): TokenEntry {
    const key = scopes.join(" ");
    let entry = this.accessEntries.get(key);
    if (entry === undefined) {
      entry = new TokenEntry("access_token", key, this.options.source, { scopes }, this.options.metrics);
      this.add(this.accessEntries, entry);
    }
    return entry;
  }

  /** The entry for an ID token audience and format, created on first use. */
  idEntry(audience: string, includeEmail: boolean): TokenEntry {
    if (audience.length > MAX_AUDIENCE_LENGTH) {
      throw new BadRequestError(`the audience parameter is longer than ${MAX_AUDIENCE_LENGTH} characters`);
    }
    const key = `${includeEmail ? "full" : "standard"} ${audience}`;
    let entry = this.idEntries.get(key);
    if (entry === undefined) {
      const request = { audience, includeEmail };
      entry = new TokenEntry("id_token", key, this.options.source, request, this.options.metrics);
      this.add(this.idEntries, entry);
    }
    return entry;
  }

  /**
   * Asks the credential for the default token now and every `intervalMs` (unref'd: it never keeps the
   * process alive). The credential's cache decides whether that is a memory read, a background refresh or,
   * with no valid token, an upstream call; one call at a time.
   */
  startKeepWarm(intervalMs = DEFAULT_KEEP_WARM_INTERVAL_MS): void {
    if (this.timer !== undefined) return;
    this.warm();
    this.timer = setInterval(() => this.warm(), intervalMs);
    this.timer.unref();
  }

  /** Stops the keep-warm timer. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private warm(): void {
    const { clock, metrics } = this.options;
    // Expired tokens of other keys leave the expiry gauge; the default one stays (at 0) for alerts.
    metrics.forgetExpiredTokens(clock.now(), this.defaultEntry.key);
    if (this.warming) return;
    this.warming = true;
    const entry = this.defaultEntry;
    // Through an async function, so a source that throws instead of rejecting cannot escape the timer.
    (async () => entry.fetch())()
      .then(
        (token) => entry.accept(token, clock.now()),
        // Upstream failures reach the logs and metrics through the credential's onError hook.
        () => undefined,
      )
      .finally(() => {
        this.warming = false;
      });
  }

  /** Adds an entry; beyond `maxKeys` the oldest one (never the default) is dropped. */
  private add(entries: Map<string, TokenEntry>, entry: TokenEntry): void {
    if (entries.size >= this.maxKeys) {
      for (const [key, oldest] of entries) {
        if (oldest === this.defaultEntry) continue;
        entries.delete(key);
        oldest.evicted = true;
        break;
      }
    }
    entries.set(entry.key, entry);
  }
}
