import { CORE_ERROR_CODES } from "@wifkit/core";

/**
 * The codes HTTP calls fail with when no usable response arrived. Timeouts and aborts keep core's codes;
 * a response with an error status is not an error here: callers turn statuses into their own errors.
 */
export const HTTP_ERROR_CODES = Object.freeze({
  /** An attempt (or the whole call) ran past its time bound, after the retries. */
  timeout: CORE_ERROR_CODES.timeout,
  /** The caller's signal aborted the call. */
  aborted: CORE_ERROR_CODES.aborted,
  /** No response: refused, reset, DNS failure, after the retries where retrying makes sense. */
  network: "ERR_WIF_NETWORK",
  /** The proxy refused the tunnel (407, 502, ...) or could not be reached. */
  proxy: "ERR_WIF_PROXY",
  /** The response exceeded `maxResponseBytes`. */
  responseTooLarge: "ERR_WIF_RESPONSE_TOO_LARGE",
  /** `parseJsonBody` got a body that is not JSON. */
  responseInvalid: "ERR_WIF_RESPONSE_INVALID",
  /** A bad option (`proxy`, `noProxy`, ...). */
  invalidOption: CORE_ERROR_CODES.invalidOption,
} as const);

export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[keyof typeof HTTP_ERROR_CODES];
