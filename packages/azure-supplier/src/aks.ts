import { readFile } from "node:fs/promises";
import type { Clock } from "@wifkit/core";
import { WifError } from "@wifkit/core";
import { describeUrl } from "@wifkit/http";
import { decodeTokenClaims } from "./claims.js";
import { AZURE_ERROR_CODES } from "./errors.js";
import type { ResolvedInit } from "./options.js";
import { configError, DEFAULT_AUTHORITY_HOST, parseEndpoint } from "./options.js";
import { isOk, sendTokenRequest } from "./request.js";
import type { AzureToken, ResponseContext, Upstream } from "./response.js";
import {
  describeUpstream,
  invalidResourceError,
  isInvalidResource,
  parseTokenResponse,
  responseError,
  upstreamOf,
} from "./response.js";

const OPERATION = "Entra ID workload identity token exchange";
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** The audience AKS projects service account tokens for, and federated credentials expect by default. */
const DEFAULT_FEDERATION_AUDIENCE = "api://AzureADTokenExchange";
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

export interface AksSettings {
  federatedTokenFile: string;
  clientId: string;
  tenantId: string;
}

/** `{authority}{tenant}/oauth2/v2.0/token`, refusing plain HTTP except to loopback (emulators). */
export function entraTokenUrl(resolved: ResolvedInit, tenantId: string): URL {
  const setting = resolved.init.authorityHost ?? resolved.env.AZURE_AUTHORITY_HOST?.trim();
  const origin = resolved.init.authorityHost !== undefined ? "authorityHost" : "AZURE_AUTHORITY_HOST";
  const authority = parseEndpoint(setting || DEFAULT_AUTHORITY_HOST, origin);
  if (authority.protocol === "http:" && !isLoopbackAuthority(authority.hostname)) {
    throw configError(
      `${origin} must be an https URL (the client assertion is a credential); got ${describeUrl(authority)}.`,
    );
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(tenantId)) {
    throw configError(`The tenant id "${tenantId}" is neither a GUID nor a domain name.`);
  }
  if (!authority.pathname.endsWith("/")) authority.pathname += "/";
  authority.search = "";
  return new URL(`${tenantId}/oauth2/v2.0/token`, authority);
}

/**
 * Exchanges the pod's projected service account token for an Entra access token whose audience is the App
 * ID URI (client credentials grant with a JWT-bearer client assertion). The file is read on every call:
 * the kubelet rotates it, and a stale copy expires within the hour.
 */
export async function fetchAksToken(
  resolved: ResolvedInit,
  settings: AksSettings,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<AzureToken> {
  const url = entraTokenUrl(resolved, settings.tenantId);
  const assertion = await readFederatedToken(settings.federatedTokenFile, signal);
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: settings.clientId,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
    scope: `${resolved.resource}/.default`,
  }).toString();
  const response = await sendTokenRequest(
    resolved,
    {
      url,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      operation: OPERATION,
      entra: true,
    },
    signal,
  );
  const context: ResponseContext = {
    source: "aks",
    operation: OPERATION,
    url,
    resource: resolved.resource,
    now: clock.now(),
  };
  if (isOk(response)) return parseTokenResponse(response, context);
  const upstream = upstreamOf(response, [assertion]);
  if (isInvalidResource(upstream) || upstream.error === "invalid_scope") {
    throw invalidResourceError(upstream, context);
  }
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    throw entraRejected(upstream, url, settings, assertion);
  }
  throw responseError(upstream, context);
}

async function readFederatedToken(file: string, signal: AbortSignal | undefined): Promise<string> {
  let content: string;
  try {
    content = await readFile(file, { encoding: "utf8", ...(signal ? { signal } : {}) });
  } catch (cause) {
    if ((cause as Error).name === "AbortError") throw cause;
    const code = (cause as NodeJS.ErrnoException).code ?? "unknown error";
    throw new WifError(
      `The AKS federated token file ${file} (AZURE_FEDERATED_TOKEN_FILE) cannot be read (${code}). ` +
        `Check that the pod's service account is annotated with azure.workload.identity/client-id, the pod has the ` +
        `label azure.workload.identity/use: "true", and the projected token volume is mounted.`,
      { code: AZURE_ERROR_CODES.tokenFile, cause },
    );
  }
  const token = content.trim();
  if (token === "" || token.length > MAX_TOKEN_FILE_BYTES) {
    throw new WifError(
      `The AKS federated token file ${file} (AZURE_FEDERATED_TOKEN_FILE) is ${token === "" ? "empty" : "too large to be a service account token"}.`,
      { code: AZURE_ERROR_CODES.tokenFile },
    );
  }
  return token;
}

/**
 * Names everything a person has to compare: the federated identity credential on the application or
 * managed identity must match the projected token's issuer, subject and audience, and the client and
 * tenant ids must be the right ones. The claims are read from the assertion (not secret); the assertion
 * itself never appears.
 */
function entraRejected(upstream: Upstream, url: URL, settings: AksSettings, assertion: string): WifError {
  let presented = "";
  try {
    const claims = decodeTokenClaims(assertion);
    const audience = Array.isArray(claims.aud) ? claims.aud.join(", ") : claims.aud;
    presented =
      ` The projected token has issuer "${claims.iss ?? "?"}", subject "${claims.sub ?? "?"}" and audience "${audience ?? "?"}"` +
      `${typeof claims.exp === "number" ? `, expiring ${new Date(claims.exp * 1000).toISOString()}` : ""}.`;
  } catch {
    presented = " The projected token file does not hold a readable JWT.";
  }
  return new WifError(
    `${OPERATION} at ${describeUrl(url)} was rejected (${describeUpstream(upstream)}). ` +
      `Check that the application or user-assigned managed identity with client id ${settings.clientId} ` +
      `(AZURE_CLIENT_ID) exists in tenant ${settings.tenantId} (AZURE_TENANT_ID) and has a federated identity ` +
      `credential whose issuer is the cluster's OIDC issuer URL, whose subject is system:serviceaccount:NAMESPACE:NAME ` +
      `and whose audience is ${DEFAULT_FEDERATION_AUDIENCE}.${presented}`,
    {
      code: AZURE_ERROR_CODES.entraRejected,
      status: upstream.status,
      upstreamError: upstream.error,
      upstreamDescription: upstream.description,
      url: describeUrl(url),
    },
  );
}

/** Plain http is for a local Entra stand-in only (an emulator); anything else must be https. */
function isLoopbackAuthority(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
