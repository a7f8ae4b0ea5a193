import {
  httpUrlOption,
  invalidOption,
  nonEmptyStringOption,
  type SubjectTokenType,
  systemClock,
} from "@wifkit/core";
import { describeUrl } from "@wifkit/http";
import type { StsCallContext } from "./errors.js";
import {
  basicAuthorization,
  parseTokenResponse,
  postForm,
  type StsCallOptions,
  tokenValue,
} from "./request.js";

/** Google STS token endpoint (`token_url` when a configuration leaves it out). */
export const DEFAULT_TOKEN_URL = "https://sts.googleapis.com/v1/token";
/** The mutual-TLS STS endpoint used by X.509 (certificate) credential sources. */
export const DEFAULT_MTLS_TOKEN_URL = "https://sts.mtls.googleapis.com/v1/token";
/** Scopes requested when none are given. */
export const DEFAULT_SCOPES: readonly string[] = Object.freeze([
  "https://www.googleapis.com/auth/cloud-platform",
]);
/** RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";
/** The token type requested when none is given: an OAuth access token. */
export const DEFAULT_REQUESTED_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export interface ClientAuth {
  clientId: string;
  clientSecret: string;
}

export interface ExchangeTokenInit extends StsCallOptions {
  /**
   * The STS token endpoint (the configuration's `token_url`). Default `DEFAULT_TOKEN_URL`, or
   * `DEFAULT_MTLS_TOKEN_URL` when `tls` is given.
   */
  tokenUrl?: string | undefined;
  /** The provider's full resource name: `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`. */
  audience: string;
  /** The credential from the workload's platform (a JWT, a serialized signed AWS request, a SAML assertion...). */
  subjectToken: string;
  subjectTokenType: SubjectTokenType | string;
  /** OAuth scopes for the federated token. Default `DEFAULT_SCOPES` (cloud-platform). */
  scopes?: readonly string[] | undefined;
  /** Default `DEFAULT_REQUESTED_TOKEN_TYPE`. */
  requestedTokenType?: string | undefined;
  /**
   * Workforce pools only: the project billed for the exchange (`workforce_pool_user_project`). Sent as
   * `options={"userProject":...}`, and only without `clientAuth`, as Google's libraries do.
   */
  userProject?: string | undefined;
  /** The configuration's `client_id` / `client_secret`, sent as HTTP Basic authentication. */
  clientAuth?: ClientAuth | undefined;
}

export interface ExchangeTokenResult {
  accessToken: string;
  /** `issued_token_type`, e.g. `urn:ietf:params:oauth:token-type:access_token`. */
  issuedTokenType: string;
  /** `token_type`, normally `Bearer`. */
  tokenType: string;
  /** When the token expires, computed from `expires_in` and the time the request was sent. */
  expiresAt: Date;
  /** Lifetime in seconds as STS reported it (`DEFAULT_EXPIRES_IN_SECONDS` when it did not). */
  expiresIn: number;
}

/**
 * Exchanges a subject token for a Google federated access token at Google STS (RFC 8693, form-encoded, as
 * every Google client library sends it). Transient failures (408, 429, 5xx, resets, timeouts) are retried
 * with backoff and full jitter, honouring `Retry-After`; a rejection throws an `StsError` whose code says
 * which class of failure it is and whose message says what to check.
 *
 * @example
 * const { accessToken, expiresAt } = await exchangeToken({
 *   audience: "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/providers/oidc",
 *   subjectToken: await readFile("/var/run/secrets/token", "utf8"),
 *   subjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
 * });
 */
export async function exchangeToken(init: ExchangeTokenInit): Promise<ExchangeTokenResult> {
  const url = httpUrlOption(
    "tokenUrl",
    init.tokenUrl ?? (init.tls ? DEFAULT_MTLS_TOKEN_URL : DEFAULT_TOKEN_URL),
  );
  const audience = nonEmptyStringOption("audience", init.audience);
  const subjectToken = nonEmptyStringOption("subjectToken", init.subjectToken);
  const subjectTokenType = nonEmptyStringOption("subjectTokenType", init.subjectTokenType);
  const scopes = init.scopes ?? DEFAULT_SCOPES;
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    scopes.some((s) => typeof s !== "string" || s === "")
  ) {
    throw invalidOption("scopes", "must be a non-empty array of scope URLs.");
  }
  const clientAuth = init.clientAuth;
  if (clientAuth) {
    nonEmptyStringOption("clientAuth.clientId", clientAuth.clientId);
    nonEmptyStringOption("clientAuth.clientSecret", clientAuth.clientSecret);
  }

  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    audience,
    scope: scopes.join(" "),
    requested_token_type: init.requestedTokenType ?? DEFAULT_REQUESTED_TOKEN_TYPE,
    subject_token: subjectToken,
    subject_token_type: subjectTokenType,
  });
  if (init.userProject !== undefined && !clientAuth) {
    form.set(
      "options",
      JSON.stringify({ userProject: nonEmptyStringOption("userProject", init.userProject) }),
    );
  }
  const authorization = clientAuth
    ? basicAuthorization(clientAuth.clientId, clientAuth.clientSecret)
    : undefined;
  const ctx: StsCallContext = {
    operation: "Google STS token exchange",
    url: describeUrl(url),
    kind: "exchange",
    audience,
    subjectTokenType,
    secrets: [subjectToken, clientAuth?.clientSecret, authorization?.slice("Basic ".length)],
  };

  const clock = init.clock ?? systemClock;
  const startedAt = clock.now();
  const { status, json } = await postForm(url, form, authorization ? { authorization } : {}, init, ctx);
  const token = parseTokenResponse(json, status, startedAt, {
    ...ctx,
    secrets: [...ctx.secrets, typeof json.access_token === "string" ? json.access_token : undefined],
  });
  const issuedTokenType =
    json.issued_token_type === undefined || json.issued_token_type === null
      ? (init.requestedTokenType ?? DEFAULT_REQUESTED_TOKEN_TYPE)
      : tokenValue(json, "issued_token_type", status, ctx);
  return {
    accessToken: token.accessToken,
    issuedTokenType,
    tokenType: token.tokenType,
    expiresAt: token.expiresAt,
    expiresIn: token.expiresIn,
  };
}
