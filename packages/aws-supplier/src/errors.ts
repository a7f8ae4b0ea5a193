/**
 * The stable codes this package throws, besides core's (`ERR_WIF_SOURCE_UNAVAILABLE` for a source whose
 * variables are not set, `ERR_WIF_INVALID_OPTION`, `ERR_WIF_ABORTED`) and the HTTP layer's (`ERR_WIF_TIMEOUT`,
 * `ERR_WIF_NETWORK`). Callers switch on the values.
 */
export const AWS_ERROR_CODES = Object.freeze({
  /** No source applies here (a `SourceUnavailableError`: a larger `chain()` moves on). */
  noCredentials: "ERR_WIF_AWS_NO_CREDENTIALS",
  /** IMDS did not answer at all (a `SourceUnavailableError`). */
  imdsUnreachable: "ERR_WIF_AWS_IMDS_UNREACHABLE",
  /** Something answered at the IMDS address, but not as EC2's metadata service does (a `SourceUnavailableError`). */
  notImds: "ERR_WIF_AWS_NOT_IMDS",
  /** IMDS answered 401 even after a fresh session token, or requires v2 and no token could be fetched. */
  imdsUnauthorized: "ERR_WIF_AWS_IMDS_UNAUTHORIZED",
  /** IMDS answered 403: the metadata service is turned off for the instance. */
  imdsDisabled: "ERR_WIF_AWS_IMDS_DISABLED",
  /** EC2's IMDS has no role (or no credentials for it): no instance profile is attached. */
  imdsNoRole: "ERR_WIF_AWS_IMDS_NO_ROLE",
  /** The IMDSv2 session token request failed and IMDSv1 is not allowed. */
  imdsSessionTokenFailed: "ERR_WIF_AWS_IMDS_SESSION_TOKEN_FAILED",
  /** Any other IMDS failure. */
  imdsFailed: "ERR_WIF_AWS_IMDS_FAILED",
  /** The container credential endpoint refused. */
  containerFailed: "ERR_WIF_AWS_CONTAINER_FAILED",
  /** `AWS_CONTAINER_CREDENTIALS_FULL_URI` is not a URL, or plain http to a host that is not allowed. */
  containerUriRejected: "ERR_WIF_AWS_CONTAINER_URI_REJECTED",
  /** The container authorization token file is missing, empty or malformed. */
  containerTokenFile: "ERR_WIF_AWS_CONTAINER_TOKEN_FILE",
  /** The web identity token file is set without `AWS_ROLE_ARN`, or unreadable, or empty. */
  webIdentityConfig: "ERR_WIF_AWS_WEB_IDENTITY_CONFIG",
  /** AWS STS refused `AssumeRoleWithWebIdentity`. */
  webIdentityFailed: "ERR_WIF_AWS_WEB_IDENTITY_FAILED",
  /** Only one of `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` is set. */
  envIncomplete: "ERR_WIF_AWS_ENV_INCOMPLETE",
  /** A source returned credentials already past their expiration. */
  credentialsExpired: "ERR_WIF_AWS_CREDENTIALS_EXPIRED",
  /** A source returned credentials without keys, or with an unreadable expiration. */
  credentialsInvalid: "ERR_WIF_AWS_CREDENTIALS_INVALID",
  /** No region option, variable or IMDS answer. */
  regionUnknown: "ERR_WIF_AWS_REGION_UNKNOWN",
  /** A region that is not an AWS region name. */
  regionInvalid: "ERR_WIF_AWS_REGION_INVALID",
  /** The verification URL is not an http(s) URL after substituting `{region}`. */
  verificationUrlInvalid: "ERR_WIF_AWS_VERIFICATION_URL_INVALID",
  /** The signing date is not a valid date. */
  signingFailed: "ERR_WIF_AWS_SIGNING_FAILED",
  /** The credential config's `environment_id` is not `aws1`. */
  unsupportedEnvironment: "ERR_WIF_AWS_UNSUPPORTED_ENVIRONMENT",
  /** AWS STS refused a signed GetCallerIdentity request, or answered without the identity. */
  callerIdentityFailed: "ERR_WIF_AWS_CALLER_IDENTITY_FAILED",
  /** `deserializeSubjectToken` was given something that is not a serialized GetCallerIdentity request. */
  subjectTokenInvalid: "ERR_WIF_AWS_SUBJECT_TOKEN_INVALID",
} as const);

export type AwsErrorCode = (typeof AWS_ERROR_CODES)[keyof typeof AWS_ERROR_CODES];
