import { redactSecrets, WifError, type WifErrorOptions } from "@wifkit/core";
import {
  type DisabledService,
  describeUrl,
  disabledService,
  type HttpResponse,
  readGoogleError,
} from "@wifkit/http";

/**
 * The codes an `ImpersonationError` carries; callers switch on `error.code`. Timeouts, network failures,
 * aborts and oversized responses keep the codes of `@wifkit/core` (`ERR_WIF_TIMEOUT`, `ERR_WIF_NETWORK`,
 * `ERR_WIF_ABORTED`, `ERR_WIF_RESPONSE_TOO_LARGE`).
 */
export const IAM_ERROR_CODES = Object.freeze({
  /** 403: the caller may not impersonate the service account (or it does not exist). */
  permissionDenied: "ERR_WIF_IAM_PERMISSION_DENIED",
  /**
   * 403 `SERVICE_DISABLED`: the IAM Service Account Credentials API is not enabled in the project Google
   * names. `fix` is the `gcloud services enable` command for that project.
   */
  serviceDisabled: "ERR_WIF_SERVICE_DISABLED",
  /** 401: the bearer token (the federated STS token) was not accepted. */
  unauthenticated: "ERR_WIF_IAM_UNAUTHENTICATED",
  /** 400 and other 4xx: the request itself was refused (lifetime, scopes, audience, delegates). */
  badRequest: "ERR_WIF_IAM_BAD_REQUEST",
  /** 404: the service account does not exist. */
  notFound: "ERR_WIF_IAM_NOT_FOUND",
  /** 429 after the retry budget was spent. */
  throttled: "ERR_WIF_IAM_THROTTLED",
  /** 408 or 5xx after the retry budget was spent. */
  unavailable: "ERR_WIF_IAM_UNAVAILABLE",
  /** A success status with a body that is not a usable token response. */
  responseInvalid: "ERR_WIF_IAM_RESPONSE_INVALID",
  /** A 3xx: IAM Credentials never redirects, so the URL is not IAM Credentials (a login page, a proxy). */
  redirected: "ERR_WIF_IAM_REDIRECTED",
  /**
   * An option (or a configuration's impersonation URL) failed validation before any request was sent:
   * @wifkit/core's `invalidOption`, naming it in `field`.
   */
  invalidOption: "ERR_WIF_INVALID_OPTION",
} as const);

export type ImpersonationErrorCode = (typeof IAM_ERROR_CODES)[keyof typeof IAM_ERROR_CODES];

export interface ImpersonationErrorOptions extends WifErrorOptions {
  code: ImpersonationErrorCode;
  /** The IAM permission Google reported as missing, e.g. `iam.serviceAccounts.getAccessToken`. */
  permission?: string | undefined;
  /** `ErrorInfo.reason` from the Google API error, e.g. `IAM_PERMISSION_DENIED`. */
  reason?: string | undefined;
  /** The one command that fixes it, when it is known exactly. */
  fix?: string | undefined;
}

/**
 * A failure of an IAM Credentials call. `status`, `upstreamError` (Google's `status`, e.g.
 * `PERMISSION_DENIED`), `upstreamDescription` (Google's `message`), `permission` and `reason` say what IAM
 * answered; the message says what to change, and for a 403 names the binding that is missing. Never
 * contains the bearer token or the token minted.
 */
export class ImpersonationError extends WifError {
  override name = "ImpersonationError";
  declare readonly code: ImpersonationErrorCode;
  readonly permission: string | undefined;
  readonly reason: string | undefined;
  /**
   * The one command that fixes it, when it is known exactly: `gcloud services enable ...` for a disabled
   * API, `gcloud iam service-accounts add-iam-policy-binding ...` for a missing binding.
   */
  readonly fix: string | undefined;

  constructor(message: string, options: ImpersonationErrorOptions) {
    super(message, options);
    this.permission = options.permission;
    this.reason = options.reason;
    this.fix = options.fix;
  }
}

/** What was being done, for messages and hints. */
export interface IamCallContext {
  method: "generateAccessToken" | "generateIdToken";
  url: string;
  serviceAccount: string;
  delegates: readonly string[];
  principal: string | undefined;
  /** The provider's audience the bearer came from: gives the project number and pool of the principal. */
  audience?: string | undefined;
  /** The federated subject (`google.subject`), when the caller knows it. */
  subject?: string | undefined;
  lifetimeSeconds?: number | undefined;
  /** Values that must never appear in a message. */
  secrets: ReadonlyArray<string | undefined>;
}

interface GoogleApiError {
  status?: string;
  message?: string;
  reason?: string;
  permission?: string;
}

/** Google's error (`readGoogleError`) plus the IAM permission it names, in the ErrorInfo or the message. */
function readIamError(response: HttpResponse): {
  body: GoogleApiError;
  disabled: DisabledService | undefined;
} {
  const details = readGoogleError(response);
  const permission =
    details.metadata?.permission ?? /Permission '([\w.]+)' denied/.exec(details.message ?? "")?.[1];
  const body: GoogleApiError = {};
  if (details.error !== undefined) body.status = details.error;
  if (details.message !== undefined) body.message = details.message;
  if (details.reason !== undefined) body.reason = details.reason;
  if (permission !== undefined) body.permission = permission;
  return { body, disabled: disabledService(details) };
}

const POOL_AUDIENCE =
  /^\/\/iam\.[^/]+\/(projects\/[^/]+\/locations\/[^/]+\/workloadIdentityPools\/[^/]+)\/providers\/[^/]+$/;

/**
 * The member a binding for this caller names: the given principal; else, from the audience's project
 * number and pool, `principal://.../subject/SUBJECT` when the subject is known and `principalSet://.../*`
 * (every identity of the pool) when it is not; else undefined.
 */
function memberOf(ctx: IamCallContext): string | undefined {
  if (ctx.principal !== undefined) return ctx.principal;
  const pool = POOL_AUDIENCE.exec(ctx.audience ?? "")?.[1];
  if (pool === undefined) return undefined;
  return ctx.subject === undefined
    ? `principalSet://iam.googleapis.com/${pool}/*`
    : `principal://iam.googleapis.com/${pool}/subject/${ctx.subject}`;
}

const PLACEHOLDER_MEMBER =
  "principal://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/subject/SUBJECT";

/** The binding that lets the caller impersonate the first service account of the chain. */
function bindingCommand(ctx: IamCallContext): {
  command: string;
  member: string | undefined;
  account: string;
} {
  const member = memberOf(ctx);
  const first = ctx.delegates[0];
  const account = first === undefined ? ctx.serviceAccount : first.slice(first.lastIndexOf("/") + 1);
  return {
    command:
      `gcloud iam service-accounts add-iam-policy-binding ${account} --role=roles/iam.workloadIdentityUser ` +
      `--member="${member ?? PLACEHOLDER_MEMBER}"`,
    member,
    account,
  };
}

function permissionHint(ctx: IamCallContext): string {
  const { command, member, account } = bindingCommand(ctx);
  const who =
    member === undefined
      ? "the federated principal (principal://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/subject/SUBJECT, or a principalSet:// that contains it)"
      : member.endsWith("/*")
        ? `${member} (every identity of the pool; the subject is not known here: \`wif doctor\` shows the exact principal://.../subject/... to grant instead)`
        : member;
  let hint = `${who} needs roles/iam.workloadIdentityUser on service account ${account}: ${command}.`;
  if (ctx.delegates.length > 0) {
    const chain = [...ctx.delegates.map((d) => d.slice(d.lastIndexOf("/") + 1)), ctx.serviceAccount];
    hint += ` With delegates, each service account in ${chain.join(" -> ")} also needs roles/iam.serviceAccountTokenCreator on the next one.`;
  }
  return `${hint} Google reports the same error when the service account does not exist; check the email too.`;
}

function codeFor(status: number, googleStatus: string | undefined): ImpersonationErrorCode {
  if (status === 429 || googleStatus === "RESOURCE_EXHAUSTED") return IAM_ERROR_CODES.throttled;
  if (status === 408 || status >= 500) return IAM_ERROR_CODES.unavailable;
  if (status === 401 || googleStatus === "UNAUTHENTICATED") return IAM_ERROR_CODES.unauthenticated;
  if (status === 403 || googleStatus === "PERMISSION_DENIED") return IAM_ERROR_CODES.permissionDenied;
  if (status === 404 || googleStatus === "NOT_FOUND") return IAM_ERROR_CODES.notFound;
  return IAM_ERROR_CODES.badRequest;
}

function hintFor(code: ImpersonationErrorCode, description: string, ctx: IamCallContext): string {
  switch (code) {
    case IAM_ERROR_CODES.permissionDenied:
      return permissionHint(ctx);
    case IAM_ERROR_CODES.unauthenticated:
      return "The bearer token was not accepted: pass a current federated access token from Google STS (exchange again if it expired).";
    case IAM_ERROR_CODES.notFound:
      return `Service account ${ctx.serviceAccount} does not exist; check the email in service_account_impersonation_url.`;
    case IAM_ERROR_CODES.throttled:
      return "IAM Credentials is throttling; cache service account tokens until shortly before they expire (see @wifkit/token-cache).";
    case IAM_ERROR_CODES.unavailable:
      return "IAM Credentials is unavailable or overloaded; the retry budget is spent. Try again later.";
    default:
      break;
  }
  if (ctx.lifetimeSeconds !== undefined && ctx.lifetimeSeconds > 3600 && /lifetime/i.test(description)) {
    return (
      "Lifetimes over 3600 s need the organization policy constraint " +
      `constraints/iam.allowServiceAccountCredentialLifetimeExtension to list ${ctx.serviceAccount}; ask for 3600 s or less otherwise.`
    );
  }
  return ctx.method === "generateIdToken"
    ? "Check the audience and delegates."
    : "Check the scopes, the lifetime and the delegates.";
}

/** Turns a non-2xx IAM Credentials response into an `ImpersonationError`. */
export function iamErrorFromResponse(response: HttpResponse, ctx: IamCallContext): ImpersonationError {
  if (response.status >= 300 && response.status < 400) return redirectError(response, ctx);
  const { body: raw, disabled } = readIamError(response);
  // Every field a caller may print or log is upstream text: all of it is redacted, not only the message.
  const body: GoogleApiError = {};
  for (const field of ["status", "message", "reason", "permission"] as const) {
    const value = raw[field];
    if (value !== undefined) body[field] = redactSecrets(value, ctx.secrets);
  }
  const description = body.message;
  const googleStatus = body.status;
  if (disabled) return serviceDisabledError(disabled, response.status, body, ctx);
  const code = codeFor(response.status, googleStatus);
  const answered = [
    `HTTP ${response.status}`,
    googleStatus,
    body.permission ? `(permission ${body.permission})` : undefined,
    description ? `"${description}"` : undefined,
  ]
    .filter(Boolean)
    .join(" ");
  const message =
    `IAM Credentials ${ctx.method} for service account ${ctx.serviceAccount} at ${ctx.url} failed: ` +
    `${answered}. ${hintFor(code, description ?? "", ctx)}`;
  return new ImpersonationError(message, {
    code,
    status: response.status,
    upstreamError: googleStatus,
    upstreamDescription: description,
    url: ctx.url,
    permission: body.permission,
    reason: body.reason,
    retryable: code === IAM_ERROR_CODES.throttled || code === IAM_ERROR_CODES.unavailable,
    fix:
      code === IAM_ERROR_CODES.permissionDenied && memberOf(ctx) !== undefined
        ? bindingCommand(ctx).command
        : undefined,
  });
}

/**
 * A 403 whose ErrorInfo says the API is not enabled: no binding would help, so the message names the API
 * and the project Google reported and gives the command, instead of the binding hint.
 */
function serviceDisabledError(
  disabled: DisabledService,
  status: number,
  body: GoogleApiError,
  ctx: IamCallContext,
): ImpersonationError {
  return new ImpersonationError(
    `IAM Credentials ${ctx.method} for service account ${ctx.serviceAccount} at ${ctx.url} failed: HTTP ${status} ` +
      `SERVICE_DISABLED: the ${disabled.title} (${disabled.service}) is not enabled in project ` +
      `${disabled.project ?? "of the service account"}. Enable it: ${disabled.command} (it takes a few minutes to apply).`,
    {
      code: IAM_ERROR_CODES.serviceDisabled,
      status,
      upstreamError: body.status,
      upstreamDescription: body.message,
      url: ctx.url,
      reason: "SERVICE_DISABLED",
      fix: disabled.command,
    },
  );
}

/**
 * IAM Credentials never redirects; a 3xx means the URL reaches something else. Says where it pointed (no
 * query string) and which setting to check, instead of a hint about scopes that cannot help.
 */
function redirectError(response: HttpResponse, ctx: IamCallContext): ImpersonationError {
  let target = "without a Location";
  const location = response.headers.location;
  if (location) {
    try {
      target = `to ${redactSecrets(describeUrl(new URL(location, ctx.url)), ctx.secrets)}`;
    } catch {
      target = "to an invalid URL";
    }
  }
  return new ImpersonationError(
    `IAM Credentials ${ctx.method} for service account ${ctx.serviceAccount} at ${ctx.url}: IAM Credentials ` +
      `answered a redirect (HTTP ${response.status}) ${target}; check service_account_impersonation_url ` +
      "(the baseUrl or universeDomain option): it must be the IAM Credentials endpoint itself.",
    { code: IAM_ERROR_CODES.redirected, status: response.status, url: ctx.url },
  );
}

/**
 * A success status whose body is not what the call promises. No cause is attached: the parser's own message
 * quotes the body, which may hold a token.
 */
export function invalidResponse(ctx: IamCallContext, status: number, problem: string) {
  return new ImpersonationError(
    `IAM Credentials ${ctx.method} at ${ctx.url} answered HTTP ${status} but ${problem}. Check that the base URL is an IAM Credentials endpoint.`,
    { code: IAM_ERROR_CODES.responseInvalid, status, url: ctx.url },
  );
}
