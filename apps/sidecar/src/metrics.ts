/**
 * A small Prometheus registry and its text exposition format (version 0.0.4). The sidecar needs counters,
 * gauges computed at scrape time and one histogram; writing them here keeps the image free of a metrics
 * library, and its counter series are the plain `{ value }` objects the metadata server increments.
 */
import type { CounterSeries, MetadataServerMetrics, RouteLabel } from "@wifkit/metadata-server";

type LabelValues = readonly string[];

function seriesKey(values: LabelValues): string {
  return values.join("\u0001");
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function renderLabels(names: readonly string[], values: LabelValues, extra?: string): string {
  const parts = names.map((name, index) => `${name}="${escapeLabelValue(values[index] ?? "")}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function renderNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

interface Metric {
  readonly name: string;
  render(lines: string[]): void;
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  private readonly series = new Map<string, { labels: LabelValues; entry: CounterSeries }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}

  /** The series for these label values, created at zero on first use. */
  labels(...values: string[]): CounterSeries {
    const key = seriesKey(values);
    let found = this.series.get(key);
    if (found === undefined) {
      found = { labels: values, entry: { value: 0 } };
      this.series.set(key, found);
    }
    return found.entry;
  }

  inc(values: LabelValues = [], by = 1): void {
    this.labels(...values).value += by;
  }

  /** Current value of one series (0 when never incremented). */
  get(values: LabelValues = []): number {
    return this.series.get(seriesKey(values))?.entry.value ?? 0;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, entry } of this.series.values()) {
      lines.push(`${this.name}${renderLabels(this.labelNames, labels)} ${renderNumber(entry.value)}`);
    }
  }
}

/** A value read when scraped: the collector returns every series with its labels. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly collect: () => Iterable<{ labels: LabelValues; value: number }>,
  ) {}

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    for (const { labels, value } of this.collect()) {
      lines.push(`${this.name}${renderLabels(this.labelNames, labels)} ${renderNumber(value)}`);
    }
  }
}

/** A cumulative histogram with fixed upper bounds (seconds for latencies). */
export class Histogram implements Metric {
  private readonly series = new Map<
    string,
    { labels: LabelValues; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  observe(values: LabelValues, value: number): void {
    const key = seriesKey(values);
    let found = this.series.get(key);
    if (found === undefined) {
      found = { labels: values, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, found);
    }
    for (let index = 0; index < this.buckets.length; index++) {
      if (value <= (this.buckets[index] ?? Number.POSITIVE_INFINITY)) found.counts[index]! += 1;
    }
    found.sum += value;
    found.count += 1;
  }

  /** Number of observations of one series. */
  count(values: LabelValues = []): number {
    return this.series.get(seriesKey(values))?.count ?? 0;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, index) => {
        const le = `le="${renderNumber(bound)}"`;
        lines.push(`${this.name}_bucket${renderLabels(this.labelNames, labels, le)} ${counts[index] ?? 0}`);
      });
      lines.push(`${this.name}_bucket${renderLabels(this.labelNames, labels, 'le="+Inf"')} ${count}`);
      lines.push(`${this.name}_sum${renderLabels(this.labelNames, labels)} ${renderNumber(sum)}`);
      lines.push(`${this.name}_count${renderLabels(this.labelNames, labels)} ${count}`);
    }
  }
}

/** Holds metrics in registration order and renders them as one exposition document. */
export class Registry {
  private readonly metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    if (this.metrics.some((existing) => existing.name === metric.name)) {
      throw new Error(`metric ${metric.name} registered twice`);
    }
    this.metrics.push(metric);
    return metric;
  }

  /** The Prometheus text format, ending with a newline as the format requires. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics) metric.render(lines);
    return `${lines.join("\n")}\n`;
  }
}

/** Content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds (seconds) for upstream token call latency: STS + impersonation take tens to hundreds of ms. */
export const UPSTREAM_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/**
 * Every metric the sidecar exports, created together so names and labels are defined in one place; also
 * the metadata server's metrics hooks.
 */
export interface SidecarMetrics extends MetadataServerMetrics {
  registry: Registry;
  /** `wif_sidecar_token_refreshes_total` (`tokenRefreshes(kind)` is its series for the metadata server). */
  refreshes: Counter;
  tokenRefreshFailures: Counter;
  upstreamLatency: Histogram;
  cacheHits: Counter;
  cacheMisses: Counter;
  /** Adds the scrape-time gauges (expiry, readiness, memory). */
  addGauge(gauge: Gauge): void;
  /** Notes the expiry of the token the credential just cached for a key (from its `onRefresh` hook). */
  recordExpiry(kind: string, key: string, expiresAtMs: number): void;
  /** Forgets tokens that expired before `now`, except the one of `keepKey` (an access token scope set). */
  forgetExpiredTokens(now: number, keepKey: string): void;
  /** The tokens noted by `recordExpiry`, for the expiry gauge. */
  tokenExpiries(): Iterable<{ kind: string; key: string; expiresAtMs: number }>;
}

/** Bound on the series of the token expiry gauge (the credential's caches are bounded too). */
export const MAX_EXPIRY_SERIES = 1024;

/** Creates the sidecar's metrics on a fresh registry. */
export function createSidecarMetrics(): SidecarMetrics {
  const registry = new Registry();
  const requestCounter = registry.register(
    new Counter("wif_sidecar_requests_total", "Metadata requests answered, by route and HTTP status.", [
      "route",
      "status",
    ]),
  );
  const refreshes = registry.register(
    new Counter(
      "wif_sidecar_token_refreshes_total",
      "Tokens obtained from upstream (STS / IAM Credentials), by token kind.",
      ["kind"],
    ),
  );
  const tokenRefreshFailures = registry.register(
    new Counter(
      "wif_sidecar_token_refresh_failures_total",
      "Failed attempts to obtain a token from upstream, by token kind and error code.",
      ["kind", "code"],
    ),
  );
  const upstreamLatency = registry.register(
    new Histogram(
      "wif_sidecar_upstream_duration_seconds",
      "Time to obtain a token from upstream, by token kind and outcome.",
      ["kind", "outcome"],
      UPSTREAM_LATENCY_BUCKETS,
    ),
  );
  const cacheHits = registry.register(
    new Counter(
      "wif_sidecar_token_cache_hits_total",
      "Token requests that arrived while a valid token for their scope set or audience was held.",
      ["kind"],
    ),
  );
  const cacheMisses = registry.register(
    new Counter(
      "wif_sidecar_token_cache_misses_total",
      "Token requests that arrived with no valid token held (they wait for the credential, which calls upstream unless it has one).",
      ["kind"],
    ),
  );
  const byRoute = new Map<RouteLabel, CounterSeries[]>();
  const expiries = new Map<string, { kind: string; key: string; expiresAtMs: number }>();
  return {
    registry,
    refreshes,
    tokenRefreshFailures,
    upstreamLatency,
    cacheHits,
    cacheMisses,
    requests(route: RouteLabel, status: number) {
      let perStatus = byRoute.get(route);
      if (perStatus === undefined) {
        perStatus = [];
        byRoute.set(route, perStatus);
      }
      let series = perStatus[status];
      if (series === undefined) {
        series = requestCounter.labels(route, String(status));
        perStatus[status] = series;
      }
      return series;
    },
    tokenCache: (kind, outcome) => (outcome === "hit" ? cacheHits : cacheMisses).labels(kind),
    tokenRefreshes: (kind) => refreshes.labels(kind),
    addGauge(gauge) {
      registry.register(gauge);
    },
    recordExpiry(kind, key, expiresAtMs) {
      const id = seriesKey([kind, key]);
      expiries.delete(id);
      if (expiries.size >= MAX_EXPIRY_SERIES) {
        const oldest = expiries.keys().next();
        if (!oldest.done) expiries.delete(oldest.value);
      }
      expiries.set(id, { kind, key, expiresAtMs });
    },
    forgetExpiredTokens(now, keepKey) {
      for (const [id, entry] of expiries) {
        if (entry.expiresAtMs <= now && !(entry.kind === "access_token" && entry.key === keepKey)) {
          expiries.delete(id);
        }
      }
    },
    tokenExpiries: () => expiries.values(),
  };
}
