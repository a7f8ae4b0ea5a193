/**
 * The codes this package throws itself. Failures of the pieces it composes keep their own packages' codes
 * (`STS_ERROR_CODES`, `IAM_ERROR_CODES`, `AWS_ERROR_CODES`, `AZURE_ERROR_CODES`, `CONFIG_ERROR_CODES`, and
 * core's and http's for timeouts, aborts and the network).
 */
export const CREDENTIALS_ERROR_CODES = Object.freeze({
  /** A config needs a cloud supplier that was not passed in `suppliers` (`field`: `suppliers`). */
  supplierNotRegistered: "ERR_WIF_SUPPLIER_NOT_REGISTERED",
  /** The subject token file does not exist (a "not here": `chain()` moves on). */
  subjectTokenFileNotFound: "ERR_WIF_SUBJECT_TOKEN_FILE_NOT_FOUND",
  /** The subject token file cannot be read: permissions, a directory, a device, a FIFO, /proc. */
  subjectTokenFileUnreadable: "ERR_WIF_SUBJECT_TOKEN_FILE_UNREADABLE",
  /** An empty file, body, field or supplier result. */
  subjectTokenEmpty: "ERR_WIF_SUBJECT_TOKEN_EMPTY",
  /** Format `json`, but the body is not JSON. */
  subjectTokenInvalidJson: "ERR_WIF_SUBJECT_TOKEN_INVALID_JSON",
  /** Format `json`, but no such string field. */
  subjectTokenFieldMissing: "ERR_WIF_SUBJECT_TOKEN_FIELD_MISSING",
  /** No field name for format `json`, or a token holding control characters. */
  subjectTokenFormatInvalid: "ERR_WIF_SUBJECT_TOKEN_FORMAT_INVALID",
  /** A token file or URL body over the cap. */
  subjectTokenTooLarge: "ERR_WIF_SUBJECT_TOKEN_TOO_LARGE",
  /** The token URL answered non-2xx. */
  subjectTokenUrlFailed: "ERR_WIF_SUBJECT_TOKEN_URL_FAILED",
  /** An executable source without `GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1`. */
  executablesNotAllowed: "ERR_WIF_EXECUTABLES_NOT_ALLOWED",
  /** An empty command or an unterminated quote. */
  executableCommandInvalid: "ERR_WIF_EXECUTABLE_COMMAND_INVALID",
  /** The executable could not start, or exited non-zero. */
  executableFailed: "ERR_WIF_EXECUTABLE_FAILED",
  /** It ran past its timeout and was killed, with everything it started. */
  executableTimeout: "ERR_WIF_EXECUTABLE_TIMEOUT",
  /** It printed more than the cap and was killed. */
  executableOutputTooLarge: "ERR_WIF_EXECUTABLE_OUTPUT_TOO_LARGE",
  /** Not a valid version 1 response. */
  executableResponseInvalid: "ERR_WIF_EXECUTABLE_RESPONSE_INVALID",
  /** The token it returned has already expired. */
  executableResponseExpired: "ERR_WIF_EXECUTABLE_RESPONSE_EXPIRED",
  /** It answered `success: false` (its `code` and `message` in `upstreamError`/`upstreamDescription`). */
  executableUnsuccessful: "ERR_WIF_EXECUTABLE_UNSUCCESSFUL",
  /** No certificate config where it was looked for (a "not here"). */
  certificateConfigNotFound: "ERR_WIF_CERTIFICATE_CONFIG_NOT_FOUND",
  /** The certificate config is not JSON or lacks what it needs. */
  certificateConfigInvalid: "ERR_WIF_CERTIFICATE_CONFIG_INVALID",
  /** The certificate, key or trust chain cannot be read. */
  certificateUnreadable: "ERR_WIF_CERTIFICATE_UNREADABLE",
  /** The certificate or key cannot be parsed. */
  certificateInvalid: "ERR_WIF_CERTIFICATE_INVALID",
  /** The leaf is in the trust chain but not first, or an entry is not a certificate. */
  certificateChainInvalid: "ERR_WIF_CERTIFICATE_CHAIN_INVALID",
  /** A `fromSupplier` function threw (it is the `cause`). */
  supplierFailed: "ERR_WIF_SUPPLIER_FAILED",
  /** `getIdToken` on a credential without a service account to impersonate. */
  idTokenNeedsImpersonation: "ERR_WIF_ID_TOKEN_NEEDS_IMPERSONATION",
  /** `getIdToken` on authorized-user (workforce login) credentials. */
  idTokenUnsupported: "ERR_WIF_ID_TOKEN_UNSUPPORTED",
  /** `getIdToken` without an audience. */
  idTokenAudienceMissing: "ERR_WIF_ID_TOKEN_AUDIENCE_MISSING",
} as const);

export type CredentialsErrorCode = (typeof CREDENTIALS_ERROR_CODES)[keyof typeof CREDENTIALS_ERROR_CODES];
