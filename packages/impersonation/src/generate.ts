import {
  type Clock,
  decodeJwt,
  invalidOption,
  nonEmptyStringOption,
  type Sleep,
  systemClock,
  tokenValueProblem,
} from "@wifkit/core";
import { describeUrl, type HttpTransport, httpRequest, type RetryPolicy } from "@wifkit/http";
import { type IamCallContext, iamErrorFromResponse, invalidResponse } from "./errors.js";
import {
  baseUrlOption,
  delegatesOption,
  lifetimeOption,
  scopesOption,
  serviceAccountOption,
} from "./options.js";

/** Options both IAM Credentials calls accept. */
export interface ImpersonationCallOptions {
  /** The service account to impersonate: `name@project.iam.gserviceaccount.com`. */
  serviceAccount: string;
  /** The caller's access token: the federated token from Google STS. */
  bearer: string;
  /**
   * Service accounts between the caller and `serviceAccount`, in order (emails or
   * `projects/-/serviceAccounts/EMAIL`). Each needs `roles/iam.serviceAccountTokenCreator` on the next.
   */
  delegates?: readonly string[] | undefined;
  /** Default `googleapis.com`; IAM Credentials is then `https://iamcredentials.{universeDomain}`. */
  universeDomain?: string | undefined;
  /** IAM Credentials base URL, e.g. from `parseImpersonationUrl`; overrides `universeDomain`. */
  baseUrl?: string | undefined;
  /**
   * Who the caller is, only for error messages: the `principal://` or `principalSet://` identifier that needs
   * `roles/iam.workloadIdentityUser` when IAM says no. Without it a 403 speaks of "the federated principal".
   */
  principal?: string | undefined;
  /**
   * Only for error messages, when `principal` is not given: the provider's audience the bearer came from
   * (`//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`). A 403 then names
   * project N and pool P, and its binding command grants `principal://.../subject/SUBJECT` when `subject` is
   * given, else `principalSet://.../*`.
   */
  audience?: string | undefined;
  /** Only for error messages: the federated subject (`google.subject` as the provider maps it). */
  subject?: string | undefined;
  /** Extra request headers, e.g. `x-goog-api-client`. Cannot override authorization or content type. */
  headers?: Record<string, string> | undefined;
  /** The network edge; defaults to @wifkit/core's node:http(s) transport with keep-alive pools. */
  transport?: HttpTransport | undefined;
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout in milliseconds. Default `DEFAULT_TIMEOUT_MS` of @wifkit/core (10 s). */
  timeoutMs?: number | undefined;
  /**
   * Retry policy overrides, or `false` for one attempt. Default @wifkit/core's `DEFAULT_RETRY_POLICY`
   * (408, 429, 5xx, resets and timeouts; full jitter; `Retry-After`). 400, 401 and 403 are never retried.
   */
  retry?: Partial<RetryPolicy> | false | undefined;
  /**
   * This machine's clock, from which `expiresAt` is computed: IAM's absolute expiry is moved onto it using the
   * response's `Date` (so a clock hours off neither stretches nor shortens a token), and capped at the
   * request's start plus the lifetime. Default the system clock.
   */
  clock?: Clock | undefined;
  /** Timer seam for attempt timeouts and retry waits (tests pass virtual time). Default real timers. */
  sleep?: Sleep | undefined;
}

export interface GenerateAccessTokenInit extends ImpersonationCallOptions {
  /** OAuth scopes of the service account token; at least one. */
  scopes: readonly string[];
  /** Token lifetime, 600 to 43200 s. Default `DEFAULT_LIFETIME_SECONDS` (3600). Over 3600 needs an org policy. */
  lifetimeSeconds?: number | undefined;
}

export interface GenerateIdTokenInit extends ImpersonationCallOptions {
  /** The `aud` of the ID token: the URL of the Cloud Run service, the IAP client ID... */
  audience: string;
  /** Include `email` and `email_verified` claims. Default false. */
  includeEmail?: boolean | undefined;
}

export interface GeneratedAccessToken {
  accessToken: string;
  /**
   * When the token expires on this machine's clock: IAM's `expireTime` corrected by the clock difference the
   * response's `Date` shows, and never later than the request's start plus the requested lifetime.
   */
  expiresAt: Date;
}

export interface GeneratedIdToken {
  idToken: string;
  /**
   * When the token expires on this machine's clock: its `exp` claim (read, not verified: the token comes
   * straight from Google over TLS) corrected by the response's `Date`, and never later than the request's
   * start plus the token's own lifetime (`exp - iat`, at most `MAX_ID_TOKEN_LIFETIME_SECONDS`).
   */
  expiresAt: Date;
}

/** The longest an ID token is believed to live: Google's last one hour. */
export const MAX_ID_TOKEN_LIFETIME_SECONDS = 3600;

interface PreparedCall {
  url: string;
  bearer: string;
  ctx: IamCallContext;
}

function prepare(
  init: ImpersonationCallOptions,
  method: IamCallContext["method"],
  lifetimeSeconds?: number,
): PreparedCall {
  const serviceAccount = serviceAccountOption("serviceAccount", init.serviceAccount);
  const bearer = nonEmptyStringOption("bearer", init.bearer);
  const delegates = delegatesOption(init.delegates);
  const base = baseUrlOption(init.baseUrl, init.universeDomain);
  if (init.principal !== undefined) nonEmptyStringOption("principal", init.principal);
  const url = `${base}/v1/projects/-/serviceAccounts/${serviceAccount}:${method}`;
  return {
    url,
    bearer,
    ctx: {
      method,
      url: describeUrl(url),
      serviceAccount,
      delegates,
      principal: init.principal,
      audience: init.audience,
      subject: init.subject,
      lifetimeSeconds,
      secrets: [bearer],
    },
  };
}

async function postJson(
  call: PreparedCall,
  body: Record<string, unknown>,
  init: ImpersonationCallOptions,
): Promise<{ status: number; json: Record<string, unknown>; serverDateMs: number | undefined }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  Object.assign(headers, {
    authorization: `Bearer ${call.bearer}`,
    "content-type": "application/json",
    accept: "application/json",
  });
  const response = await httpRequest({
    url: call.url,
    method: "POST",
    headers,
    body: JSON.stringify(body),
    ...(init.retry === undefined ? {} : { retry: init.retry }),
    operation: `IAM Credentials ${call.ctx.method}`,
    ...(init.timeoutMs === undefined ? {} : { timeoutMs: init.timeoutMs }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
    ...(init.transport === undefined ? {} : { transport: init.transport }),
    ...(init.clock === undefined ? {} : { clock: init.clock }),
    ...(init.sleep === undefined ? {} : { sleep: init.sleep }),
  });
  if (response.status < 200 || response.status >= 300) throw iamErrorFromResponse(response, call.ctx);
  let json: unknown;
  try {
    json = JSON.parse(response.body.toString("utf8"));
  } catch {
    throw invalidResponse(call.ctx, response.status, "the body is not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalidResponse(call.ctx, response.status, "the body is not a JSON object");
  }
  const serverDateMs = response.headers.date ? Date.parse(response.headers.date) : Number.NaN;
  return {
    status: response.status,
    json: json as Record<string, unknown>,
    serverDateMs: Number.isNaN(serverDateMs) ? undefined : serverDateMs,
  };
}

/** A token value from the response: present, and visible ASCII only. The message names the field, never the value. */
function tokenField(
  json: Record<string, unknown>,
  field: string,
  status: number,
  ctx: IamCallContext,
): string {
  const value = json[field];
  const problem = tokenValueProblem(value, field);
  if (problem) throw invalidResponse(ctx, status, problem);
  return value as string;
}

/**
 * Below this difference between the server's time and ours, the clocks are taken to agree: it is the
 * one-second resolution of `Date` and `iat` plus the network, and correcting it would only add noise.
 */
const SKEW_TOLERANCE_MS = 5_000;
/** `expireTime`, `Date`, `iat` and `exp` are whole seconds: the cap allows for that much. */
const TIME_RESOLUTION_MS = 1_000;

/**
 * Moves upstream's absolute expiry onto this machine's clock. `serverNowMs` (the `Date` header, or an ID
 * token's `iat`) says what time the server thought it was while answering, so `expiry - serverNow` is the
 * time left whatever either clock says; counted from the request's start it errs early. Without it the
 * absolute time is all there is. Either way no token outlives `startedAt + maxLifetimeMs` (plus the
 * resolution of the times): a clock hours behind must not keep a token hours past its end.
 */
function localExpiry(
  upstreamExpiryMs: number,
  serverNowMs: number | undefined,
  startedAt: number,
  maxLifetimeMs: number,
): Date {
  const skewed = serverNowMs !== undefined && Math.abs(serverNowMs - startedAt) > SKEW_TOLERANCE_MS;
  const corrected = skewed ? startedAt + (upstreamExpiryMs - serverNowMs) : upstreamExpiryMs;
  return new Date(Math.min(corrected, startedAt + maxLifetimeMs + TIME_RESOLUTION_MS));
}

// RFC 3339 as IAM writes it; fractional seconds optional (Google emits both forms).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Mints an OAuth access token for a service account with IAM Credentials `generateAccessToken`, using the
 * federated token from STS as the bearer. Inputs are validated before any request; transient failures are
 * retried with backoff and jitter; a 403 throws `ERR_WIF_IAM_PERMISSION_DENIED` naming the principal that
 * needs `roles/iam.workloadIdentityUser` on the service account.
 *
 * @example
 * const { accessToken, expiresAt } = await generateAccessToken({
 *   serviceAccount: "reader@my-project.iam.gserviceaccount.com",
 *   bearer: federated.accessToken,
 *   scopes: ["https://www.googleapis.com/auth/cloud-platform"],
 * });
 */
export async function generateAccessToken(init: GenerateAccessTokenInit): Promise<GeneratedAccessToken> {
  const scopes = scopesOption(init.scopes);
  const lifetimeSeconds = lifetimeOption(init.lifetimeSeconds);
  const call = prepare(init, "generateAccessToken", lifetimeSeconds);
  const body: Record<string, unknown> = { scope: scopes, lifetime: `${lifetimeSeconds}s` };
  if (call.ctx.delegates.length > 0) body.delegates = call.ctx.delegates;
  const startedAt = (init.clock ?? systemClock).now();
  const { status, json, serverDateMs } = await postJson(call, body, init);
  const accessToken = tokenField(json, "accessToken", status, call.ctx);
  const expireTime = json.expireTime;
  const expireTimeMs =
    typeof expireTime === "string" && RFC3339.test(expireTime) ? Date.parse(expireTime) : Number.NaN;
  if (Number.isNaN(expireTimeMs)) {
    throw invalidResponse(call.ctx, status, "its expireTime is not an RFC 3339 timestamp");
  }
  return {
    accessToken,
    expiresAt: localExpiry(expireTimeMs, serverDateMs, startedAt, lifetimeSeconds * 1000),
  };
}

/**
 * Mints a Google-signed OIDC ID token for a service account with IAM Credentials `generateIdToken` (what
 * Cloud Run, Cloud Functions and IAP expect), using the federated token from STS as the bearer. The expiry
 * is the token's `exp` claim.
 *
 * @example
 * const { idToken } = await generateIdToken({
 *   serviceAccount: "invoker@my-project.iam.gserviceaccount.com",
 *   bearer: federated.accessToken,
 *   audience: "https://my-service-abc123-uc.a.run.app",
 *   includeEmail: true,
 * });
 */
export async function generateIdToken(init: GenerateIdTokenInit): Promise<GeneratedIdToken> {
  const audience = nonEmptyStringOption("audience", init.audience);
  if (init.includeEmail !== undefined && typeof init.includeEmail !== "boolean") {
    throw invalidOption("includeEmail", "must be a boolean.");
  }
  const call = prepare(init, "generateIdToken");
  const body: Record<string, unknown> = { audience, includeEmail: init.includeEmail ?? false };
  if (call.ctx.delegates.length > 0) body.delegates = call.ctx.delegates;
  const startedAt = (init.clock ?? systemClock).now();
  const { status, json, serverDateMs } = await postJson(call, body, init);
  const idToken = tokenField(json, "token", status, call.ctx);
  const times = readTimes(idToken);
  if (times === undefined) {
    throw invalidResponse(call.ctx, status, "its token is not a JWT with a numeric exp claim");
  }
  const lifetimeSeconds = Math.min(
    MAX_ID_TOKEN_LIFETIME_SECONDS,
    times.iat === undefined ? MAX_ID_TOKEN_LIFETIME_SECONDS : times.exp - times.iat,
  );
  if (lifetimeSeconds <= 0) {
    throw invalidResponse(call.ctx, status, "its token's exp is not after its iat");
  }
  // Without a Date header, the token's own iat is the server's reading of "now".
  const serverNowMs = serverDateMs ?? (times.iat === undefined ? undefined : times.iat * 1000);
  return {
    idToken,
    expiresAt: localExpiry(times.exp * 1000, serverNowMs, startedAt, lifetimeSeconds * 1000),
  };
}

/** The `exp` and `iat` claims of a compact JWS, decoded without verifying the signature. */
function readTimes(jwt: string): { exp: number; iat: number | undefined } | undefined {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(jwt).claims;
  } catch {
    return undefined;
  }
  const seconds = (value: unknown) =>
    typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
  const exp = seconds(claims.exp);
  return exp === undefined ? undefined : { exp, iat: seconds(claims.iat) };
}
