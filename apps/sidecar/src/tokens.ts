/**
 * The token side of the sidecar: one slot per scope set (access tokens) and per audience + format (ID
 * tokens), each holding the current token and, for access tokens, the response body already rendered for the
 * current second. Requests read a slot synchronously; upstream calls happen once per slot at a time (single
 * flight), ahead of expiry in the background, and never while a request waits on a valid token.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Clock, Token } from "@wifkit/core";
import { isWifError, WifError } from "@wifkit/core";
import type { Logger } from "pino";
import type { CounterSeries, SidecarMetrics } from "./metrics.js";

/** What the sidecar asks of a credential: the seam tests fill with an in-test source. */
export interface TokenSource {
  /** An OAuth access token for these scopes. `forceRefresh` asks for a new one, bypassing any cache. */
  getAccessToken(request: {
    scopes: readonly string[];
    forceRefresh?: boolean;
    signal?: AbortSignal;
  }): Promise<Token>;
  /** An OIDC ID token for this audience, with the `email` claim when `includeEmail`. */
  getIdToken(request: {
    audience: string;
    includeEmail: boolean;
    forceRefresh?: boolean;
    signal?: AbortSignal;
  }): Promise<Token>;
}

export type TokenKind = "access_token" | "id_token";

/** Refresh a token this long before it expires (at most half its lifetime), like the real metadata server. */
export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;
/** An ID token is not handed out with less than this left (a quarter of its lifetime at most). */
export const DEFAULT_ID_TOKEN_MIN_REMAINING_MS = 60_000;
/** An access token is handed out while at least this much of it is left (so `expires_in` is at least 1). */
export const ACCESS_TOKEN_MIN_REMAINING_MS = 1_000;
/** Bound on one upstream attempt (supplier + STS + impersonation, with their retries). */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
/** First retry delay after a failed upstream attempt; doubles per consecutive failure. */
export const DEFAULT_RETRY_BASE_MS = 1_000;
/** Longest retry delay while a valid token is still held. */
export const DEFAULT_RETRY_MAX_MS = 30_000;
/** Longest retry delay while no valid token is held (requests are failing, so try sooner). */
export const DEFAULT_RETRY_MAX_WITHOUT_TOKEN_MS = 5_000;
/** A scope set or audience nobody asked for in this long stops being refreshed and is dropped. */
export const DEFAULT_IDLE_MS = 60 * 60_000;
/** Bounds on the number of scope sets and ID token audiences kept. */
export const DEFAULT_MAX_SCOPE_SETS = 64;
export const DEFAULT_MAX_ID_TOKEN_AUDIENCES = 256;
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

/**
 * One cached token and what the server sends for it. Fields are public because the request handler reads
 * them on the hot path; only the broker writes them.
 */
export class TokenSlot {
  value: string | undefined;
  expiresAtMs = 0;
  obtainedAtMs = 0;
  refreshAtMs = 0;
  retryAtMs = 0;
  minRemainingMs: number;
  failures = 0;
  lastError: unknown;
  lastUsedMs = 0;
  inflight: Promise<void> | undefined;
  /** Response body and flat header list, valid while `now <= renderedUntilMs`. */
  body: Buffer = Buffer.alloc(0);
  headers: string[] = [];
  renderedUntilMs = -1;
  /** Set when the broker dropped this slot: request-side caches that still point at it look it up again. */
  evicted = false;
  readonly hits: CounterSeries;
  readonly misses: CounterSeries;

  constructor(
    readonly kind: TokenKind,
    /** Scopes joined by spaces, or `standard|full` + space + audience. */
    readonly key: string,
    readonly scopes: readonly string[],
    readonly audience: string,
    readonly includeEmail: boolean,
    metrics: SidecarMetrics,
  ) {
    this.minRemainingMs =
      kind === "access_token" ? ACCESS_TOKEN_MIN_REMAINING_MS : DEFAULT_ID_TOKEN_MIN_REMAINING_MS;
    this.hits = metrics.cacheHits.labels(kind);
    this.misses = metrics.cacheMisses.labels(kind);
  }

  /** True when a token can be served at `now`; re-renders the body when `expires_in` has changed. */
  current(now: number): boolean {
    return now <= this.renderedUntilMs || this.render(now);
  }

  /** True when a token is held that may still be served at `now`. */
  valid(now: number): boolean {
    return this.value !== undefined && this.expiresAtMs - now >= this.minRemainingMs;
  }

  private render(now: number): boolean {
    const value = this.value;
    if (value === undefined || !this.valid(now)) return false;
    if (this.kind === "id_token") {
      this.body = Buffer.from(value);
      this.headers = [
        ...ID_TOKEN_HEADER_PREFIX,
        "ETag",
        etagOf(this.body),
        "Content-Length",
        String(this.body.length),
      ];
      this.renderedUntilMs = this.expiresAtMs - this.minRemainingMs;
      return true;
    }
    // expires_in only changes once a second, so the body is built once per second per scope set.
    const seconds = Math.floor((this.expiresAtMs - now) / 1000);
    this.body = Buffer.from(
      `{"access_token":${JSON.stringify(value)},"expires_in":${seconds},"token_type":"Bearer"}`,
    );
    this.headers = [
      ...TOKEN_HEADER_PREFIX,
      "ETag",
      etagOf(this.body),
      "Content-Length",
      String(this.body.length),
    ];
    this.renderedUntilMs = this.expiresAtMs - seconds * 1000;
    return true;
  }

  /** Seconds left on the held token (0 when none). */
  secondsLeft(now: number): number {
    return this.value === undefined ? 0 : Math.max(0, (this.expiresAtMs - now) / 1000);
  }
}

export interface TokenBrokerOptions {
  source: TokenSource;
  /** Scopes of the `default` token (no `scopes` parameter). */
  defaultScopes: readonly string[];
  metrics: SidecarMetrics;
  logger: Logger;
  clock: Clock;
  refreshBeforeMs?: number;
  idTokenMinRemainingMs?: number;
  fetchTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  retryMaxWithoutTokenMs?: number;
  idleMs?: number;
  maxScopeSets?: number;
  maxIdTokenAudiences?: number;
  /** Called once, when the first default-scope token has been obtained. */
  onFirstToken?: () => void;
  random?: () => number;
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
 * Owns every token slot. `maintain()` (run on an interval by `start()`) refreshes slots that are in use
 * ahead of expiry, retries failed ones with backoff and drops idle ones; request handlers call `obtain()`
 * only when a slot holds no valid token.
 */
export class TokenBroker {
  readonly defaultSlot: TokenSlot;
  private readonly accessSlots = new Map<string, TokenSlot>();
  private readonly idSlots = new Map<string, TokenSlot>();
  private readonly abort = new AbortController();
  private timer: ReturnType<typeof setInterval> | undefined;
  private firstTokenSeen = false;
  private readonly refreshBeforeMs: number;
  private readonly idTokenMinRemainingMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly retryMaxWithoutTokenMs: number;
  private readonly idleMs: number;
  private readonly maxScopeSets: number;
  private readonly maxIdTokenAudiences: number;
  private readonly random: () => number;

  constructor(private readonly options: TokenBrokerOptions) {
    this.refreshBeforeMs = options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
    this.idTokenMinRemainingMs = options.idTokenMinRemainingMs ?? DEFAULT_ID_TOKEN_MIN_REMAINING_MS;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.retryBaseMs = options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    this.retryMaxMs = options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
    this.retryMaxWithoutTokenMs = options.retryMaxWithoutTokenMs ?? DEFAULT_RETRY_MAX_WITHOUT_TOKEN_MS;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.maxScopeSets = options.maxScopeSets ?? DEFAULT_MAX_SCOPE_SETS;
    this.maxIdTokenAudiences = options.maxIdTokenAudiences ?? DEFAULT_MAX_ID_TOKEN_AUDIENCES;
    this.random = options.random ?? Math.random;
    this.defaultSlot = this.accessSlot(parseScopes(options.defaultScopes.join(" ")));
  }

  /** True once the first default-scope token was obtained (the sidecar's readiness). */
  get hasObtainedFirstToken(): boolean {
    return this.firstTokenSeen;
  }

  /** The slot for a scope set (already parsed by `parseScopes`), created on first use. */
  accessSlot(scopes: readonly string[]): TokenSlot {
    const key = scopes.join(" ");
    let slot = this.accessSlots.get(key);
    if (slot === undefined) {
      this.makeRoom(this.accessSlots, this.maxScopeSets);
      slot = new TokenSlot("access_token", key, scopes, "", false, this.options.metrics);
      this.accessSlots.set(key, slot);
    }
    return slot;
  }

  /** The slot for an ID token audience and format, created on first use. */
  idSlot(audience: string, includeEmail: boolean): TokenSlot {
    if (audience.length > MAX_AUDIENCE_LENGTH) {
      throw new BadRequestError(`the audience parameter is longer than ${MAX_AUDIENCE_LENGTH} characters`);
    }
    const key = `${includeEmail ? "full" : "standard"} ${audience}`;
    let slot = this.idSlots.get(key);
    if (slot === undefined) {
      this.makeRoom(this.idSlots, this.maxIdTokenAudiences);
      slot = new TokenSlot("id_token", key, [], audience, includeEmail, this.options.metrics);
      this.idSlots.set(key, slot);
    }
    return slot;
  }

  /** Every slot, for the expiry gauge. */
  *slots(): Iterable<TokenSlot> {
    yield* this.accessSlots.values();
    yield* this.idSlots.values();
  }

  /**
   * Called by the request handler after serving a cached token: marks the slot as in use and starts a
   * background refresh when it is due. Never waits.
   */
  touch(slot: TokenSlot, now: number): void {
    slot.lastUsedMs = now;
    if (now >= slot.refreshAtMs && slot.inflight === undefined && now >= slot.retryAtMs) {
      void this.fetch(slot);
    }
  }

  /**
   * Waits until the slot holds a valid token or the upstream attempt failed; joins an attempt already in
   * flight. Returns false without calling upstream while a recent failure's backoff lasts.
   */
  async obtain(slot: TokenSlot): Promise<boolean> {
    if (slot.inflight === undefined && this.options.clock.now() < slot.retryAtMs) return false;
    await this.fetch(slot);
    return slot.valid(this.options.clock.now());
  }

  /** One maintenance pass: background refreshes, retries and eviction of idle slots. */
  maintain(): void {
    const now = this.options.clock.now();
    for (const slots of [this.accessSlots, this.idSlots]) {
      for (const [key, slot] of slots) {
        const inUse = slot === this.defaultSlot || now - slot.lastUsedMs < this.idleMs;
        if (!inUse) {
          if (slot.inflight === undefined && !slot.valid(now)) this.drop(slots, key, slot);
          continue;
        }
        if (slot.inflight !== undefined || now < slot.retryAtMs) continue;
        if (slot === this.defaultSlot) {
          // The default token is kept warm whatever happens: readiness depends on it.
          if (!slot.valid(now) || now >= slot.refreshAtMs) void this.fetch(slot);
          continue;
        }
        // Other slots are refreshed ahead of expiry only while they hold a token somebody asked for since it
        // was obtained; a slot without a valid token is fetched again by the next request that wants it.
        if (slot.valid(now) && now >= slot.refreshAtMs && slot.lastUsedMs >= slot.obtainedAtMs)
          void this.fetch(slot);
      }
    }
  }

  /** Runs `maintain()` now and every `intervalMs` (unref'd: it never keeps the process alive). */
  start(intervalMs = 1000): void {
    if (this.timer !== undefined) return;
    this.maintain();
    this.timer = setInterval(() => this.maintain(), intervalMs);
    this.timer.unref();
  }

  /** Stops maintenance and aborts upstream calls in flight. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort(new WifError("The sidecar is shutting down.", { code: "ERR_WIF_ABORTED" }));
  }

  private drop(slots: Map<string, TokenSlot>, key: string, slot: TokenSlot): void {
    slots.delete(key);
    slot.evicted = true;
  }

  private makeRoom(slots: Map<string, TokenSlot>, max: number): void {
    if (slots.size < max) return;
    let oldest: [string, TokenSlot] | undefined;
    for (const entry of slots) {
      if (entry[1] === this.defaultSlot) continue;
      if (oldest === undefined || entry[1].lastUsedMs < oldest[1].lastUsedMs) oldest = entry;
    }
    if (oldest !== undefined) this.drop(slots, oldest[0], oldest[1]);
  }

  private fetch(slot: TokenSlot): Promise<void> {
    if (slot.inflight !== undefined) return slot.inflight;
    const { source, clock } = this.options;
    const startedAt = performance.now();
    // A slot that still holds a valid token is being refreshed ahead of expiry: a cache below us would
    // hand the same token back, so ask for a new one.
    const forceRefresh = slot.valid(clock.now());
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.fetchTimeoutMs)]);
    const call =
      slot.kind === "access_token"
        ? source.getAccessToken({ scopes: slot.scopes, forceRefresh, signal })
        : source.getIdToken({
            audience: slot.audience,
            includeEmail: slot.includeEmail,
            forceRefresh,
            signal,
          });
    slot.inflight = call
      .then(
        (token) => this.accept(slot, token, startedAt),
        (error: unknown) => this.reject(slot, error, startedAt),
      )
      .finally(() => {
        slot.inflight = undefined;
      });
    return slot.inflight;
  }

  private accept(slot: TokenSlot, token: Token, startedAt: number): void {
    const { clock, metrics, logger } = this.options;
    const now = clock.now();
    const expiresAtMs = token.expiresAt.getTime();
    const lifetime = expiresAtMs - now;
    const minRemaining =
      slot.kind === "access_token"
        ? ACCESS_TOKEN_MIN_REMAINING_MS
        : Math.min(this.idTokenMinRemainingMs, Math.floor(lifetime / 4));
    if (
      typeof token.value !== "string" ||
      token.value.length === 0 ||
      !Number.isFinite(lifetime) ||
      lifetime <= 0 ||
      lifetime < minRemaining
    ) {
      this.reject(
        slot,
        new WifError(
          `Upstream returned ${slot.kind === "access_token" ? "an access" : "an ID"} token that is empty or already expired; check the clock of this machine.`,
          { code: "ERR_WIF_SIDECAR_EXPIRED_TOKEN" },
        ),
        startedAt,
      );
      return;
    }
    metrics.upstreamLatency.observe([slot.kind, "success"], (performance.now() - startedAt) / 1000);
    metrics.tokenRefreshes.inc([slot.kind]);
    slot.value = token.value;
    slot.expiresAtMs = expiresAtMs;
    slot.obtainedAtMs = now;
    slot.minRemainingMs = minRemaining;
    slot.refreshAtMs = expiresAtMs - Math.min(this.refreshBeforeMs, Math.floor(lifetime / 2));
    slot.failures = 0;
    slot.lastError = undefined;
    // A source that keeps answering with a token already inside the refresh window must not be asked again
    // on every request: wait a little before the next attempt.
    slot.retryAtMs = now >= slot.refreshAtMs ? now + this.retryBaseMs : 0;
    slot.renderedUntilMs = -1;
    logger.info(
      { kind: slot.kind, key: slot.key, expiresInSeconds: Math.floor(lifetime / 1000) },
      "obtained a token from upstream",
    );
    if (slot === this.defaultSlot && !this.firstTokenSeen) {
      this.firstTokenSeen = true;
      this.options.onFirstToken?.();
    }
  }

  private reject(slot: TokenSlot, error: unknown, startedAt: number): void {
    const { clock, metrics, logger } = this.options;
    const now = clock.now();
    metrics.upstreamLatency.observe([slot.kind, "failure"], (performance.now() - startedAt) / 1000);
    metrics.tokenRefreshFailures.inc([slot.kind, errorCode(error)]);
    slot.failures += 1;
    slot.lastError = error;
    const ceiling = slot.valid(now) ? this.retryMaxMs : this.retryMaxWithoutTokenMs;
    const delay = Math.min(ceiling, this.retryBaseMs * 2 ** Math.min(slot.failures - 1, 20));
    // Jitter spreads the retries of many sidecars that failed together.
    slot.retryAtMs = now + Math.round(delay * (0.5 + this.random() * 0.5));
    logger.warn(
      {
        kind: slot.kind,
        key: slot.key,
        failures: slot.failures,
        holdsValidToken: slot.valid(now),
        err: error,
      },
      "could not obtain a token from upstream",
    );
  }
}
