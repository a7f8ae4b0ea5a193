import { redactSecrets } from "@wifkit/core";

/** The stable codes this package throws, besides core's `ERR_WIF_TIMEOUT`, `ERR_WIF_NETWORK`, `ERR_WIF_ABORTED`. */
export const AZURE_ERROR_CODES = Object.freeze({
  /** An option or environment variable is unusable (empty resource, two identity selectors, bad URL). */
  configInvalid: "ERR_WIF_AZURE_CONFIG_INVALID",
  /** Nothing Azure here: no source's variables are set and IMDS did not answer (a `SourceUnavailableError`). */
  notOnAzure: "ERR_WIF_AZURE_NOT_ON_AZURE",
  /** The source chosen with `source` does not apply here (a `SourceUnavailableError`). */
  sourceUnavailable: "ERR_WIF_AZURE_SOURCE_UNAVAILABLE",
  /** Azure does not know the resource: the Application ID URI is wrong. */
  invalidResource: "ERR_WIF_AZURE_INVALID_RESOURCE",
  /** No managed identity matches (none assigned, or the client/object/resource id names another). */
  identityNotFound: "ERR_WIF_AZURE_IDENTITY_NOT_FOUND",
  /** Entra ID refused the AKS workload identity exchange (federated credential, tenant or client id). */
  entraRejected: "ERR_WIF_AZURE_ENTRA_REJECTED",
  /** The AKS projected service account token file is missing, unreadable or empty. */
  tokenFile: "ERR_WIF_AZURE_TOKEN_FILE",
  /** The Azure Arc challenge or its key file was refused (path, type, size, permissions) or not accepted. */
  arcKeyFile: "ERR_WIF_AZURE_ARC_KEY_FILE",
  /** Still HTTP 429 after the retry budget. */
  throttled: "ERR_WIF_AZURE_THROTTLED",
  /** Still 404 / 410 / 5xx after the retry budget. */
  unavailable: "ERR_WIF_AZURE_UNAVAILABLE",
  /** Any other HTTP failure from the identity endpoint. */
  requestFailed: "ERR_WIF_AZURE_REQUEST_FAILED",
  /** A success response without a usable `access_token` or expiry. */
  responseInvalid: "ERR_WIF_AZURE_RESPONSE_INVALID",
  /** `decodeTokenClaims` was given something that is not a JWT. */
  tokenInvalid: "ERR_WIF_AZURE_TOKEN_INVALID",
} as const);

export type AzureErrorCode = (typeof AZURE_ERROR_CODES)[keyof typeof AZURE_ERROR_CODES];

/**
 * The error fields of the shapes Azure identity endpoints answer with (OAuth, App Service, ARM), redacted:
 * upstream text is quoted in messages because it is what a person searches for (AADSTS codes), but an
 * identity endpoint may echo what it was sent (an identity header, an Arc key, a client assertion).
 */
export function upstreamErrorOf(
  body: unknown,
  secrets: readonly string[] = [],
): { error?: string; description?: string } {
  if (typeof body !== "object" || body === null) return {};
  const record = body as Record<string, unknown>;
  const nested =
    typeof record.error === "object" && record.error !== null
      ? (record.error as Record<string, unknown>)
      : undefined;
  const error = pickString(record.error, nested?.code, record.code);
  const description = pickString(
    record.error_description,
    nested?.message,
    record.message,
    record.Message,
    record.ExceptionMessage,
  );
  return {
    ...(error === undefined ? {} : { error: redactSecrets(error, secrets) }),
    ...(description === undefined ? {} : { description: redactSecrets(description, secrets) }),
  };
}

function pickString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === "string" && value.trim() !== "") return value;
  return undefined;
}
