/**
 * One HTTP call as every wifkit client makes it: a per-attempt timeout, caller cancellation, a response size
 * cap, and bounded retries with exponential backoff and full jitter on 408, 429, 5xx, connection resets and
 * timeouts, honouring `Retry-After`, all inside a total budget. Time is a seam (`clock`, `sleep`), so the
 * retry schedule is tested on virtual time.
 */
import { abortedError, type Clock, type Sleep, systemClock, systemSleep, WifError } from "@wifkit/core";
import { HTTP_ERROR_CODES } from "./errors.js";
import { publishTrace } from "./trace.js";
import {
  defaultTransport,
  type HttpResponse,
  type HttpTransport,
  type TlsClientOptions,
} from "./transport.js";
import { describeUrl } from "./url.js";

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on the whole call, waits included; no attempt outlives it and no retry starts past it. */
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

export interface HttpRequestInit {
  url: string | URL;
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Per-attempt timeout. Default `DEFAULT_TIMEOUT_MS`. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Overrides of the default retry policy, or `false` for exactly one attempt. */
  retry?: Partial<RetryPolicy> | false;
  maxResponseBytes?: number;
  tls?: TlsClientOptions;
  /** The network edge. Default `defaultTransport` (direct, or the environment's proxy). */
  transport?: HttpTransport;
  /** What this call is, for error messages and traces: "Google STS token exchange". */
  operation?: string;
  /** Random source in [0, 1) for jitter; tests pass a fixed one. */
  random?: () => number;
  /** Time source for the total budget and `Retry-After` dates. Default `systemClock`. */
  clock?: Clock;
  /** Timer seam for attempt timeouts and backoff waits. Default `systemSleep`. */
  sleep?: Sleep;
}

/**
 * Sends a request and returns the final response, whatever its status: callers turn statuses into errors
 * with their own context. Throws `WifError` only when no response arrived: `ERR_WIF_TIMEOUT`,
 * `ERR_WIF_NETWORK`, `ERR_WIF_PROXY`, `ERR_WIF_ABORTED` or `ERR_WIF_RESPONSE_TOO_LARGE`, each after the
 * retry budget is spent where retrying makes sense. Every attempt and retry is published on the
 * `wifkit:http` diagnostics channel.
 *
 * @example
 * const response = await httpRequest({ url: tokenUrl, method: "POST", body, operation: "Google STS token exchange" });
 */
export async function httpRequest(init: HttpRequestInit): Promise<HttpResponse> {
  const url = typeof init.url === "string" ? new URL(init.url) : init.url;
  const method = init.method ?? "GET";
  const operation = init.operation ?? "HTTP request";
  const policy =
    init.retry === false
      ? { ...DEFAULT_RETRY_POLICY, retries: 0 }
      : { ...DEFAULT_RETRY_POLICY, ...init.retry };
  const transport = init.transport ?? defaultTransport;
  const random = init.random ?? Math.random;
  const clock = init.clock ?? systemClock;
  const sleep = init.sleep ?? systemSleep;
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const body =
    init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined) headers["content-length"] = String(body.length);
  const deadline = clock.now() + policy.totalTimeoutMs;
  const proxy = transport.proxyFor?.(url);
  const where = proxy ? `${describeUrl(url)} (through the proxy ${proxy})` : describeUrl(url);
  const trace = { operation, method, url: describeUrl(url), proxy };

  for (let attempt = 1; ; attempt++) {
    if (init.signal?.aborted) throw aborted(operation, where, init.signal.reason);
    // No attempt outlives the total budget, whatever the per-attempt timeout says.
    const attemptTimeoutMs = Math.max(1, Math.min(timeoutMs, deadline - clock.now()));
    const started = clock.now();
    publishTrace(() => ({ ...trace, phase: "request", attempt }));
    let response: HttpResponse | undefined;
    let failure: WifError | undefined;
    try {
      response = await attemptOnce(
        (signal) =>
          transport({
            url,
            method,
            headers,
            body,
            signal,
            maxResponseBytes: init.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
            tls: init.tls,
          }),
        attemptTimeoutMs,
        init.signal,
        sleep,
      );
    } catch (error) {
      if (init.signal?.aborted) throw aborted(operation, where, init.signal.reason);
      failure = toTransportError(error, operation, where, trace.url, attemptTimeoutMs);
      publishTrace(() => ({
        ...trace,
        phase: "error",
        attempt,
        code: (failure as WifError).code,
        detail: (failure as WifError).message,
        durationMs: clock.now() - started,
      }));
      if (!failure.retryable) throw failure;
    }
    if (response) {
      const status = response.status;
      publishTrace(() => ({
        ...trace,
        phase: "response",
        attempt,
        status,
        durationMs: clock.now() - started,
      }));
    }

    const retryable = response
      ? !NEVER_RETRIED.has(response.status) && policy.retryOnStatus(response.status)
      : true;
    if (!retryable || attempt > policy.retries) {
      if (response) return response;
      throw failure as WifError;
    }
    const backoff = random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const retryAfter = response ? parseRetryAfter(response.headers["retry-after"], clock.now()) : undefined;
    const delay = retryAfter === undefined ? backoff : Math.max(retryAfter, backoff);
    if (clock.now() + delay >= deadline) {
      if (response) return response;
      throw failure as WifError;
    }
    const reason = response ? `HTTP ${response.status}` : (failure as WifError).code;
    publishTrace(() => ({ ...trace, phase: "retry", attempt, reason, delayMs: delay }));
    try {
      await sleep(delay, init.signal);
    } catch (error) {
      throw aborted(operation, where, init.signal?.reason ?? error);
    }
  }
}

const TIMED_OUT = Symbol("timed out");
// The reason the attempt's own timer is cancelled with once the attempt settles. A constant: aborting without
// a reason builds a DOMException (and its stack) on every request.
const SETTLED = Symbol("settled");

/**
 * Runs one attempt with a signal that aborts on the caller's signal or after `timeoutMs`. The timer is our
 * own sleep, held until the attempt settles: `AbortSignal.any([signal, AbortSignal.timeout(ms)])` can lose
 * its timeout to garbage collection on Node 20 (nodejs/node#57736), and then nothing bounds the attempt.
 * The attempt is also raced against the timer and the caller's abort, so a transport that ignores its
 * signal cannot outlive either.
 */
async function attemptOnce(
  send: (signal: AbortSignal) => Promise<HttpResponse>,
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
  sleep: Sleep,
): Promise<HttpResponse> {
  const controller = new AbortController();
  let stop: (reason: unknown) => void = () => {};
  const stopped = new Promise<never>((_, reject) => {
    stop = (reason) => {
      controller.abort(reason);
      reject(reason);
    };
  });
  stopped.catch(() => {});
  const onCallerAbort = () => stop(callerSignal?.reason);
  callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  // The default sleep is a plain timer, cancelled directly: the seam's way (an AbortController and its
  // signal per attempt) costs more than the rest of this function on every request.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerDone: AbortController | undefined;
  if (sleep === systemSleep) {
    timer = setTimeout(() => stop(TIMED_OUT), timeoutMs);
  } else {
    timerDone = new AbortController();
    sleep(timeoutMs, timerDone.signal).then(
      () => stop(TIMED_OUT),
      () => {},
    );
  }
  try {
    return await Promise.race([send(controller.signal), stopped]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    timerDone?.abort(SETTLED);
    callerSignal?.removeEventListener("abort", onCallerAbort);
  }
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === "") return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Parses a JSON response body, or throws `ERR_WIF_RESPONSE_INVALID` naming the operation (never the body). */
export function parseJsonBody(response: HttpResponse, operation: string, url: string | URL): unknown {
  try {
    return JSON.parse(response.body.toString("utf8"));
  } catch (cause) {
    throw new WifError(
      `${operation} at ${describeUrl(url)} answered HTTP ${response.status} with a body that is not JSON.`,
      { code: HTTP_ERROR_CODES.responseInvalid, status: response.status, url: describeUrl(url), cause },
    );
  }
}

function aborted(operation: string, where: string, reason: unknown): WifError {
  return abortedError(`${operation} at ${where}`, reason);
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
  where: string,
  url: string,
  timeoutMs: number,
): WifError {
  if (error === TIMED_OUT) {
    return new WifError(`${operation} at ${where} timed out after ${timeoutMs} ms.`, {
      code: HTTP_ERROR_CODES.timeout,
      url,
      retryable: true,
    });
  }
  if (error instanceof WifError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return new WifError(`${operation} at ${where} failed: ${detail}.`, {
    code: HTTP_ERROR_CODES.network,
    url,
    retryable:
      code === undefined || RETRYABLE_NETWORK_CODES.has(code) || /socket hang up/i.test(String(detail)),
    cause: error,
  });
}
