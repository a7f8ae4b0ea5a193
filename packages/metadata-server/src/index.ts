export type { FailureDescription, MetadataServerErrorCode } from "./errors.js";
export { describeFailure, METADATA_SERVER_ERROR_CODES } from "./errors.js";
export type { MetadataServerLogger } from "./handler.js";
export {
  DEFAULT_ALLOWED_HOSTS,
  DEFAULT_MAX_HEADERS_COUNT,
  DEFAULT_MAX_WAITERS,
  DEFAULT_WAIT_TIMEOUT_SEC,
  MAX_URL_LENGTH,
  MAX_WAIT_TIMEOUT_SEC,
} from "./handler.js";
export type { RequestHead } from "./head.js";
export { emptyRequestHead, readRequestHead } from "./head.js";
export type {
  CounterSeries,
  MemoryMetrics,
  MetadataServerMetrics,
  RouteLabel,
  TokenKind,
} from "./metrics.js";
export { createMemoryMetrics } from "./metrics.js";
export type {
  ListenTarget,
  MetadataCredentials,
  MetadataServer,
  MetadataServerAddress,
  MetadataServerOptions,
} from "./server.js";
export {
  createMetadataServer,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_METADATA_SCOPES,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SOCKET_MODE,
  metadataEnv,
} from "./server.js";
export type { TokenSource } from "./tokens.js";
export {
  ACCESS_TOKEN_MIN_REMAINING_MS,
  BadRequestError,
  DEFAULT_KEEP_WARM_INTERVAL_MS,
  DEFAULT_MAX_TOKEN_KEYS,
  MAX_AUDIENCE_LENGTH,
  MAX_SCOPE_LENGTH,
  MAX_SCOPES_PER_REQUEST,
  parseScopes,
} from "./tokens.js";
export type { MetadataIdentity, MetadataOverrides, MetadataValues } from "./values.js";
export {
  DEFAULT_ZONE,
  instanceIdFor,
  metadataValues,
  projectOfServiceAccount,
} from "./values.js";
