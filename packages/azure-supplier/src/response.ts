import { WifError } from "@wifkit/core";
import type { HttpResponse } from "@wifkit/http";
import { describeUrl } from "@wifkit/http";
import { decodeTokenClaims } from "./claims.js";
import { AZURE_ERROR_CODES, upstreamErrorOf } from "./errors.js";
import type { AzureSourceName } from "./options.js";

/** An Azure access token for the resource, as one source fetched it. */
export interface AzureToken {
  accessToken: string;
  expiresAt: Date;
  source: AzureSourceName;
}

/** Where a response came from, for the messages built from it. */
export interface ResponseContext {
  source: AzureSourceName;
  /** "Azure IMDS managed identity token request". */
  operation: string;
  url: URL;
  resource: string;
  /** Clock reading when the response arrived. */
  now: number;
}

export interface Upstream {
  status: number;
  error?: string;
  description?: string;
}

/**
 * Reads a token response. Azure answers with every value a string on IMDS (`"expires_in": "3599"`) and
 * numbers on Entra, so both are accepted. The expiry comes from `expires_in` (relative, so immune to a
 * skewed local clock), else `expires_on`, else the JWT's `exp`; a token whose expiry cannot be known is
 * refused rather than cached forever.
 */
export function parseTokenResponse(response: HttpResponse, context: ResponseContext): AzureToken {
  const where = describeUrl(context.url);
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString("utf8"));
  } catch {
    // No cause: JSON.parse's message quotes the body, and a token response body holds a token.
    throw new WifError(
      `${context.operation} at ${where} answered HTTP ${response.status} with a body that is not JSON.`,
      { code: AZURE_ERROR_CODES.responseInvalid, status: response.status, url: where },
    );
  }
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const accessToken = record.access_token;
  if (typeof accessToken !== "string" || accessToken.trim() === "") {
    throw new WifError(
      `${context.operation} at ${where} answered HTTP ${response.status} without an access_token.`,
      { code: AZURE_ERROR_CODES.responseInvalid, status: response.status, url: where },
    );
  }
  const expiresAt = expiryOf(record, accessToken, context.now);
  if (expiresAt === undefined) {
    throw new WifError(
      `${context.operation} at ${where} returned a token without expires_in, expires_on or a JWT exp claim; refusing a token whose lifetime is unknown.`,
      { code: AZURE_ERROR_CODES.responseInvalid, status: response.status, url: where },
    );
  }
  return { accessToken, expiresAt, source: context.source };
}

function expiryOf(record: Record<string, unknown>, token: string, now: number): Date | undefined {
  const expiresIn = numberOf(record.expires_in);
  if (expiresIn !== undefined && expiresIn > 0) return new Date(now + expiresIn * 1000);
  const expiresOn = record.expires_on;
  const epochSeconds = numberOf(expiresOn);
  if (epochSeconds !== undefined && epochSeconds > 0) return new Date(epochSeconds * 1000);
  // App Service's older API version writes a date ("09/14/2017 00:00:00 PM +00:00").
  if (typeof expiresOn === "string" && expiresOn.trim() !== "") {
    const parsed = Date.parse(expiresOn);
    if (!Number.isNaN(parsed)) return new Date(parsed);
  }
  try {
    const { exp } = decodeTokenClaims(token);
    if (typeof exp === "number" && Number.isFinite(exp) && exp > 0) return new Date(exp * 1000);
  } catch {
    // Not a JWT: no exp to fall back on.
  }
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * The upstream error of a failed response: status plus OAuth / App Service error fields, with JWTs and
 * the `secrets` this request sent cut out.
 */
export function upstreamOf(response: HttpResponse, secrets: readonly string[] = []): Upstream {
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString("utf8"));
  } catch {
    body = undefined;
  }
  return { status: response.status, ...upstreamErrorOf(body, secrets) };
}

export function describeUpstream(upstream: Upstream): string {
  const parts = [`HTTP ${upstream.status}`];
  if (upstream.error) parts.push(upstream.error);
  const head = parts.join(" ");
  return upstream.description ? `${head}: ${upstream.description}` : head;
}

/** True when Azure says it does not know the resource: `invalid_resource` or AADSTS500011. */
export function isInvalidResource(upstream: Upstream): boolean {
  return (
    upstream.error === "invalid_resource" ||
    /AADSTS500011|AADSTS650057|invalid_resource/i.test(upstream.description ?? "")
  );
}

export function invalidResourceError(upstream: Upstream, context: ResponseContext): WifError {
  const where = describeUrl(context.url);
  return new WifError(
    `${context.operation} at ${where} rejected the resource "${context.resource}" (${describeUpstream(upstream)}). ` +
      `Check the Entra application's Application ID URI (Entra admin center > App registrations > your application > Expose an API) ` +
      `and pass exactly that as the resource; it must also be an allowed audience of the Google workload identity provider.`,
    {
      code: AZURE_ERROR_CODES.invalidResource,
      status: upstream.status,
      upstreamError: upstream.error,
      upstreamDescription: upstream.description,
      url: where,
    },
  );
}

/**
 * The error for a response that is not a token, after core's retries. Sources handle their own special
 * cases first (identity not found, Arc challenge, Entra rejection) and fall back on this.
 */
export function responseError(upstream: Upstream, context: ResponseContext, hint = ""): WifError {
  if (isInvalidResource(upstream)) return invalidResourceError(upstream, context);
  const where = describeUrl(context.url);
  const fields = {
    status: upstream.status,
    upstreamError: upstream.error,
    upstreamDescription: upstream.description,
    url: where,
  };
  const what = `${context.operation} at ${where} failed with ${describeUpstream(upstream)}`;
  const suffix = hint ? ` ${hint}` : "";
  if (upstream.status === 429) {
    return new WifError(
      `${what}: Azure is throttling managed identity requests and retries with backoff did not get through. Cache tokens (one supplier per process) and try again later.${suffix}`,
      { ...fields, code: AZURE_ERROR_CODES.throttled, retryable: true },
    );
  }
  if (upstream.status === 404 || upstream.status === 410 || upstream.status >= 500) {
    const why =
      upstream.status === 404
        ? "the managed identity may still be being set up (it can take a few minutes after it is assigned), or this endpoint does not serve managed identity tokens"
        : "the identity endpoint is temporarily unavailable";
    return new WifError(`${what} after retries with backoff: ${why}. Try again shortly.${suffix}`, {
      ...fields,
      code: AZURE_ERROR_CODES.unavailable,
      retryable: true,
    });
  }
  return new WifError(`${what}.${suffix}`, { ...fields, code: AZURE_ERROR_CODES.requestFailed });
}
