export type { HttpErrorCode } from "./errors.js";
export { HTTP_ERROR_CODES } from "./errors.js";
export type { DisabledService, GoogleErrorDetails } from "./google-error.js";
export { disabledService, readGoogleError } from "./google-error.js";
export type { ProxyResolver, ProxySettings } from "./proxy.js";
export { isLocalOnlyHost, noProxyMatcher, proxyResolver } from "./proxy.js";
export type { HttpRequestInit, RetryPolicy } from "./request.js";
export {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_RETRY_POLICY,
  DEFAULT_TIMEOUT_MS,
  httpRequest,
  isTransientStatus,
  parseJsonBody,
  parseRetryAfter,
} from "./request.js";
export type { HttpTraceEvent } from "./trace.js";
export { formatHttpTraceEvent, HTTP_TRACE_CHANNEL, subscribeHttpTrace } from "./trace.js";
export type {
  HttpResponse,
  HttpTransport,
  TlsClientOptions,
  TransportOptions,
  TransportRequest,
} from "./transport.js";
export { createTransport, defaultTransport, nodeTransport } from "./transport.js";
export { describeProxy, describeUrl } from "./url.js";
