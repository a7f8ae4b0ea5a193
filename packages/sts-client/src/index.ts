export type { StsErrorCode, StsErrorOptions } from "./errors.js";
export { STS_ERROR_CODES, StsError } from "./errors.js";
export type { ClientAuth, ExchangeTokenInit, ExchangeTokenResult } from "./exchange.js";
export {
  DEFAULT_MTLS_TOKEN_URL,
  DEFAULT_REQUESTED_TOKEN_TYPE,
  DEFAULT_SCOPES,
  DEFAULT_TOKEN_URL,
  exchangeToken,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from "./exchange.js";
export type { IntrospectTokenInit, IntrospectTokenResult } from "./introspect.js";
export { DEFAULT_TOKEN_INFO_URL, introspectToken } from "./introspect.js";
export type { RefreshAccessTokenInit, RefreshAccessTokenResult } from "./refresh.js";
export { DEFAULT_AUTHORIZED_USER_TOKEN_URL, refreshAccessToken } from "./refresh.js";
export type { StsCallOptions } from "./request.js";
export { DEFAULT_EXPIRES_IN_SECONDS, MAX_EXPIRES_IN_SECONDS } from "./request.js";
