/**
 * The token side of the server. Freshness is the credential's business: its caches share one upstream call
 * between callers, refresh ahead of expiry, back off after failures and never hand out an expired token.
 * What stays here: the response rendered for the token the credential last handed out (per scope set, and
 * per ID token audience and format), readiness (the first default token), and the keep-warm timer.
 */
import type { Clock, Token } from "@wifkit/core";
import type { CounterSeries, MetadataServerMetrics, TokenKind } from "./metrics.js";
import { etagOf, JSON_CONTENT_TYPE, TEXT_CONTENT_TYPE } from "./tree.js";

/**
 * What the server asks of a credential. A credential from @wifkit/credentials satisfies it as is; its caches
 * decide when upstream is called.
 */
export interface TokenSource {
  /** An OAuth access token for these scopes. */
  getAccessToken(request: { scopes: readonly string[] }): Promise<Token>;
  /** An OIDC ID token for this audience, with the `email` claim when `includeEmail`. */
  getIdToken(request: { audience: string; includeEmail: boolean }): Promise<Token>;
}

/**
 * An access token is served only while `expires_in` can be at least 1: clients treat 0 as no expiry or as an
 * incomplete answer (golang.org/x/oauth2 refuses it). A wire format rule, not a cache rule.
 */
export const ACCESS_TOKEN_MIN_REMAINING_MS = 1_000;
/** How often the keep-warm timer asks the credential for the default token. */
export const DEFAULT_KEEP_WARM_INTERVAL_MS = 5_000;
/** Scope sets, and ID token audiences and formats, a rendered response is kept for. */
export const DEFAULT_MAX_TOKEN_KEYS = 256;
/** Limits on what a request may ask for. */
export const MAX_SCOPES_PER_REQUEST = 64;
export const MAX_SCOPE_LENGTH = 512;
export const MAX_AUDIENCE_LENGTH = 2048;

const ACCESS_HEADER_PREFIX = ["Metadata-Flavor", "Google", "Content-Type", JSON_CONTENT_TYPE] as const;
const ID_HEADER_PREFIX = ["Metadata-Flavor", "Google", "Content-Type", TEXT_CONTENT_TYPE] as const;
/**
 * Tokens are base64url, JWTs or `ya29.` strings. Anything else (controls, spaces, quotes, backslashes)
 * would break the framing of a text answer or the JSON the value is written into as it is.
 */
const SERVABLE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** A request the server answers with 400 (bad scopes, audience or query). */
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

/** True when `token` may be served at `now` with at least `minRemainingMs` left. */
export function servable(token: Token, now: number, minRemainingMs: number): boolean {
  return (
    typeof token.value === "string" &&
    SERVABLE_TOKEN.test(token.value) &&
    token.expiresAt.getTime() - now >= minRemainingMs
  );
}

/**
 * One scope set, or one ID token audience and format: how to ask the credential for its token, and the
 * response rendered for the token it last handed out. Fields are public: the request handler reads them
 * on the hot path.
 */
export class TokenEntry {
  /** The token the response below was rendered for. */
  value: string | undefined;
  expiresAtMs = 0;
  /** Response body and flat header list, served as they are while `current(now)`. */
  body: Buffer = Buffer.alloc(0);
  headers: string[] = [];
  renderedUntilMs = -1;
  /** The credential's refresh count (this token kind) when the response was rendered. */
  private renderedAtRefresh = -1;
  /** Set when the entry was dropped to make room: request-side caches that still point at it look it up again. */
  evicted = false;
  readonly hits: CounterSeries;
  readonly misses: CounterSeries;
  private readonly refreshes: CounterSeries;
  /** Asks the credential for this entry's token; built once so the hot path allocates no request object. */
  readonly fetch: () => Promise<Token>;
  readonly minRemainingMs: number;

  constructor(
    readonly kind: TokenKind,
    /** Scopes joined by spaces, or `standard|full` + space + audience. */
    readonly key: string,
    source: TokenSource,
    request: { scopes: readonly string[] } | { audience: string; includeEmail: boolean },
    metrics: MetadataServerMetrics,
    private readonly onFirstToken?: () => void,
  ) {
    this.minRemainingMs = kind === "access_token" ? ACCESS_TOKEN_MIN_REMAINING_MS : 1;
    this.hits = metrics.tokenCache(kind, "hit");
    this.misses = metrics.tokenCache(kind, "miss");
    this.refreshes = metrics.tokenRefreshes(kind);
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
   * Returns false when the token cannot be served (malformed, or expired by the time it arrived).
   *
   * The response is kept until `renderedUntilMs`, the end of the current second of the token's remaining
   * lifetime (where `expires_in` changes; always before expiry), unless the credential reports a refresh
   * first: until then requests get these bytes without asking the credential, and the first request after
   * asks it again. So the credential sees every key in use at least once a second (its cache refreshes
   * ahead of expiry on such calls), and the body is rendered at most once a second per token.
   */
  accept(token: Token, now: number): boolean {
    if (!servable(token, now, this.minRemainingMs)) return false;
    const value = token.value;
    const expiresAtMs = token.expiresAt.getTime();
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
        : `{"access_token":"${value}","expires_in":${seconds},"token_type":"Bearer"}`,
    );
    this.headers = [
      ...(this.kind === "id_token" ? ID_HEADER_PREFIX : ACCESS_HEADER_PREFIX),
      "ETag",
      etagOf(this.body),
      "Content-Length",
      `${this.body.length}`,
    ];
    this.renderedUntilMs = until;
    return true;
  }
}

export interface TokenResponsesOptions {
  source: TokenSource;
  /** Scopes of the `default` token (no `scopes` parameter), already parsed. */
  defaultScopes: readonly string[];
  metrics: MetadataServerMetrics;
  clock: Clock;
  /** Called once, when the first default-scope token arrives. */
  onReady?: () => void;
  /** Bound on scope sets, and on ID token audiences and formats. */
  maxKeys: number;
}

/**
 * The token entries, readiness, and the keep-warm timer that asks the credential for the default token so
 * its cache refreshes it ahead of expiry even when no request comes.
 */
export class TokenResponses {
  readonly defaultEntry: TokenEntry;
  private readonly accessEntries = new Map<string, TokenEntry>();
  private readonly idEntries = new Map<string, TokenEntry>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private warming = false;
  private firstTokenSeen = false;

  constructor(private readonly options: TokenResponsesOptions) {
    const scopes = options.defaultScopes;
    this.defaultEntry = new TokenEntry(
      "access_token",
      scopes.join(" "),
      options.source,
      { scopes },
      options.metrics,
      () => {
        this.firstTokenSeen = true;
        options.onReady?.();
      },
    );
    this.accessEntries.set(this.defaultEntry.key, this.defaultEntry);
  }

  /** True once the first default-scope token was obtained. */
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
  startKeepWarm(intervalMs: number): void {
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
    if (this.warming) return;
    this.warming = true;
    const entry = this.defaultEntry;
    // Through an async function, so a source that throws instead of rejecting cannot escape the timer.
    (async () => entry.fetch())()
      .then(
        (token) => entry.accept(token, this.options.clock.now()),
        // Failures reach the embedder's logs and metrics through the credential's onError hook.
        () => undefined,
      )
      .finally(() => {
        this.warming = false;
      });
  }

  /** Adds an entry; beyond `maxKeys` the oldest one (never the default) is dropped. */
  private add(entries: Map<string, TokenEntry>, entry: TokenEntry): void {
    if (entries.size >= this.options.maxKeys) {
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
