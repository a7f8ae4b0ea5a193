import type { Clock } from "@wifkit/core";
import { WifError } from "@wifkit/core";
import { describeUrl } from "@wifkit/http";
import { AZURE_ERROR_CODES } from "./errors.js";
import type { ResolvedInit, UserAssignedIdentity } from "./options.js";
import { APP_SERVICE_API_VERSION, managedIdentitySelector, parseEndpoint } from "./options.js";
import { isOk, sendTokenRequest } from "./request.js";
import type { AzureToken, ResponseContext } from "./response.js";
import { describeUpstream, parseTokenResponse, responseError, upstreamOf } from "./response.js";

const OPERATION = "App Service managed identity token request";

/**
 * Fetches a token from the App Service / Functions / Container Apps identity endpoint:
 * `GET $IDENTITY_ENDPOINT?resource=R&api-version=2019-08-01` with `X-IDENTITY-HEADER: $IDENTITY_HEADER`.
 */
export async function fetchAppServiceToken(
  resolved: ResolvedInit,
  endpoint: string,
  identityHeader: string,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<AzureToken> {
  const url = parseEndpoint(endpoint, "IDENTITY_ENDPOINT");
  url.searchParams.set("resource", resolved.resource);
  url.searchParams.set("api-version", APP_SERVICE_API_VERSION);
  const selector = appServiceSelector(managedIdentitySelector(resolved));
  if (selector) url.searchParams.set(selector.name, selector.value);
  const response = await sendTokenRequest(
    resolved,
    { url, headers: { "X-IDENTITY-HEADER": identityHeader }, operation: OPERATION },
    signal,
  );
  const context: ResponseContext = {
    source: "app-service",
    operation: OPERATION,
    url,
    resource: resolved.resource,
    now: clock.now(),
  };
  if (isOk(response)) return parseTokenResponse(response, context);
  const upstream = upstreamOf(response, [identityHeader]);
  const where = describeUrl(url);
  const fields = {
    status: upstream.status,
    upstreamError: upstream.error,
    upstreamDescription: upstream.description,
    url: where,
  };
  if (
    response.status === 400 &&
    /unable to load the proper managed identity|identity not found|no managed identity/i.test(
      upstream.description ?? "",
    )
  ) {
    const which = selector
      ? `user-assigned identity with ${selector.name}=${selector.value}`
      : "system-assigned identity";
    throw new WifError(
      `${OPERATION} at ${where} found no managed identity (${describeUpstream(upstream)}). ` +
        `This app has no ${which}: turn the identity on (the app > Identity) or fix clientId / objectId / msiResId.`,
      { ...fields, code: AZURE_ERROR_CODES.identityNotFound },
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw responseError(
      upstream,
      context,
      "The endpoint refused IDENTITY_HEADER; it changes when the app restarts, so read it from the environment of the running process rather than a saved copy.",
    );
  }
  throw responseError(upstream, context);
}

function appServiceSelector(
  identity: UserAssignedIdentity | undefined,
): { name: string; value: string } | undefined {
  if (!identity) return undefined;
  const name = { clientId: "client_id", objectId: "object_id", msiResId: "mi_res_id" }[identity.kind];
  return { name, value: identity.value };
}
