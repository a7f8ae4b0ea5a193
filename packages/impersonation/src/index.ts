export type { ImpersonationErrorCode, ImpersonationErrorOptions } from "./errors.js";
export { IAM_ERROR_CODES, ImpersonationError } from "./errors.js";
export type {
  GenerateAccessTokenInit,
  GeneratedAccessToken,
  GeneratedIdToken,
  GenerateIdTokenInit,
  ImpersonationCallOptions,
} from "./generate.js";
export { generateAccessToken, generateIdToken, MAX_ID_TOKEN_LIFETIME_SECONDS } from "./generate.js";
export {
  DEFAULT_LIFETIME_SECONDS,
  MAX_LIFETIME_SECONDS,
  MIN_LIFETIME_SECONDS,
} from "./options.js";
export type { ImpersonationTarget } from "./url.js";
export { parseImpersonationUrl } from "./url.js";
