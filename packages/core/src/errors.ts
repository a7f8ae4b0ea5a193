/**
 * The one error type of wifkit. Every failure a caller can act on is a `WifError` with a stable `code`
 * (`ERR_WIF_...`) to switch on; upstream failures also carry the HTTP status and the upstream OAuth or
 * Google API error. Messages say what failed, where, and what to do, and never carry a token, a secret, a
 * signature or a subject token: callers may log them as they are.
 */

/** The codes this package throws. Every wifkit package exports such a map; callers switch on the values. */
export const CORE_ERROR_CODES = Object.freeze({
  /** The caller's signal aborted the call. */
  aborted: "ERR_WIF_ABORTED",
  /** A call did not finish within its time bound. */
  timeout: "ERR_WIF_TIMEOUT",
  /** An option passed in code is missing or malformed; `field` names it. */
  invalidOption: "ERR_WIF_INVALID_OPTION",
  /** A credential source does not apply where the process runs. */
  sourceUnavailable: "ERR_WIF_SOURCE_UNAVAILABLE",
  /** No source of a `chain()` applies here. */
  noSource: "ERR_WIF_NO_SOURCE",
  /** A provider returned a token without a usable `expiresAt`. */
  tokenInvalid: "ERR_WIF_TOKEN_INVALID",
  /** A provider returned a token that had already expired. */
  tokenExpired: "ERR_WIF_TOKEN_EXPIRED",
  /** `decodeJwt` got something that is not a readable JWT. */
  jwtInvalid: "ERR_WIF_JWT_INVALID",
} as const);

export type CoreErrorCode = (typeof CORE_ERROR_CODES)[keyof typeof CORE_ERROR_CODES];

export interface WifErrorOptions<C extends string = string> {
  /** Stable machine-readable code, `ERR_WIF_...`, from the throwing package's `*_ERROR_CODES` map. */
  code: C;
  cause?: unknown;
  /** HTTP status of the upstream response, when the failure came from one. */
  status?: number | undefined;
  /** Upstream error code, e.g. OAuth `error` (`invalid_grant`) or Google API `status` (`PERMISSION_DENIED`). */
  upstreamError?: string | undefined;
  /** Upstream human-readable description (`error_description`, or the Google API error message). */
  upstreamDescription?: string | undefined;
  /** The URL involved, without query string or credentials. */
  url?: string | undefined;
  /** True when the failure is transient and the same call may succeed later. */
  retryable?: boolean | undefined;
  /** The option, config field, flag or environment variable at fault, when there is one. */
  field?: string | undefined;
}

/**
 * The base of every wifkit error, typed by its code: a package's errors are `WifError<ItsErrorCode>`, so a
 * `switch (error.code)` over them is checked by the compiler.
 */
export class WifError<C extends string = string> extends Error {
  override name = "WifError";
  readonly code: C;
  readonly status: number | undefined;
  readonly upstreamError: string | undefined;
  readonly upstreamDescription: string | undefined;
  readonly url: string | undefined;
  readonly retryable: boolean;
  readonly field: string | undefined;

  constructor(message: string, options: WifErrorOptions<C>) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.status = options.status;
    this.upstreamError = options.upstreamError;
    this.upstreamDescription = options.upstreamDescription;
    this.url = options.url;
    this.retryable = options.retryable ?? false;
    this.field = options.field;
  }
}

/**
 * Thrown by a credential source that does not apply where the process runs (no env vars, not on EC2, no
 * token file). `chain()` moves on to its next source only on such an error; any other error stops it,
 * because a source that applies and fails should be reported, not skipped.
 *
 * The verdict travels as the `tryNextLink` property rather than as the class, so it survives two copies of
 * this package in one program (normal while packages are upgraded one at a time): test it with
 * `isSourceUnavailable`, never `instanceof`.
 */
export class SourceUnavailableError extends WifError {
  override name = "SourceUnavailableError";
  readonly tryNextLink = true;
  constructor(message: string, options: Omit<WifErrorOptions, "code"> & { code?: string } = {}) {
    super(message, { ...options, code: options.code ?? CORE_ERROR_CODES.sourceUnavailable });
  }
}

/** True for any `WifError`, including one thrown by another copy of this package. */
export function isWifError(value: unknown): value is WifError {
  if (value instanceof WifError) return true;
  const code = value instanceof Error ? (value as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("ERR_WIF_");
}

/** True when `error` says its source does not apply here, whichever copy of this package threw it. */
export function isSourceUnavailable(error: unknown): error is SourceUnavailableError {
  return (
    typeof error === "object" && error !== null && (error as { tryNextLink?: unknown }).tryNextLink === true
  );
}

/**
 * The one error for a bad option passed in code: a `WifError` with code `ERR_WIF_INVALID_OPTION` and the
 * option's name in `field`, whatever package checks it.
 *
 * @example
 * if (!(timeoutMs > 0)) throw invalidOption("timeoutMs", `must be a positive number of milliseconds; got ${timeoutMs}.`);
 */
export function invalidOption(
  field: string,
  problem: string,
): WifError<typeof CORE_ERROR_CODES.invalidOption> {
  return new WifError(`Option ${field} ${problem}`, { code: CORE_ERROR_CODES.invalidOption, field });
}

/** A required string option: a non-empty string, else `invalidOption` naming it. */
export function nonEmptyStringOption(field: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw invalidOption(field, "must be a non-empty string.");
  return value;
}

/** An http(s) URL option, parsed; else `invalidOption` naming it (the value is never repeated: it may hold a key). */
export function httpUrlOption(field: string, value: unknown): URL {
  if (typeof value !== "string" || value.trim() === "") throw invalidOption(field, "must be a URL.");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOption(field, "is not a valid URL.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalidOption(field, `must be an http(s) URL, got ${url.protocol}.`);
  }
  return url;
}

/** The error a caller gets when its own signal ends its wait; never carries the abort reason's text. */
export function abortedError(what: string, reason: unknown): WifError<typeof CORE_ERROR_CODES.aborted> {
  return new WifError(`${what} was aborted by the caller's signal.`, {
    code: CORE_ERROR_CODES.aborted,
    cause: reason,
  });
}
