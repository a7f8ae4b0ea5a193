import { type Clock, type Sleep, tokenValueProblem } from "@wifkit/core";
import { type HttpTransport, httpRequest, type RetryPolicy, type TlsClientOptions } from "@wifkit/http";
import { invalidResponse, type StsCallContext, stsErrorFromResponse } from "./errors.js";

/** Options every STS call accepts: the HTTP edges, cancellation, timeouts and retries. */
export interface StsCallOptions {
  /** Extra request headers, e.g. `x-goog-api-client` metrics. Cannot override content type or client auth. */
  headers?: Record<string, string> | undefined;
  /** Client certificate and key for mutual TLS (the X.509 source and the `sts.mtls.` endpoint). */
  tls?: TlsClientOptions | undefined;
  /** The network edge; defaults to @wifkit/core's node:http(s) transport with keep-alive pools. */
  transport?: HttpTransport | undefined;
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout in milliseconds. Default `DEFAULT_TIMEOUT_MS` of @wifkit/core (10 s). */
  timeoutMs?: number | undefined;
  /**
   * Retry policy overrides, or `false` for one attempt. Default: @wifkit/core's `DEFAULT_RETRY_POLICY`
   * (3 retries on 408, 429, 5xx, resets and timeouts, full jitter, `Retry-After` honoured, 30 s in all).
   * 400, 401 and 403 are never retried whatever `retryOnStatus` says: the same request cannot succeed.
   */
  retry?: Partial<RetryPolicy> | false | undefined;
  /** Where `expiresAt` and the retry budget are computed from. Default the system clock. */
  clock?: Clock | undefined;
  /** Timer seam for attempt timeouts and retry waits (tests pass virtual time). Default real timers. */
  sleep?: Sleep | undefined;
}

function mergeHeaders(extra: Record<string, string> | undefined, own: Record<string, string>) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(extra ?? {})) headers[name.toLowerCase()] = value;
  return Object.assign(headers, own);
}

/**
 * POSTs a form to STS through @wifkit/core's HTTP layer, maps any non-2xx answer to an `StsError` and
 * returns the parsed JSON object of a success.
 */
export async function postForm(
  url: URL,
  form: URLSearchParams,
  ownHeaders: Record<string, string>,
  options: StsCallOptions,
  ctx: StsCallContext,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await httpRequest({
    url,
    method: "POST",
    headers: mergeHeaders(options.headers, {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
      ...ownHeaders,
    }),
    body: form.toString(),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    operation: ctx.operation,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.transport === undefined ? {} : { transport: options.transport }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
  });
  if (response.status < 200 || response.status >= 300) throw stsErrorFromResponse(response, ctx);
  let json: unknown;
  try {
    json = JSON.parse(response.body.toString("utf8"));
  } catch {
    throw invalidResponse(ctx, response.status, "the body is not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalidResponse(ctx, response.status, "the body is not a JSON object");
  }
  return { status: response.status, json: json as Record<string, unknown> };
}

/**
 * Lifetime assumed when STS omits `expires_in` (it always sends it today). Short on purpose: an unknown
 * lifetime must lead to an early refresh, never to a token treated as everlasting.
 */
export const DEFAULT_EXPIRES_IN_SECONDS = 300;
/**
 * The longest `expires_in` believed: 12 hours, the longest session Google grants (workforce pools; workload
 * identity federated tokens last one hour). A larger value is capped to this, never refused: the token is
 * fine, it is only refreshed sooner than upstream claims.
 */
export const MAX_EXPIRES_IN_SECONDS = 43_200;

/** Checks a token value STS returned; the message names the field, never the value. */
export function tokenValue(
  json: Record<string, unknown>,
  field: string,
  status: number,
  ctx: StsCallContext,
): string {
  const value = json[field];
  const problem = tokenValueProblem(value, field);
  if (problem) throw invalidResponse(ctx, status, problem);
  return value as string;
}

export interface ParsedTokenResponse {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  expiresAt: Date;
}

/**
 * Reads `access_token` (visible ASCII only), `token_type` and `expires_in` (a number or a numeric string;
 * missing means `DEFAULT_EXPIRES_IN_SECONDS`; zero, negative or not a number is refused; more than
 * `MAX_EXPIRES_IN_SECONDS` is capped). `startedAt` is when the request was sent, so `expiresAt` errs early;
 * `expires_in` is relative, so a skewed local clock does not stretch it.
 */
export function parseTokenResponse(
  json: Record<string, unknown>,
  status: number,
  startedAt: number,
  ctx: StsCallContext,
): ParsedTokenResponse {
  const accessToken = tokenValue(json, "access_token", status, ctx);
  const rawExpiresIn = json.expires_in;
  let expiresIn: number;
  if (rawExpiresIn === undefined || rawExpiresIn === null) {
    expiresIn = DEFAULT_EXPIRES_IN_SECONDS;
  } else {
    expiresIn =
      typeof rawExpiresIn === "number"
        ? rawExpiresIn
        : typeof rawExpiresIn === "string" && /^\s*\d+(\.\d+)?\s*$/.test(rawExpiresIn)
          ? Number(rawExpiresIn)
          : Number.NaN;
    if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw invalidResponse(ctx, status, "its expires_in is not a positive number of seconds");
    }
    expiresIn = Math.min(expiresIn, MAX_EXPIRES_IN_SECONDS);
  }
  const tokenType =
    typeof json.token_type === "string" && json.token_type !== ""
      ? tokenValue(json, "token_type", status, ctx)
      : "Bearer";
  return {
    accessToken,
    tokenType,
    expiresIn,
    expiresAt: new Date(startedAt + Math.floor(expiresIn * 1000)),
  };
}

/** `Authorization: Basic base64(id:secret)`, as every Google client library sends it. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`, "utf8").toString("base64")}`;
}
