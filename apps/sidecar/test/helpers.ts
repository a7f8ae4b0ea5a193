/**
 * Test seams: a clock the test moves, a token source the test controls (counts upstream calls, can be held
 * open or made to fail) with the same caches a credential has, a sidecar started on port 0, and a raw HTTP
 * client that can send any Host header.
 */
import { Agent, request } from "node:http";
import { Writable } from "node:stream";
import type { MemoizeOptions, Token } from "@wifkit/core";
import { WifError } from "@wifkit/core";
import { createKeyedCache, type KeyedCache } from "@wifkit/token-cache";
import { createLogger } from "../src/logger.js";
import { createSidecarMetrics } from "../src/metrics.js";
import { type Sidecar, type SidecarOptions, startSidecar } from "../src/sidecar.js";
import { type TokenHooks, type TokenSource, tokenHooks } from "../src/tokens.js";

export class TestClock {
  constructor(public current = Date.UTC(2030, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface TestSourceCall {
  kind: "access" | "id";
  scopes?: readonly string[];
  audience?: string;
  includeEmail?: boolean;
  forceRefresh: boolean;
}

/** Timing options of the source's caches (the ones a credential takes). */
export type CacheTiming = Pick<
  MemoizeOptions<Token>,
  "refreshBeforeMs" | "retryBackoffMs" | "maxRetryBackoffMs"
>;

/**
 * A token source composed like a credential from @wifkit/credentials: one token cache per scope set and per
 * ID token audience and format (@wifkit/token-cache), whose hooks carry `tokenType`. Its "upstream" issues
 * `access-N` / `id-N`, valid for `lifetimeMs` from the clock's now, and records every call in `calls`.
 */
export class TestSource implements TokenSource {
  calls: TestSourceCall[] = [];
  lifetimeMs = 3600_000;
  failWith: Error | undefined;
  /** When set, upstream calls wait for `release()`. */
  private held: { promise: Promise<void>; release: () => void } | undefined;
  private readonly counters = { access_token: 0, id_token: 0 };
  private readonly accessTokens: KeyedCache<readonly string[], Token>;
  private readonly idTokens: KeyedCache<{ audience: string; includeEmail: boolean }, Token>;

  constructor(
    private readonly clock: { now(): number },
    hooks?: TokenHooks,
    timing: CacheTiming = {},
  ) {
    const cacheOptions = (tokenType: Token["type"]): MemoizeOptions<Token> => ({
      clock,
      ...timing,
      ...(hooks === undefined
        ? {}
        : {
            onRefresh: (event) => hooks.onRefresh({ ...event, tokenType }),
            onError: (event) => hooks.onError({ ...event, tokenType }),
          }),
    });
    this.accessTokens = createKeyedCache({
      ...cacheOptions("access_token"),
      keyOf: (scopes) => scopes.join(" "),
      load: (scopes, { forceRefresh }) => {
        this.calls.push({ kind: "access", scopes, forceRefresh: forceRefresh ?? false });
        return this.issue("access_token");
      },
    });
    this.idTokens = createKeyedCache({
      ...cacheOptions("id_token"),
      keyOf: ({ audience, includeEmail }) => `${includeEmail ? "email" : "no-email"} ${audience}`,
      load: ({ audience, includeEmail }, { forceRefresh }) => {
        this.calls.push({ kind: "id", audience, includeEmail, forceRefresh: forceRefresh ?? false });
        return this.issue("id_token");
      },
    });
  }

  hold(): void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.held = { promise, release };
  }

  release(): void {
    const held = this.held;
    this.held = undefined;
    held?.release();
  }

  count(kind: "access" | "id"): number {
    return this.calls.filter((call) => call.kind === kind).length;
  }

  private async issue(type: Token["type"]): Promise<Token> {
    if (this.held !== undefined) await this.held.promise;
    if (this.failWith !== undefined) throw this.failWith;
    this.counters[type] += 1;
    const prefix = type === "access_token" ? "access" : "id";
    return {
      value: `${prefix}-${this.counters[type]}`,
      expiresAt: new Date(this.clock.now() + this.lifetimeMs),
      type,
    };
  }

  getAccessToken(request: { scopes: readonly string[] }): Promise<Token> {
    return this.accessTokens.get(request.scopes);
  }

  getIdToken(request: { audience: string; includeEmail: boolean }): Promise<Token> {
    return this.idTokens.get({ audience: request.audience, includeEmail: request.includeEmail });
  }
}

export const upstreamUnavailable = (): WifError =>
  new WifError("Google STS answered 503 at https://sts.googleapis.com/v1/token; retry later.", {
    code: "ERR_WIF_STS_UNAVAILABLE",
    status: 503,
    retryable: true,
  });

/** Collects log lines. */
export class LogCapture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export const TEST_METADATA = {
  projectId: "wifkit-test",
  numericProjectId: "123456789012",
  serviceAccountEmail: "app@wifkit-test.iam.gserviceaccount.com",
  universeDomain: "googleapis.com",
  instanceId: "4520031799277581759",
  instanceName: "test-host",
  zone: "projects/123456789012/zones/unknown",
};

export interface TestSidecar {
  sidecar: Sidecar;
  source: TestSource;
  clock: TestClock;
  logs: LogCapture;
}

/**
 * Starts a sidecar on 127.0.0.1 port 0 with a test source (its hooks feeding the sidecar's metrics, as
 * `main.ts` wires a credential) and clock; close it in afterEach.
 */
export async function startTestSidecar(
  options: Partial<SidecarOptions> & {
    logLevel?: "debug" | "info" | "trace";
    holdFirstToken?: boolean;
    cache?: CacheTiming;
  } = {},
): Promise<TestSidecar> {
  const clock = new TestClock();
  const logs = new LogCapture();
  const { logLevel, holdFirstToken, cache, ...rest } = options;
  const logger = createLogger({ level: logLevel ?? "info", destination: logs });
  const metrics = createSidecarMetrics();
  const source = new TestSource(clock, tokenHooks(metrics, logger), cache);
  if (holdFirstToken === true) source.hold();
  const sidecar = await startSidecar({
    source,
    metrics,
    clock,
    metadata: TEST_METADATA,
    port: 0,
    adminPort: 0,
    logger,
    keepWarmIntervalMs: 20,
    shutdownTimeoutMs: 2_000,
    ...rest,
  });
  return { sidecar, source, clock, logs };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of method, headers (Host included) and body. */
export function rawRequest(
  target: string | { socketPath: string },
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; flavor?: boolean } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {
    ...(options.flavor === false ? {} : { "Metadata-Flavor": "Google" }),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const base =
      typeof target === "string"
        ? (() => {
            const url = new URL(target);
            return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port) };
          })()
        : { socketPath: target.socketPath };
    const req = request({ ...base, path, method: options.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Polls `check` every 10 ms until it returns true (at most `timeoutMs`). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/**
 * Sends `count` GET requests to `path` at once, each on its own connection (no client-side queueing), and
 * resolves with every answer.
 */
export async function concurrentRequests(base: string, path: string, count: number): Promise<RawResponse[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: count });
  const url = new URL(base);
  const one = (): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path, agent, headers: { "Metadata-Flavor": "Google" } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end();
    });
  try {
    return await Promise.all(Array.from({ length: count }, one));
  } finally {
    agent.destroy();
  }
}
