import {
  redactSecrets,
  SUBJECT_TOKEN_TYPES,
  type SubjectToken,
  type SubjectTokenSupplier,
  type SubjectTokenType,
  WifError,
} from "@wifkit/core";
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  describeUrl,
  type HttpTransport,
  httpRequest,
  type RetryPolicy,
} from "@wifkit/http";
import { CREDENTIALS_ERROR_CODES } from "../errors.js";
import { DEFAULT_SUBJECT_TOKEN_FORMAT, extractSubjectToken, type TokenFormat } from "./format.js";

/** A subject token body is at most this large (what Google's Go library allows): 1 MiB. */
export const DEFAULT_MAX_SUBJECT_TOKEN_URL_BYTES = DEFAULT_MAX_RESPONSE_BYTES;

export interface FromUrlInit {
  /** The URL to GET (`credential_source.url`). */
  url: string;
  /** Request headers (`credential_source.headers`), e.g. `{ Metadata: "True" }` for Azure IMDS. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Text (default) or a field of a JSON object. */
  format?: TokenFormat | undefined;
  /** The token type to report; default `urn:ietf:params:oauth:token-type:jwt`. */
  type?: SubjectTokenType | undefined;
  /** Per-attempt timeout; default `DEFAULT_TIMEOUT_MS` (10 s). */
  timeoutMs?: number | undefined;
  /** Retry policy overrides (408, 429, 5xx and resets are retried by default), or `false`. */
  retry?: Partial<RetryPolicy> | false | undefined;
  /** Largest body accepted; default 1 MiB. */
  maxResponseBytes?: number | undefined;
  /** HTTP seam; default node:http(s). */
  transport?: HttpTransport | undefined;
}

/**
 * A subject token supplier that GETs a URL on every call (a local token server, a metadata endpoint) and
 * takes the body, or one field of its JSON, as the token. Transient failures are retried with backoff; any
 * other non-2xx status is `ERR_WIF_SUBJECT_TOKEN_URL_FAILED` with the status and the upstream error.
 *
 * @example
 * const supplier = fromUrl({
 *   url: "http://127.0.0.1:8080/token",
 *   headers: { Authorization: `Bearer ${process.env.LOCAL_KEY}` },
 *   format: { type: "json", subjectTokenFieldName: "id_token" },
 * });
 */
export function fromUrl(init: FromUrlInit): SubjectTokenSupplier {
  const format = init.format ?? DEFAULT_SUBJECT_TOKEN_FORMAT;
  const type = init.type ?? SUBJECT_TOKEN_TYPES.jwt;
  const where = describeUrl(init.url);
  return async (options): Promise<SubjectToken> => {
    const response = await httpRequest({
      url: init.url,
      method: "GET",
      headers: { ...init.headers },
      timeoutMs: init.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options?.signal ? { signal: options.signal } : {}),
      ...(init.retry === undefined ? {} : { retry: init.retry }),
      maxResponseBytes: init.maxResponseBytes ?? DEFAULT_MAX_SUBJECT_TOKEN_URL_BYTES,
      ...(init.transport ? { transport: init.transport } : {}),
      operation: "Fetching the subject token",
    });
    if (response.status < 200 || response.status >= 300) {
      // An upstream that echoes the request must not leak its header values (API keys) through the error.
      const upstream = readUpstreamError(response.body, Object.values(init.headers ?? {}));
      throw new WifError(
        `Fetching the subject token from ${where} failed with HTTP ${response.status}` +
          `${upstream.error && /^[\w.-]{1,64}$/.test(upstream.error) ? ` (${upstream.error})` : ""}. Check credential_source.url and its headers.`,
        {
          code: CREDENTIALS_ERROR_CODES.subjectTokenUrlFailed,
          status: response.status,
          upstreamError: upstream.error,
          upstreamDescription: upstream.description,
          url: where,
          retryable: response.status === 408 || response.status === 429 || response.status >= 500,
        },
      );
    }
    return {
      token: extractSubjectToken(response.body.toString("utf8"), format, `the response of ${where}`),
      type,
    };
  };
}

/** The OAuth-style `{error, error_description}` of an error body, if it has one. */
function readUpstreamError(
  body: Buffer,
  secrets: readonly string[],
): { error?: string; description?: string } {
  const clean = (text: string) => redactSecrets(text, secrets, { opaqueRuns: true, maxLength: 300 });
  try {
    const parsed = JSON.parse(body.toString("utf8")) as unknown;
    if (parsed === null || typeof parsed !== "object") return {};
    const record = parsed as Record<string, unknown>;
    const nested = record.error;
    if (nested !== null && typeof nested === "object") {
      const google = nested as Record<string, unknown>;
      return {
        ...(typeof google.status === "string" ? { error: clean(google.status) } : {}),
        ...(typeof google.message === "string" ? { description: clean(google.message) } : {}),
      };
    }
    return {
      ...(typeof nested === "string" ? { error: clean(nested) } : {}),
      ...(typeof record.error_description === "string"
        ? { description: clean(record.error_description) }
        : {}),
    };
  } catch {
    return {};
  }
}
