/**
 * Metrics hooks. The server counts into plain `{ value }` objects it asks for once and keeps, so the hot path
 * does a property increment and no lookup; an embedder backs them with its own registry (the sidecar's
 * Prometheus counters) or keeps the in-memory default.
 */

/** One counter series: the server keeps it and does `series.value++`. */
export interface CounterSeries {
  value: number;
}

/** Route labels of the request counter: a fixed set, so the series stay bounded. */
export type RouteLabel = "token" | "identity" | "metadata" | "root" | "not_found" | "refused";

/** The kind of token a route serves. */
export type TokenKind = "access_token" | "id_token";

/** Counters the server increments. Each method is called once per label set; the result is kept. */
export interface MetadataServerMetrics {
  /** Responses by route and HTTP status. */
  requests(route: RouteLabel, status: number): CounterSeries;
  /** Token requests that arrived while a valid token was held for them (`hit`) or not (`miss`). */
  tokenCache(kind: TokenKind, outcome: "hit" | "miss"): CounterSeries;
  /**
   * Tokens of this kind the credential fetched, as its `onRefresh` hook counts them. When the count moves,
   * the next request asks the credential again, so a refreshed token is served at once; a count nobody
   * increments only delays that to the next second.
   */
  tokenRefreshes(kind: TokenKind): CounterSeries;
}

/** In-memory counters, read back with `get`. The default when no `metrics` option is given. */
export interface MemoryMetrics extends MetadataServerMetrics {
  /** The value of a series by its labels joined with spaces: `get("requests token 200")`. */
  get(series: string): number;
}

/**
 * Creates in-memory counters.
 *
 * @example
 * const metrics = createMemoryMetrics();
 * const server = createMetadataServer({ credentials, metrics });
 * metrics.get("requests token 200");
 */
export function createMemoryMetrics(): MemoryMetrics {
  const series = new Map<string, CounterSeries>();
  const counter = (key: string): CounterSeries => {
    let found = series.get(key);
    if (found === undefined) {
      found = { value: 0 };
      series.set(key, found);
    }
    return found;
  };
  return {
    requests: (route, status) => counter(`requests ${route} ${status}`),
    tokenCache: (kind, outcome) => counter(`tokenCache ${kind} ${outcome}`),
    tokenRefreshes: (kind) => counter(`tokenRefreshes ${kind}`),
    get: (key) => series.get(key)?.value ?? 0,
  };
}
