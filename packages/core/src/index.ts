export type { CoreErrorCode, WifErrorOptions } from "./errors.js";
export {
  abortedError,
  CORE_ERROR_CODES,
  httpUrlOption,
  invalidOption,
  isSourceUnavailable,
  isWifError,
  nonEmptyStringOption,
  SourceUnavailableError,
  WifError,
} from "./errors.js";
export type { DecodedJwt } from "./jwt.js";
export { decodeJwt } from "./jwt.js";
export type {
  MemoizedProvider,
  MemoizeOptions,
  RefreshErrorEvent,
  RefreshEvent,
  RefreshKind,
} from "./memoize.js";
export {
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_RETRY_BACKOFF_MS,
  DEFAULT_REFRESH_BEFORE_MS,
  DEFAULT_RETRY_BACKOFF_MS,
  memoize,
} from "./memoize.js";
export type { Provider, ProviderOptions, RememberUnavailableOptions } from "./provider.js";
export { chain, DEFAULT_UNAVAILABLE_FOR_MS, rememberUnavailable } from "./provider.js";
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
export type { Clock, Env, ReadFile, Sleep } from "./seams.js";
export { asText, durationOption, systemClock, systemSleep, timeoutSignal, unrefSleep } from "./seams.js";
export { sha256Hex } from "./sha256.js";
export type { SubjectToken, SubjectTokenSupplier, SubjectTokenType, Token } from "./tokens.js";
export {
  DEFAULT_UNIVERSE_DOMAIN,
  isDomainName,
  isTokenValue,
  SUBJECT_TOKEN_TYPES,
  tokenValueProblem,
} from "./tokens.js";
