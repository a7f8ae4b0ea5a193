export type { WifErrorOptions } from "./errors.js";
export { isWifError, SourceUnavailableError, WifError } from "./errors.js";
export type {
  HttpRequestInit,
  HttpResponse,
  HttpTransport,
  RetryPolicy,
  TlsClientOptions,
  TransportRequest,
} from "./http.js";
export {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_RETRY_POLICY,
  DEFAULT_TIMEOUT_MS,
  describeUrl,
  httpRequest,
  isTransientStatus,
  nodeTransport,
  parseJsonBody,
  parseRetryAfter,
} from "./http.js";
export type { DecodedJwt } from "./jwt.js";
export { decodeJwt } from "./jwt.js";
export type { Clock, Provider, ProviderOptions } from "./provider.js";
export { chain, systemClock } from "./provider.js";
export {
  DEFAULT_READ_FILE_MAX_BYTES,
  DEFAULT_READ_FILE_TIMEOUT_MS,
  READ_FILE_ERROR_CODES,
  type ReadFileBoundedOptions,
  type ReadFileError,
  readFileBounded,
  readFileBoundedSync,
} from "./read-file.js";
export type { RedactOptions } from "./redact.js";
export { redactSecrets } from "./redact.js";
export type { SubjectToken, SubjectTokenSupplier, SubjectTokenType, Token } from "./tokens.js";
export { SUBJECT_TOKEN_TYPES } from "./tokens.js";
