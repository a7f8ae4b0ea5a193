import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AzureIdentityState, EmulatorState } from "../config.js";
import { applicationFor, mintEntraToken, type Runtime, SECONDS } from "../runtime.js";
import { json, type ServiceDefinition, type ServiceRequest, type ServiceResponse } from "../server.js";
import { randomToken } from "../signing.js";

function azureError(status: number, error: string, description: string): ServiceResponse {
  return json(status, { error, error_description: description });
}

function faultResponse(status: number): ServiceResponse {
  if (status === 429) return azureError(429, "too_many_requests", "Too many requests. Retry later.");
  if (status >= 500)
    return azureError(status, "service_unavailable", "The service is temporarily unavailable.");
  if (status === 404) return azureError(404, "not_found", "The managed identity is not yet available.");
  return azureError(status, "invalid_request", `HTTP ${status}`);
}

export function resourceNotFound(state: EmulatorState, resource: string): string {
  return `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${state.azure.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`;
}

type Selection = { identity: AzureIdentityState } | { error: ServiceResponse };

/** Picks the managed identity a request names (client_id, object_id/principal_id, msi_res_id/mi_res_id). */
function selectIdentity(state: EmulatorState, query: URLSearchParams): Selection {
  const identities = Object.values(state.azure.identities);
  const selectors: Array<[string, (identity: AzureIdentityState, value: string) => boolean]> = [
    ["client_id", (identity, value) => identity.clientId === value],
    ["object_id", (identity, value) => identity.objectId === value],
    ["principal_id", (identity, value) => identity.objectId === value],
    ["msi_res_id", (identity, value) => identity.resourceId?.toLowerCase() === value],
    ["mi_res_id", (identity, value) => identity.resourceId?.toLowerCase() === value],
  ];
  const given = selectors.filter(([name]) => query.has(name));
  if (given.length > 1) {
    return {
      error: azureError(
        400,
        "invalid_request",
        "Only one of client_id, object_id or msi_res_id may be given.",
      ),
    };
  }
  if (given.length === 1) {
    const [name, matches] = given[0]!;
    const value = (query.get(name) ?? "").toLowerCase();
    const identity = identities.find((candidate) => candidate.type === "user" && matches(candidate, value));
    return identity ? { identity } : { error: azureError(400, "invalid_request", "Identity not found") };
  }
  const system = identities.find((identity) => identity.type === "system");
  if (system) return { identity: system };
  const users = identities.filter((identity) => identity.type === "user");
  if (users.length === 1) return { identity: users[0]! };
  if (users.length === 0) return { error: azureError(400, "invalid_request", "Identity not found") };
  return {
    error: azureError(
      400,
      "invalid_request",
      "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
    ),
  };
}

type Issued = {
  ok: true;
  identity: AzureIdentityState;
  resource: string;
  token: string;
  issuedAt: number;
  expiresAt: number;
};

/** The shared part of IMDS, App Service and Arc: resource and identity checks, then an Entra v1 token. */
function issueManagedIdentityToken(
  runtime: Runtime,
  query: URLSearchParams,
): Issued | { ok: false; response: ServiceResponse } {
  const { state } = runtime;
  if (!state.azure.imds.enabled)
    return { ok: false, response: azureError(400, "invalid_request", "Identity not found") };
  const resource = query.get("resource");
  if (!resource) {
    return {
      ok: false,
      response: azureError(400, "invalid_request", "Required audience parameter not specified"),
    };
  }
  const selection = selectIdentity(state, query);
  if ("error" in selection) return { ok: false, response: selection.error };
  if (!applicationFor(state, resource)) {
    return { ok: false, response: azureError(400, "invalid_resource", resourceNotFound(state, resource)) };
  }
  const minted = mintEntraToken(runtime, selection.identity, { resource });
  return { ok: true, identity: selection.identity, resource, ...minted };
}

/** IMDS's token document: every value is a string. */
function imdsTokenDocument(runtime: Runtime, issued: Issued) {
  const now = runtime.clock.now();
  const expiresIn = String(Math.max(0, Math.floor((issued.expiresAt - now) / SECONDS)));
  return {
    access_token: issued.token,
    client_id: issued.identity.clientId,
    expires_in: expiresIn,
    expires_on: String(Math.floor(issued.expiresAt / SECONDS)),
    ext_expires_in: expiresIn,
    not_before: String(Math.floor(issued.issuedAt / SECONDS)),
    refresh_token: "",
    resource: issued.resource,
    token_type: "Bearer",
  };
}

/** What IMDS (and the Arc agent, which speaks its protocol) refuses before looking at the identity. */
function refuseImdsRequest(request: ServiceRequest): ServiceResponse | undefined {
  if ((request.header("metadata") ?? "").toLowerCase() !== "true") {
    return azureError(400, "invalid_request", "Required metadata header not specified");
  }
  if (request.header("x-forwarded-for") !== undefined) {
    return azureError(400, "invalid_request", "Request contains X-Forwarded-For header and is not allowed");
  }
  if (!request.url.searchParams.get("api-version")) {
    return azureError(400, "invalid_request", "Required query variable 'api-version' is missing");
  }
  return undefined;
}

/** Azure VM / VMSS IMDS: `GET /metadata/identity/oauth2/token` (and `/metadata/instance` for detection). */
export function azureImdsService(runtime: Runtime): ServiceDefinition {
  return {
    name: "azureImds",
    prefix: "azure.imds",
    routes: [
      {
        name: "azure.imds.token",
        methods: ["GET"],
        path: /^\/metadata\/identity\/oauth2\/token\/?$/,
        handle: (request) => {
          const refused = refuseImdsRequest(request);
          if (refused) return refused;
          const query = request.url.searchParams;
          const issued = issueManagedIdentityToken(runtime, query);
          return issued.ok ? json(200, imdsTokenDocument(runtime, issued)) : issued.response;
        },
      },
      {
        name: "azure.imds.instance",
        methods: ["GET"],
        path: /^\/metadata\/instance\/?$/,
        handle: (request) =>
          refuseImdsRequest(request) ??
          json(200, {
            compute: {
              azEnvironment: "AzurePublicCloud",
              location: "westeurope",
              name: "wifkit-vm",
              resourceGroupName: "wifkit-rg",
              subscriptionId: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
              vmId: "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f",
            },
          }),
      },
    ],
    notFound: () => azureError(404, "not_found", "Not found"),
    faultResponse,
  };
}

/** App Service / Functions / Container Apps: `GET /msi/token?resource=R&api-version=2019-08-01` + `X-IDENTITY-HEADER`. */
export function azureAppServiceService(runtime: Runtime): ServiceDefinition {
  return {
    name: "azureAppService",
    prefix: "azure.appService",
    routes: [
      {
        name: "azure.appService.token",
        methods: ["GET"],
        path: /^\/msi\/token\/?$/,
        handle: (request) => {
          if (request.header("x-identity-header") !== runtime.state.azure.appService.identityHeader) {
            return azureError(
              401,
              "invalid_request",
              "The X-IDENTITY-HEADER header is missing or does not match.",
            );
          }
          const query = request.url.searchParams;
          if (!query.get("api-version")) {
            return azureError(400, "invalid_request", "Required query variable 'api-version' is missing");
          }
          const issued = issueManagedIdentityToken(runtime, query);
          if (!issued.ok) return issued.response;
          return json(200, {
            access_token: issued.token,
            expires_on: String(Math.floor(issued.expiresAt / SECONDS)),
            resource: issued.resource,
            token_type: "Bearer",
            client_id: issued.identity.clientId,
          });
        },
      },
    ],
    notFound: () => azureError(404, "not_found", "Not found"),
    faultResponse,
  };
}

/**
 * The Azure Arc agent: a first call without credentials gets 401 with `WWW-Authenticate: Basic realm=PATH`
 * (a fresh key file the agent just wrote); the retry proves it can read that file with
 * `Authorization: Basic CONTENT`.
 */
export function azureArcService(runtime: Runtime): ServiceDefinition {
  const keys = new Map<string, number>();
  const keyDirectory = join(runtime.tempDir, "arc-tokens");
  const challenge = (): ServiceResponse => {
    mkdirSync(keyDirectory, { recursive: true, mode: 0o700 });
    const secret = randomToken(32);
    const path = join(keyDirectory, `${randomToken(9)}.key`);
    writeFileSync(path, secret, { mode: 0o600 });
    // Valid for a minute, like the agent's short-lived key files.
    keys.set(secret, runtime.clock.now() + 60 * SECONDS);
    return json(
      401,
      {
        error: "unauthorized_client",
        error_description: "Basic authentication with the key file is required.",
      },
      { "www-authenticate": `Basic realm=${path}` },
    );
  };
  return {
    name: "azureArc",
    prefix: "azure.arc",
    routes: [
      {
        name: "azure.arc.token",
        methods: ["GET"],
        path: /^\/metadata\/identity\/oauth2\/token\/?$/,
        handle: (request) => {
          const refused = refuseImdsRequest(request);
          if (refused) return refused;
          const query = request.url.searchParams;
          const secret = /^Basic\s+(.+)$/i.exec(request.header("authorization") ?? "")?.[1]?.trim();
          const validUntil = secret === undefined ? undefined : keys.get(secret);
          if (validUntil === undefined || validUntil <= runtime.clock.now()) return challenge();
          const issued = issueManagedIdentityToken(runtime, query);
          return issued.ok ? json(200, imdsTokenDocument(runtime, issued)) : issued.response;
        },
      },
    ],
    notFound: () => azureError(404, "not_found", "Not found"),
    faultResponse,
  };
}
