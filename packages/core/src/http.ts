/**
 * The HTTP layer every wifkit client shares: one keep-alive connection pool per origin, a per-attempt
 * timeout, caller cancellation, a response size cap, and bounded retries with exponential backoff and full
 * jitter on 408, 429, 5xx, connection resets and timeouts, honouring `Retry-After`.
 *
 * It is built on `node:http`/`node:https` rather than undici: the whole of undici costs ~90 ms to import and
 * 2.2 MB to install, which would dominate the CLI's start-up and the client's install footprint, while the
 * built-in client does everything a token exchange needs. The transport is an injectable edge, so tests and
 * users can put anything in front of it.
 */
import type http from "node:http";
import type https from "node:https";
import { WifError } from "./errors.js";

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on the whole call, waits included; no retry starts past it. */
  totalTimeoutMs: number;
  /**
   * Statuses worth another attempt. Default: 408, 429 and 5xx. 400, 401 and 403 are never retried whatever
   * this says: the same request cannot succeed.
   */
  retryOnStatus: (status: number) => boolean;
}

const NEVER_RETRIED = new Set([400, 401, 403]);

export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  retries: 3,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  totalTimeoutMs: 30_000,
  retryOnStatus: isTransientStatus,
});

export interface TlsClientOptions {
  /** PEM client certificate (chain) for mutual TLS. */
  cert: string | Buffer;
  /** PEM private key for `cert`. */
  key: string | Buffer;
  /** Extra trusted CA certificates (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** What a transport receives: one attempt, already bounded by `signal` (timeout and caller abort). */
export interface TransportRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  signal: AbortSignal;
  maxResponseBytes: number;
  tls: TlsClientOptions | undefined;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The network edge. The default speaks node:http(s); inject another to proxy, record or fake. */
export type HttpTransport = (request: TransportRequest) => Promise<HttpResponse>;

export interface HttpRequestInit {
  url: string | URL;
  method?: "GET" | "POST" | "PUT" | "DELETE";
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Per-attempt timeout. Default `DEFAULT_TIMEOUT_MS`. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Overrides of the default retry policy, or `false` for exactly one attempt. */
  retry?: Partial<RetryPolicy> | false;
  maxResponseBytes?: number;
  tls?: TlsClientOptions;
  transport?: HttpTransport;
  /** What this call is, for error messages: "Google STS token exchange". */
  operation?: string;
  /** Random source in [0, 1) for jitter; tests pass a fixed one. */
  random?: () => number;
}

/**
 * Sends a request and returns the final response, whatever its status: callers turn statuses into errors
 * with their own context. Throws `WifError` only when no response arrived: `ERR_WIF_TIMEOUT`,
 * `ERR_WIF_NETWORK`, `ERR_WIF_ABORTED` or `ERR_WIF_RESPONSE_TOO_LARGE`, each after the retry budget is spent
 * where retrying makes sense.
 *
 * @example
 * const response = await httpRequest({ url: tokenUrl, method: "POST", body, operation: "Google STS token exchange" });
 */
export async function httpRequest(init: HttpRequestInit): Promise<HttpResponse> {
  const url = typeof init.url === "string" ? new URL(init.url) : init.url;
  const operation = init.operation ?? "HTTP request";
  const policy =
    init.retry === false
      ? { ...DEFAULT_RETRY_POLICY, retries: 0 }
      : { ...DEFAULT_RETRY_POLICY, ...init.retry };
  const transport = init.transport ?? nodeTransport;
  const random = init.random ?? Math.random;
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const body =
    init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined) headers["content-length"] = String(body.length);
  const deadline = Date.now() + policy.totalTimeoutMs;

  for (let attempt = 0; ; attempt++) {
    if (init.signal?.aborted) throw abortedError(operation, url, init.signal.reason);
    // No attempt outlives the total budget, whatever the per-attempt timeout says.
    const attemptTimeoutMs = Math.max(1, Math.min(timeoutMs, deadline - Date.now()));
    const attemptSignal = init.signal
      ? AbortSignal.any([init.signal, AbortSignal.timeout(attemptTimeoutMs)])
      : AbortSignal.timeout(attemptTimeoutMs);
    let response: HttpResponse | undefined;
    let failure: WifError | undefined;
    try {
      response = await transport({
        url,
        method: init.method ?? "GET",
        headers,
        body,
        signal: attemptSignal,
        maxResponseBytes: init.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        tls: init.tls,
      });
    } catch (error) {
      if (init.signal?.aborted) throw abortedError(operation, url, init.signal.reason);
      failure = toTransportError(error, operation, url, attemptTimeoutMs, attemptSignal);
      if (!failure.retryable) throw failure;
    }

    const retryable = response
      ? !NEVER_RETRIED.has(response.status) && policy.retryOnStatus(response.status)
      : true;
    if (!retryable || attempt >= policy.retries) {
      if (response) return response;
      throw failure as WifError;
    }
    const backoff = random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
    const retryAfter = response ? parseRetryAfter(response.headers["retry-after"]) : undefined;
    const delay = retryAfter === undefined ? backoff : Math.max(retryAfter, backoff);
    if (Date.now() + delay >= deadline) {
      if (response) return response;
      throw failure as WifError;
    }
    await sleep(delay, init.signal, operation, url);
  }
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === "") return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The URL as it may appear in a message: no credentials, no query string, no fragment. */
export function describeUrl(url: string | URL): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(an invalid URL)";
  }
}

/** Parses a JSON response body, or throws `ERR_WIF_RESPONSE_INVALID` naming the operation (never the body). */
export function parseJsonBody(response: HttpResponse, operation: string, url: string | URL): unknown {
  try {
    return JSON.parse(response.body.toString("utf8"));
  } catch (cause) {
    throw new WifError(
      `${operation} at ${describeUrl(url)} answered HTTP ${response.status} with a body that is not JSON.`,
      { code: "ERR_WIF_RESPONSE_INVALID", status: response.status, url: describeUrl(url), cause },
    );
  }
}

function abortedError(operation: string, url: URL, reason: unknown): WifError {
  return new WifError(`${operation} at ${describeUrl(url)} was aborted by the caller.`, {
    code: "ERR_WIF_ABORTED",
    url: describeUrl(url),
    cause: reason,
  });
}

const RETRYABLE_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
]);

function toTransportError(
  error: unknown,
  operation: string,
  url: URL,
  timeoutMs: number,
  signal: AbortSignal,
): WifError {
  if (error instanceof WifError) return error;
  const where = describeUrl(url);
  if (signal.aborted) {
    return new WifError(`${operation} at ${where} timed out after ${timeoutMs} ms.`, {
      code: "ERR_WIF_TIMEOUT",
      url: where,
      retryable: true,
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return new WifError(`${operation} at ${where} failed: ${detail}.`, {
    code: "ERR_WIF_NETWORK",
    url: where,
    retryable:
      code === undefined || RETRYABLE_NETWORK_CODES.has(code) || /socket hang up/i.test(String(detail)),
    cause: error,
  });
}

function sleep(ms: number, signal: AbortSignal | undefined, operation: string, url: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(operation, url, signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(operation, url, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// One keep-alive pool per origin is what node's Agent already does (sockets are keyed by host:port), so one
// agent per scheme suffices; mTLS needs its own agent per client certificate. node:http and node:https are
// loaded on the first request, not at import: importing them costs milliseconds a CLI start-up should not pay.
interface Clients {
  http: typeof http;
  https: typeof https;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  tlsAgents: WeakMap<TlsClientOptions, https.Agent>;
}
let clients: Promise<Clients> | undefined;

function loadClients(): Promise<Clients> {
  clients ??= Promise.all([import("node:http"), import("node:https")]).then(([httpModule, httpsModule]) => ({
    http: httpModule.default,
    https: httpsModule.default,
    httpAgent: new httpModule.default.Agent({ keepAlive: true, maxSockets: 32 }),
    httpsAgent: new httpsModule.default.Agent({ keepAlive: true, maxSockets: 32 }),
    tlsAgents: new WeakMap(),
  }));
  return clients;
}

function agentFor(c: Clients, url: URL, tls: TlsClientOptions | undefined): http.Agent {
  if (url.protocol === "http:") return c.httpAgent;
  if (!tls) return c.httpsAgent;
  let agent = c.tlsAgents.get(tls);
  if (!agent) {
    agent = new c.https.Agent({
      keepAlive: true,
      maxSockets: 32,
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca ? { ca: tls.ca } : {}),
    });
    c.tlsAgents.set(tls, agent);
  }
  return agent;
}

/** The default transport: node:http(s) with keep-alive pools. */
export const nodeTransport: HttpTransport = async (request) => {
  const { url } = request;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new WifError(
      `Only http and https URLs can be fetched, not ${url.protocol} (${describeUrl(url)}).`,
      {
        code: "ERR_WIF_NETWORK",
        url: describeUrl(url),
      },
    );
  }
  const c = await loadClients();
  return new Promise<HttpResponse>((resolve, reject) => {
    const client = url.protocol === "http:" ? c.http : c.https;
    const req = client.request(url, {
      method: request.method,
      headers: request.headers,
      agent: agentFor(c, url, request.tls),
      signal: request.signal,
    });
    req.once("error", reject);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > request.maxResponseBytes) {
          res.destroy();
          req.destroy();
          reject(
            new WifError(
              `${describeUrl(url)} answered with more than ${request.maxResponseBytes} bytes; refusing to read it.`,
              { code: "ERR_WIF_RESPONSE_TOO_LARGE", url: describeUrl(url), status: res.statusCode },
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.once("error", reject);
      res.once("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.end(request.body);
  });
};
