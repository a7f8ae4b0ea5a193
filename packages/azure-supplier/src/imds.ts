import type { Clock } from "@wifkit/core";
import { isWifError, WifError } from "@wifkit/core";
import { describeUrl, HTTP_ERROR_CODES, httpRequest } from "@wifkit/http";
import { imdsEndpointSetting } from "./detect.js";
import { AZURE_ERROR_CODES } from "./errors.js";
import type { ResolvedInit, UserAssignedIdentity } from "./options.js";
import {
  AZURE_IMDS_API_VERSION,
  AZURE_IMDS_TOKEN_PATH,
  managedIdentitySelector,
  parseEndpoint,
} from "./options.js";
import { isOk, sendTokenRequest, virtualTimeOf } from "./request.js";
import type { AzureToken, ResponseContext } from "./response.js";
import { describeUpstream, parseTokenResponse, responseError, upstreamOf } from "./response.js";

const OPERATION = "Azure IMDS managed identity token request";

/** The IMDS token URL without a query: a base URL gets the token path appended, a full token URL is kept. */
export function imdsTokenUrl(resolved: ResolvedInit): URL {
  const { value, origin } = imdsEndpointSetting(resolved.init, resolved.env);
  const parsed = parseEndpoint(value, origin);
  const base = parsed.pathname.replace(/\/+$/, "");
  const pathname = base.toLowerCase().endsWith(AZURE_IMDS_TOKEN_PATH)
    ? base
    : `${base}${AZURE_IMDS_TOKEN_PATH}`;
  return new URL(`${parsed.protocol}//${parsed.host}${pathname}`);
}

/**
 * Asks IMDS whether it is there, with a short timeout and no retries. Off Azure the link-local address
 * either refuses or never answers, and a token request's own timeout and retry budget would make an app
 * wait for tens of seconds before saying so. The probe omits `Metadata: true`, and Azure's IMDS refuses
 * exactly that with HTTP 400 at once, without fetching a token: any other answer (a 404 on the identity
 * path, a 401 from EC2's IMDS, a page) is another cloud's metadata server or some other service, not
 * Azure's. Returns undefined when Azure's IMDS answered, else why not.
 */
export async function probeImds(
  resolved: ResolvedInit,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const url = imdsTokenUrl(resolved);
  url.searchParams.set("api-version", AZURE_IMDS_API_VERSION);
  let status: number;
  try {
    ({ status } = await httpRequest({
      url,
      operation: "Azure IMDS probe",
      timeoutMs: resolved.probeTimeoutMs,
      retry: false,
      ...(signal ? { signal } : {}),
      ...(resolved.init.transport ? { transport: resolved.init.transport } : {}),
      ...virtualTimeOf(resolved.init),
    }));
  } catch (error) {
    if (
      isWifError(error) &&
      (error.code === HTTP_ERROR_CODES.timeout || error.code === HTTP_ERROR_CODES.network)
    ) {
      const detail =
        error.code === HTTP_ERROR_CODES.timeout
          ? `no answer within ${resolved.probeTimeoutMs} ms`
          : `connection failed (${networkCode(error)})`;
      return `${describeUrl(url)}: ${detail}`;
    }
    throw error;
  }
  if (status === 400) return undefined;
  return `${describeUrl(url)}: answered HTTP ${status} to a request without the Metadata header, which Azure's IMDS refuses with 400 (another cloud's metadata server, or another service)`;
}

function networkCode(error: WifError): string {
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  return cause?.code ?? "network error";
}

/** Fetches a token from VM / VMSS IMDS (`GET ...?api-version=2018-02-01&resource=R` with `Metadata: true`). */
export async function fetchImdsToken(
  resolved: ResolvedInit,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<AzureToken> {
  const url = imdsTokenUrl(resolved);
  url.searchParams.set("api-version", AZURE_IMDS_API_VERSION);
  url.searchParams.set("resource", resolved.resource);
  const selector = imdsSelector(managedIdentitySelector(resolved));
  if (selector) url.searchParams.set(selector.name, selector.value);
  const response = await sendTokenRequest(
    resolved,
    { url, headers: { Metadata: "true" }, operation: OPERATION },
    signal,
  );
  const context: ResponseContext = {
    source: "imds",
    operation: OPERATION,
    url,
    resource: resolved.resource,
    now: clock.now(),
  };
  if (isOk(response)) return parseTokenResponse(response, context);
  const upstream = upstreamOf(response);
  if (
    response.status === 400 &&
    /identity not found|no managed identity|not assigned/i.test(upstream.description ?? "")
  ) {
    const which = selector
      ? `user-assigned identity with ${selector.name}=${selector.value}`
      : "system-assigned identity";
    throw new WifError(
      `${OPERATION} at ${describeUrl(url)} found no managed identity (${describeUpstream(upstream)}). ` +
        `This VM / VMSS has no ${which}: enable the system-assigned identity or assign the user-assigned one ` +
        `(Azure portal > the VM > Identity), or fix clientId / objectId / msiResId.`,
      {
        code: AZURE_ERROR_CODES.identityNotFound,
        status: upstream.status,
        upstreamError: upstream.error,
        upstreamDescription: upstream.description,
        url: describeUrl(url),
      },
    );
  }
  throw responseError(upstream, context);
}

function imdsSelector(
  identity: UserAssignedIdentity | undefined,
): { name: string; value: string } | undefined {
  if (!identity) return undefined;
  const name = { clientId: "client_id", objectId: "object_id", msiResId: "msi_res_id" }[identity.kind];
  return { name, value: identity.value };
}
