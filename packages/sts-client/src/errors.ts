import { redactSecrets, type SubjectTokenType, WifError, type WifErrorOptions } from "@wifkit/core";
import { describeUrl, disabledService, type HttpResponse, readGoogleError } from "@wifkit/http";

/**
 * The codes an `StsError` carries; callers switch on `error.code`. Timeouts, network failures, aborts and
 * oversized responses keep the codes of `@wifkit/core` (`ERR_WIF_TIMEOUT`, `ERR_WIF_NETWORK`,
 * `ERR_WIF_ABORTED`, `ERR_WIF_RESPONSE_TOO_LARGE`) and are plain `WifError`s.
 */
export const STS_ERROR_CODES = Object.freeze({
  /** STS refused the request as malformed: audience, scope, token type or mapped-attribute limits. */
  badRequest: "ERR_WIF_STS_BAD_REQUEST",
  /** `unauthorized_client`: the provider's attribute condition rejected the credential. */
  rejectedByCondition: "ERR_WIF_STS_REJECTED_BY_CONDITION",
  /** `invalid_grant` on a token exchange: the subject token is invalid, expired or its issuer unreachable. */
  invalidSubjectToken: "ERR_WIF_STS_INVALID_SUBJECT_TOKEN",
  /** `invalid_grant` on a refresh: the refresh token is expired or revoked. */
  invalidRefreshToken: "ERR_WIF_STS_INVALID_REFRESH_TOKEN",
  /** `invalid_client`: the client ID or secret was not accepted. */
  invalidClient: "ERR_WIF_STS_INVALID_CLIENT",
  /** HTTP 429 after the retry budget was spent. */
  throttled: "ERR_WIF_STS_THROTTLED",
  /** HTTP 408 or 5xx after the retry budget was spent. */
  unavailable: "ERR_WIF_STS_UNAVAILABLE",
  /** A success status with a body that is not a usable token response. */
  responseInvalid: "ERR_WIF_STS_RESPONSE_INVALID",
  /** A 3xx: STS never redirects, so the URL is not STS (often a proxy's or a portal's login page). */
  redirected: "ERR_WIF_STS_REDIRECTED",
  /**
   * 403 `SERVICE_DISABLED`: the Security Token Service API is not enabled in the pool's project. `fix` is
   * the `gcloud services enable` command for that project.
   */
  serviceDisabled: "ERR_WIF_SERVICE_DISABLED",
  /** An option failed validation before any request was sent: @wifkit/core's `invalidOption`, naming it in `field`. */
  invalidOption: "ERR_WIF_INVALID_OPTION",
} as const);

export type StsErrorCode = (typeof STS_ERROR_CODES)[keyof typeof STS_ERROR_CODES];

/**
 * A failure reported by (or about) Google's Security Token Service. `status`, `upstreamError` (the OAuth
 * `error`) and `upstreamDescription` (`error_description`) say what STS answered; the message adds what to
 * check. Neither ever contains the subject token, an access or refresh token, or a client secret.
 */
export class StsError extends WifError {
  override name = "StsError";
  declare readonly code: StsErrorCode;
  /** `ErrorInfo.reason` of a Google API error, e.g. `SERVICE_DISABLED`. */
  readonly reason: string | undefined;
  /** The one command that fixes it, when it is known exactly (e.g. `gcloud services enable ...`). */
  readonly fix: string | undefined;

  constructor(message: string, options: StsErrorOptions) {
    super(message, options);
    this.reason = options.reason;
    this.fix = options.fix;
  }
}

export interface StsErrorOptions extends WifErrorOptions {
  code: StsErrorCode;
  reason?: string | undefined;
  fix?: string | undefined;
}

/** Which call failed, for messages and for choosing the hints that apply. */
export interface StsCallContext {
  operation: string;
  url: string;
  kind: "exchange" | "refresh" | "introspect";
  audience?: string | undefined;
  subjectTokenType?: SubjectTokenType | string | undefined;
  /** Values that must never appear in a message: removed from anything echoed from upstream. */
  secrets: ReadonlyArray<string | undefined>;
}

/** The parts of a provider's audience, `//iam.googleapis.com/projects/N/locations/L/workloadIdentityPools/P/providers/X`. */
function providerOf(audience: string | undefined) {
  const match =
    /^\/\/iam\.[^/]+\/projects\/([^/]+)\/locations\/([^/]+)\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/.exec(
      audience ?? "",
    );
  return match ? { project: match[1], location: match[2], pool: match[3], provider: match[4] } : undefined;
}

/**
 * `gcloud iam workload-identity-pools providers describe` for the audience's provider, by its full name: the
 * audience has the project number, which gcloud refuses in `--project` but takes in a resource name.
 */
function describeCommand(audience: string | undefined): string {
  const ref = providerOf(audience);
  return ref
    ? `gcloud iam workload-identity-pools providers describe projects/${ref.project}/locations/${ref.location}/workloadIdentityPools/${ref.pool}/providers/${ref.provider}`
    : "gcloud iam workload-identity-pools providers describe PROVIDER_ID --workload-identity-pool=POOL_ID --location=global";
}

const PROVIDER_NAME_FORM =
  "//iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/providers/PROVIDER_ID";

function subjectTokenHint(type: string | undefined): string {
  switch (type) {
    case "urn:ietf:params:aws:token-type:aws4_request":
      return (
        "Check the signed GetCallerIdentity request: the AWS credentials must be valid and unexpired, the region must " +
        "match regional_cred_verification_url, the x-goog-cloud-target-resource header must equal the audience, and " +
        "this machine's clock must be within 5 minutes of AWS's (SigV4 signatures expire)."
      );
    case "urn:ietf:params:oauth:token-type:saml2":
      return (
        "Check the SAML assertion: its signature must verify against the provider's IdP metadata, and it must " +
        "be within its validity window."
      );
    case "urn:ietf:params:oauth:token-type:mtls":
      return (
        "Check the client certificate: it must chain to a trust anchor in the pool's trust store and be " +
        "within its validity period."
      );
    default:
      return (
        "Check the subject token: it must not be expired, its `iss` must equal the provider's issuer URI (whose " +
        "/.well-known/openid-configuration and JWKS must be reachable by Google, or uploaded as the provider's " +
        "JWKS), and its `aud` must be one of the provider's allowed audiences (by default " +
        "https://iam.googleapis.com/ followed by the provider's resource name)."
      );
  }
}

function hintFor(
  code: StsErrorCode,
  oauthError: string | undefined,
  description: string,
  ctx: StsCallContext,
) {
  switch (code) {
    case STS_ERROR_CODES.rejectedByCondition:
      return (
        "The workload identity provider's attribute condition rejected this credential. Compare the token's " +
        `claims (after attribute mapping) with the provider's attributeCondition (\`${describeCommand(ctx.audience)}\`; ` +
        "`wif doctor` evaluates it on this credential)."
      );
    case STS_ERROR_CODES.invalidSubjectToken:
      return subjectTokenHint(ctx.subjectTokenType);
    case STS_ERROR_CODES.invalidRefreshToken:
      return (
        "The refresh token is expired or was revoked. Sign in again (`gcloud auth login --login-config=...`) " +
        "to write a new external_account_authorized_user credential."
      );
    case STS_ERROR_CODES.invalidClient:
      return "Check client_id and client_secret in the credential configuration; STS did not accept them.";
    case STS_ERROR_CODES.throttled:
      return (
        "STS is throttling token requests. Cache tokens until shortly before they expire and share one refresh " +
        "between concurrent callers (see @wifkit/token-cache) instead of exchanging per request."
      );
    case STS_ERROR_CODES.unavailable:
      return "STS is unavailable or overloaded; the retry budget is spent. Try again later.";
    default:
      break;
  }
  if (oauthError === "invalid_target") {
    const ref = providerOf(ctx.audience);
    return (
      `${ref ? `Provider ${ref.provider} of pool ${ref.pool} in project ${ref.project}` : "The pool or provider named by the audience"} ` +
      "does not exist, is disabled or was deleted, or the project number is wrong. Check audience" +
      `${ctx.audience ? ` "${ctx.audience}"` : ""} against the provider: \`${describeCommand(ctx.audience)}\`.`
    );
  }
  if (oauthError === "invalid_request" && /audience/i.test(description)) {
    return (
      `The audience must be the provider's full resource name, ${PROVIDER_NAME_FORM} ` +
      `(or the workforce form //iam.googleapis.com/locations/global/workforcePools/POOL_ID/providers/PROVIDER_ID)` +
      `${ctx.audience ? `; got "${ctx.audience}"` : ""}.`
    );
  }
  if (/mapped attribute|exceeds|limit/i.test(description)) {
    return "An attribute mapping produced a value over Google's size limits (google.subject: 127 bytes); shorten the mapping.";
  }
  if (oauthError === "invalid_scope") return "Check the requested scopes.";
  if (oauthError === "unsupported_grant_type" || oauthError === "unsupported_token_type") {
    return "Check that the token URL is a Google STS endpoint and subject_token_type matches the credential source.";
  }
  return "Check the request's audience, subject_token_type and scopes against the workload identity provider.";
}

function codeFor(status: number, oauthError: string | undefined, kind: StsCallContext["kind"]): StsErrorCode {
  if (status === 429 || oauthError === "RESOURCE_EXHAUSTED") return STS_ERROR_CODES.throttled;
  if (status === 408 || status >= 500) return STS_ERROR_CODES.unavailable;
  if (oauthError === "unauthorized_client" && kind === "exchange") return STS_ERROR_CODES.rejectedByCondition;
  if (oauthError === "invalid_grant") {
    return kind === "refresh" ? STS_ERROR_CODES.invalidRefreshToken : STS_ERROR_CODES.invalidSubjectToken;
  }
  if (oauthError === "invalid_client" || (oauthError === "unauthorized_client" && kind !== "exchange")) {
    return STS_ERROR_CODES.invalidClient;
  }
  return STS_ERROR_CODES.badRequest;
}

/** Turns a non-2xx STS response into an `StsError` with a code, the upstream error and what to check. */
export function stsErrorFromResponse(response: HttpResponse, ctx: StsCallContext): StsError {
  if (response.status >= 300 && response.status < 400) return redirectError(response, ctx);
  const body = readGoogleError(response);
  const description = body.message === undefined ? undefined : redactSecrets(body.message, ctx.secrets);
  const oauthError = body.error === undefined ? undefined : redactSecrets(body.error, ctx.secrets);
  const disabled = disabledService(body);
  if (disabled) return serviceDisabledError(disabled, response.status, oauthError, description, ctx);
  const code = codeFor(response.status, oauthError, ctx.kind);
  const answered = [`HTTP ${response.status}`, oauthError, description ? `"${description}"` : undefined]
    .filter(Boolean)
    .join(" ");
  const hint = hintFor(code, oauthError, description ?? "", ctx);
  return new StsError(`${ctx.operation} at ${ctx.url} failed: ${answered}. ${hint}`, {
    code,
    status: response.status,
    upstreamError: oauthError,
    upstreamDescription: description,
    url: ctx.url,
    retryable: code === STS_ERROR_CODES.throttled || code === STS_ERROR_CODES.unavailable,
  });
}

/**
 * A 403 whose ErrorInfo says the API is not enabled: not a refusal of this credential, so none of the
 * audience or token hints apply; the message names the API and the project and gives the command.
 */
function serviceDisabledError(
  disabled: NonNullable<ReturnType<typeof disabledService>>,
  status: number,
  oauthError: string | undefined,
  description: string | undefined,
  ctx: StsCallContext,
): StsError {
  return new StsError(
    `${ctx.operation} at ${ctx.url} failed: HTTP ${status} SERVICE_DISABLED: the ${disabled.title} ` +
      `(${disabled.service}) is not enabled in project ${disabled.project ?? "of the pool"}. Enable it: ` +
      `${disabled.command} (it takes a few minutes to apply).`,
    {
      code: STS_ERROR_CODES.serviceDisabled,
      status,
      upstreamError: oauthError,
      upstreamDescription: description,
      url: ctx.url,
      reason: "SERVICE_DISABLED",
      fix: disabled.command,
    },
  );
}

/** The configuration field that holds the URL of this kind of call. */
const URL_FIELD: Record<StsCallContext["kind"], string> = {
  exchange: "token_url",
  refresh: "token_url",
  introspect: "token_info_url",
};

/**
 * STS never redirects; a 3xx means the URL reaches something else (a captive portal, an SSO proxy, a typo'd
 * host). Said so, with where it pointed (no query string: a login page's may carry anything), instead of a
 * hint about the audience that cannot help.
 */
function redirectError(response: HttpResponse, ctx: StsCallContext): StsError {
  const target = redirectTarget(response.headers.location, ctx);
  const field = URL_FIELD[ctx.kind];
  return new StsError(
    `${ctx.operation} at ${ctx.url}: STS answered a redirect (HTTP ${response.status})` +
      `${target ? ` to ${target}` : " without a Location"}; check ${field}: it must be the Google STS endpoint itself.`,
    { code: STS_ERROR_CODES.redirected, status: response.status, url: ctx.url },
  );
}

function redirectTarget(location: string | undefined, ctx: StsCallContext): string | undefined {
  if (location === undefined || location === "") return undefined;
  try {
    return redactSecrets(describeUrl(new URL(location, ctx.url)), ctx.secrets);
  } catch {
    return "an invalid URL";
  }
}

/**
 * A success status whose body is not what the operation promises. No cause is attached: the parser's own
 * message quotes the body, which may hold a token.
 */
export function invalidResponse(ctx: StsCallContext, status: number, problem: string): StsError {
  return new StsError(
    `${ctx.operation} at ${ctx.url} answered HTTP ${status} but ${problem}. Check that the URL is a Google STS endpoint.`,
    { code: STS_ERROR_CODES.responseInvalid, status, url: ctx.url },
  );
}
