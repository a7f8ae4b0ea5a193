import { rfc3339 } from "../clock.js";
import type { ServiceAccountState } from "../config.js";
import type { Runtime } from "../runtime.js";
import {
  json,
  jsonObjectBody,
  type ServiceDefinition,
  type ServiceRequest,
  type ServiceResponse,
} from "../server.js";
import { callerMatcher, googleCaller, holdsRole, serviceAccountMatcher } from "./google-auth.js";
import { errorInfo, googleApiError, permissionDenied, unauthenticated } from "./google-errors.js";
import { CLOUD_PLATFORM_SCOPE } from "./google-sts.js";
import { serviceDisabled } from "./service-usage.js";

/** Roles that carry iam.serviceAccounts.getAccessToken / getOpenIdToken on a service account. */
const IMPERSONATION_ROLES = ["roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator"];
/** Roles that carry iam.serviceAccounts.implicitDelegation (needed on every delegate in a chain). */
const DELEGATION_ROLES = ["roles/iam.serviceAccountTokenCreator"];
const IAM_SCOPES = new Set([CLOUD_PLATFORM_SCOPE, "https://www.googleapis.com/auth/iam"]);
const DEFAULT_LIFETIME_SECONDS = 3600;
const ID_TOKEN_LIFETIME_SECONDS = 3600;

type Method = "generateAccessToken" | "generateIdToken";
const PERMISSIONS: Record<Method, string> = {
  generateAccessToken: "iam.serviceAccounts.getAccessToken",
  generateIdToken: "iam.serviceAccounts.getOpenIdToken",
};

/** IAM Credentials: `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken|generateIdToken`. */
export function iamCredentialsService(runtime: Runtime): ServiceDefinition {
  const route = (method: Method) => ({
    name: `iam.${method}`,
    methods: ["POST"],
    path: new RegExp(`^/v1/projects/(?<project>[^/]+)/serviceAccounts/(?<account>[^/:]+):${method}$`),
    handle: (request: ServiceRequest, params: Record<string, string>) =>
      generate(runtime, method, request, params),
  });
  return {
    name: "iamCredentials",
    prefix: "iam",
    routes: [route("generateAccessToken"), route("generateIdToken")],
    notFound: (request) =>
      googleApiError(404, `The requested URL ${request.path} was not found on this server.`),
    faultResponse: (status) => googleApiError(status),
  };
}

async function generate(
  runtime: Runtime,
  method: Method,
  request: ServiceRequest,
  params: Record<string, string>,
): Promise<ServiceResponse> {
  const caller = googleCaller(runtime, request);
  if (!caller) return unauthenticated();
  const disabled = serviceDisabled(runtime, "iamcredentials.googleapis.com");
  if (disabled) return disabled;
  if (!caller.scopes.some((scope) => IAM_SCOPES.has(scope))) {
    return googleApiError(403, "Request had insufficient authentication scopes.", {
      details: [
        errorInfo("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "googleapis.com", {
          service: "iamcredentials.googleapis.com",
          method: `google.iam.credentials.v1.IAMCredentials.${method}`,
        }),
      ],
    });
  }

  const parsed = jsonObjectBody(request);
  if (!parsed) return googleApiError(400, "Invalid JSON payload received. Expected a JSON object.");
  const body = protoJsonFields(parsed);

  const project = params.project ?? "";
  if (project !== "-" && project !== runtime.state.projectId) {
    return googleApiError(
      400,
      `Invalid project "${project}" in the resource name: use "-" or the service account's project.`,
    );
  }
  const target = findServiceAccount(runtime, params.account ?? "");
  const permission = PERMISSIONS[method];
  if (!target) return missingServiceAccount(runtime, params.account ?? "", permission);

  const delegates = body.delegates ?? [];
  if (!Array.isArray(delegates) || delegates.some((delegate) => typeof delegate !== "string")) {
    return googleApiError(
      400,
      'Invalid value at "delegates": expected a list of "projects/-/serviceAccounts/EMAIL" names.',
    );
  }
  const chain: ServiceAccountState[] = [];
  for (const delegate of delegates as string[]) {
    const email = /^projects\/[^/]+\/serviceAccounts\/([^/]+)$/.exec(delegate)?.[1];
    if (!email)
      return googleApiError(
        400,
        `Invalid delegate "${delegate}": expected projects/-/serviceAccounts/EMAIL.`,
      );
    const account = findServiceAccount(runtime, email);
    if (!account) return missingServiceAccount(runtime, email, "iam.serviceAccounts.implicitDelegation");
    chain.push(account);
  }

  // The caller must be allowed on the first hop; each delegate must be allowed on the next one.
  const hops = [...chain, target];
  let matches = callerMatcher(caller);
  for (const [index, hop] of hops.entries()) {
    const isTarget = index === hops.length - 1;
    const roles = isTarget ? IMPERSONATION_ROLES : [...IMPERSONATION_ROLES, ...DELEGATION_ROLES];
    if (hop.disabled || !holdsRole(hop.bindings, roles, matches)) {
      return permissionDenied(isTarget ? permission : "iam.serviceAccounts.implicitDelegation");
    }
    matches = serviceAccountMatcher(hop.email);
  }

  if (method === "generateAccessToken") return accessToken(runtime, target, body, delegates as string[]);
  return idToken(runtime, target, body);
}

function accessToken(
  runtime: Runtime,
  target: ServiceAccountState,
  body: Record<string, unknown>,
  delegates: string[],
): ServiceResponse {
  const scope = body.scope;
  if (
    !Array.isArray(scope) ||
    scope.length === 0 ||
    scope.some((item) => typeof item !== "string" || item === "")
  ) {
    return googleApiError(400, "Scope required.");
  }
  let lifetimeSeconds = DEFAULT_LIFETIME_SECONDS;
  if (body.lifetime !== undefined) {
    const parsed = typeof body.lifetime === "string" ? /^(\d+)(?:\.\d{1,9})?s$/.exec(body.lifetime) : null;
    if (!parsed)
      return googleApiError(400, 'Invalid value at "lifetime": expected a duration such as "3600s".');
    lifetimeSeconds = Number(parsed[1]);
  }
  const max = runtime.state.iam.maxAccessTokenLifetimeSeconds;
  if (lifetimeSeconds < 1 || lifetimeSeconds > max) {
    return googleApiError(
      400,
      `The lifetime requested (${lifetimeSeconds}s) is outside the allowed range: 1s to ${max}s${max < 43200 ? " (longer lifetimes need the iam.allowServiceAccountCredentialLifetimeExtension organization policy)" : ""}.`,
    );
  }
  const record = runtime.googleTokens.issue({
    kind: "serviceAccount",
    email: target.email,
    delegates,
    scopes: scope as string[],
    lifetimeMs: lifetimeSeconds * 1000,
  });
  return json(200, { accessToken: record.token, expireTime: rfc3339(record.expiresAt) });
}

function idToken(
  runtime: Runtime,
  target: ServiceAccountState,
  body: Record<string, unknown>,
): ServiceResponse {
  const audience = body.audience;
  if (typeof audience !== "string" || audience === "") return googleApiError(400, "Audience required.");
  if (body.includeEmail !== undefined && typeof body.includeEmail !== "boolean") {
    return googleApiError(400, 'Invalid value at "include_email": expected true or false.');
  }
  const now = Math.floor(runtime.clock.now() / 1000);
  const claims: Record<string, unknown> = {
    aud: audience,
    azp: target.uniqueId,
    exp: now + ID_TOKEN_LIFETIME_SECONDS,
    iat: now,
    iss: "https://accounts.google.com",
    sub: target.uniqueId,
  };
  if (body.includeEmail === true) {
    claims.email = target.email;
    claims.email_verified = true;
  }
  return json(200, { token: runtime.keys.google.signJwt(claims) });
}

function findServiceAccount(runtime: Runtime, emailOrId: string): ServiceAccountState | undefined {
  const wanted = emailOrId.toLowerCase();
  return Object.values(runtime.state.serviceAccounts).find(
    (account) => account.email === wanted || account.uniqueId === wanted,
  );
}

function missingServiceAccount(runtime: Runtime, email: string, permission: string): ServiceResponse {
  if (runtime.state.iam.unknownServiceAccount === "permission-denied") return permissionDenied(permission);
  return googleApiError(404, `Not found; Gaia id not found for email ${email}`);
}

/**
 * Request fields as proto3 JSON reads them: the lowerCamelCase or the original snake_case name, and
 * `null` as "not set" (Python's google-auth sends `"delegates": null`).
 */
function protoJsonFields(body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === null) continue;
    fields[key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())] = value;
  }
  return fields;
}
