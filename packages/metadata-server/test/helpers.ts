/**
 * Test seams: a clock the test moves, a token source the test controls (counts upstream calls, can be held
 * open or made to fail) with the caches a credential has, a server started on 127.0.0.1 port 0, and a raw
 * HTTP client that can send any Host header or header line.
 */

import { lstatSync, statSync } from "node:fs";
import { Agent, type IncomingMessage, request } from "node:http";
import { connect, Server as NetServer } from "node:net";
import { dirname } from "node:path";
import type { Token } from "@wifkit/core";
import { type MemoizeOptions, WifError } from "@wifkit/core";
import { createKeyedCache, type KeyedCache } from "@wifkit/token-cache";
import { afterEach } from "vitest";
import {
  createMemoryMetrics,
  createMetadataServer,
  type MemoryMetrics,
  type MetadataServer,
  type MetadataServerAddress,
  type MetadataServerOptions,
  type MetadataValues,
} from "../src/index.js";

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

/** The credential hooks a test source reports through (the shape @wifkit/credentials' hooks have). */
export interface TestSourceHooks {
  onRefresh(
    event: Parameters<NonNullable<MemoizeOptions<Token>["onRefresh"]>>[0] & { tokenType: Token["type"] },
  ): void;
  onError(
    event: Parameters<NonNullable<MemoizeOptions<Token>["onError"]>>[0] & { tokenType: Token["type"] },
  ): void;
}

/**
 * A token source composed like a credential from @wifkit/credentials: one token cache per scope set and per
 * ID token audience and format (@wifkit/token-cache). Its "upstream" issues `access-N` / `id-N` (or
 * `tokenOf(N)`), valid for `lifetimeMs` from the clock's now, and records every call in `calls`.
 */
export class TestSource {
  calls: TestSourceCall[] = [];
  lifetimeMs = 3600_000;
  failWith: Error | undefined;
  /** Makes the value of the Nth token of a kind; default `access-N` / `id-N`. */
  tokenOf: ((prefix: "access" | "id", count: number) => string) | undefined;
  private held: { promise: Promise<void>; release: () => void } | undefined;
  private readonly counters = { access_token: 0, id_token: 0 };
  private readonly accessTokens: KeyedCache<readonly string[], Token>;
  private readonly idTokens: KeyedCache<{ audience: string; includeEmail: boolean }, Token>;

  constructor(
    private readonly clock: { now(): number },
    hooks?: TestSourceHooks,
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
      value: this.tokenOf?.(prefix, this.counters[type]) ?? `${prefix}-${this.counters[type]}`,
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

/**
 * A credential error whose upstream description echoes what a signed AWS request carried (a session token,
 * URL-encoded, and a signature), as STS may quote it; and the secrets that must never be shown.
 */
export function echoedSecretsError(): { error: WifError; secrets: string[]; shown: string } {
  const sessionToken = `IQoJb3JpZ2luX2VjEHMaCXVzLWVhc3QtMSJHMEUCIQD${"k".repeat(40)}/AbC+dEf==`;
  const signature = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
  const shown = "The security token included in the request is invalid";
  const quoted = `${shown}: x-amz-security-token=${encodeURIComponent(sessionToken)}&Authorization=AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20300101/us-east-1/sts/aws4_request, Signature=${signature}`;
  const error = new WifError(
    `Google STS token exchange at https://sts.googleapis.com/v1/token failed: HTTP 400 invalid_grant "${quoted}". Check the AWS credentials.`,
    {
      code: "ERR_WIF_STS_INVALID_SUBJECT_TOKEN",
      status: 400,
      upstreamError: "invalid_grant",
      upstreamDescription: quoted,
    },
  );
  return {
    error,
    secrets: [sessionToken, encodeURIComponent(sessionToken), signature, sessionToken.slice(0, 40)],
    shown,
  };
}

export const TEST_METADATA: MetadataValues = {
  projectId: "wifkit-test",
  numericProjectId: "123456789012",
  serviceAccountEmail: "app-reader@wifkit-test.iam.gserviceaccount.com",
  identity: true,
  universeDomain: "googleapis.com",
  instanceId: "4520031799277581759",
  instanceName: "test-host",
  hostname: "test-host",
  zone: "projects/123456789012/zones/unknown",
};

export interface TestServer {
  server: MetadataServer;
  address: MetadataServerAddress;
  url: string;
  source: TestSource;
  clock: TestClock;
  metrics: MemoryMetrics;
}

/**
 * Starts a metadata server on 127.0.0.1 port 0 over a test source whose refresh hook feeds the server's
 * refresh counter (as the sidecar wires a credential); close it in afterEach.
 */
export async function startTestServer(
  options: Partial<MetadataServerOptions> & { holdFirstToken?: boolean; cache?: CacheTiming } = {},
): Promise<TestServer> {
  const clock = new TestClock();
  const metrics = createMemoryMetrics();
  const { holdFirstToken, cache, ...rest } = options;
  const source = new TestSource(
    clock,
    {
      onRefresh: (event) => {
        metrics.tokenRefreshes(event.tokenType).value++;
      },
      onError: () => undefined,
    },
    cache,
  );
  if (holdFirstToken === true) source.hold();
  const server = createMetadataServer({
    credentials: source,
    metadata: TEST_METADATA,
    clock,
    metrics,
    keepWarmIntervalMs: 20,
    shutdownTimeoutMs: 2_000,
    ...rest,
  });
  const address = await server.listen();
  return { server, address, url: address.url, source, clock, metrics };
}

/** A `start` for a test file: every server it starts is closed after the test that started it. */
export function serverPerTest(): (options?: Parameters<typeof startTestServer>[0]) => Promise<TestServer> {
  const running: TestServer[] = [];
  afterEach(async () => {
    for (const started of running.splice(0)) await started.server.close();
  });
  return async (options) => {
    const started = await startTestServer(options);
    running.push(started);
    return started;
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Reads a whole response into a `RawResponse`. */
function collect(res: IncomingMessage, resolve: (response: RawResponse) => void): void {
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("end", () =>
    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
  );
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
      collect(res, resolve);
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Sends raw bytes and returns everything the server answered before closing. */
export function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(bytes));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.on("end", () => resolve(answer));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
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
        (res) => collect(res, resolve),
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

/** The file modes of a Unix socket and of its directory, the moment its server started listening. */
export interface SocketExposure {
  path: string;
  socketMode: number;
  directoryMode: number;
}

/**
 * Records, at the instant any server in this process starts listening on a Unix socket (before any code of
 * the caller can chmod it), the socket's mode and its directory's. Call `restore()` when done.
 */
export function recordSocketExposures(): { exposures: SocketExposure[]; restore(): void } {
  const exposures: SocketExposure[] = [];
  const original = NetServer.prototype.emit as (
    this: NetServer,
    event: string | symbol,
    ...args: unknown[]
  ) => boolean;
  NetServer.prototype.emit = function emit(this: NetServer, event: string | symbol, ...args: unknown[]) {
    const address = event === "listening" ? this.address() : null;
    if (typeof address === "string") {
      exposures.push({
        path: address,
        socketMode: lstatSync(address).mode & 0o777,
        directoryMode: statSync(dirname(address)).mode & 0o777,
      });
    }
    return original.call(this, event, ...args);
  };
  return {
    exposures,
    restore: () => {
      NetServer.prototype.emit = original;
    },
  };
}

/** True when users other than the owner could connect to the socket beyond what `mode` grants. */
export function widerThan(exposure: SocketExposure, mode: number): boolean {
  return (exposure.socketMode & ~mode & 0o077) !== 0 && (exposure.directoryMode & 0o011) !== 0;
}
