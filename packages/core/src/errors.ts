/**
 * The one error type of wifkit. Every failure a caller can act on is a `WifError` with a stable `code`
 * (`ERR_WIF_...`) to switch on; upstream failures also carry the HTTP status and the upstream OAuth or
 * Google API error. Messages say what failed, where, and what to do, and never carry a token, a secret, a
 * signature or a subject token: callers may log them as they are.
 */

export interface WifErrorOptions {
  /** Stable machine-readable code, `ERR_WIF_...`. */
  code: string;
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
}

export class WifError extends Error {
  override name = "WifError";
  readonly code: string;
  readonly status: number | undefined;
  readonly upstreamError: string | undefined;
  readonly upstreamDescription: string | undefined;
  readonly url: string | undefined;
  readonly retryable: boolean;

  constructor(message: string, options: WifErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.status = options.status;
    this.upstreamError = options.upstreamError;
    this.upstreamDescription = options.upstreamDescription;
    this.url = options.url;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * Thrown by a credential source that does not apply where the process runs (no env vars, not on EC2, no
 * token file). A `chain()` moves on to its next source only on this error; any other error stops it, because
 * a source that applies and fails should be reported, not skipped.
 */
export class SourceUnavailableError extends WifError {
  override name = "SourceUnavailableError";
  constructor(message: string, options: Omit<WifErrorOptions, "code"> & { code?: string } = {}) {
    super(message, { ...options, code: options.code ?? "ERR_WIF_SOURCE_UNAVAILABLE" });
  }
}

/** True for any `WifError`, including one thrown by another copy of this package. */
export function isWifError(value: unknown): value is WifError {
  if (value instanceof WifError) return true;
  const code = value instanceof Error ? (value as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("ERR_WIF_");
}
