import { decodeJwt } from "@wifkit/core";
import { describeUrl, type HttpTransport, httpRequest, type RetryPolicy } from "@wifkit/http";
import { type IamCallContext, iamErrorFromResponse, invalidOption, invalidResponse } from "./errors.js";
import {
  baseUrlOption,
  delegatesOption,
  lifetimeOption,
  nonEmptyOption,
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
  expiresAt: Date;
}

export interface GeneratedIdToken {
  idToken: string;
  /** The token's `exp` claim (read, not verified: the token comes straight from Google over TLS). */
  expiresAt: Date;
}

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
  const bearer = nonEmptyOption("bearer", init.bearer);
  const delegates = delegatesOption(init.delegates);
  const base = baseUrlOption(init.baseUrl, init.universeDomain);
  if (init.principal !== undefined) nonEmptyOption("principal", init.principal);
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
      lifetimeSeconds,
      secrets: [bearer],
    },
  };
}

async function postJson(
  call: PreparedCall,
  body: Record<string, unknown>,
  init: ImpersonationCallOptions,
): Promise<{ status: number; json: Record<string, unknown> }> {
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
  });
  if (response.status < 200 || response.status >= 300) throw iamErrorFromResponse(response, call.ctx);
  let json: unknown;
  try {
    json = JSON.parse(response.body.toString("utf8"));
  } catch (cause) {
    throw invalidResponse(call.ctx, response.status, "the body is not JSON", cause);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalidResponse(call.ctx, response.status, "the body is not a JSON object");
  }
  return { status: response.status, json: json as Record<string, unknown> };
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
  const { status, json } = await postJson(call, body, init);
  const accessToken = json.accessToken;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw invalidResponse(call.ctx, status, "the response has no accessToken");
  }
  const expireTime = json.expireTime;
  const expiresAt =
    typeof expireTime === "string" && RFC3339.test(expireTime) ? new Date(expireTime) : undefined;
  if (!expiresAt || Number.isNaN(expiresAt.getTime())) {
    throw invalidResponse(call.ctx, status, "its expireTime is not an RFC 3339 timestamp");
  }
  return { accessToken, expiresAt };
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
  const audience = nonEmptyOption("audience", init.audience);
  if (init.includeEmail !== undefined && typeof init.includeEmail !== "boolean") {
    throw invalidOption("includeEmail", "expected a boolean");
  }
  const call = prepare(init, "generateIdToken");
  const body: Record<string, unknown> = { audience, includeEmail: init.includeEmail ?? false };
  if (call.ctx.delegates.length > 0) body.delegates = call.ctx.delegates;
  const { status, json } = await postJson(call, body, init);
  const idToken = json.token;
  if (typeof idToken !== "string" || idToken === "") {
    throw invalidResponse(call.ctx, status, "the response has no token");
  }
  const exp = readExpiry(idToken);
  if (exp === undefined) {
    throw invalidResponse(call.ctx, status, "its token is not a JWT with a numeric exp claim");
  }
  return { idToken, expiresAt: new Date(exp * 1000) };
}

/** The `exp` claim of a compact JWS, decoded without verifying the signature. */
function readExpiry(jwt: string): number | undefined {
  let exp: unknown;
  try {
    exp = decodeJwt(jwt).claims.exp;
  } catch {
    return undefined;
  }
  return typeof exp === "number" && Number.isFinite(exp) && exp > 0 ? exp : undefined;
}
