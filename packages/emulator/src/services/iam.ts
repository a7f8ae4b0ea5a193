import type { ServiceAccountState } from "../config.js";
import type { Runtime } from "../runtime.js";
import {
  json,
  jsonObjectBody,
  type Route,
  type ServiceDefinition,
  type ServiceRequest,
  type ServiceResponse,
} from "../server.js";
import { type AdminHandler, adminRoute, applyChange, invalidArgument } from "./admin-api.js";
import { googleApiError } from "./google-errors.js";
import { isStale, policyBindings, policyEtag, readPolicy } from "./iam-policy.js";
import { Operations } from "./operations.js";
import { workloadIdentityPoolRoutes } from "./workload-identity-pools.js";

/** Service account ids: 6-30 characters, a lowercase letter first, no trailing hyphen. */
const ACCOUNT_ID = /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/;

/** Roles IAM accepts on a service account (basic roles, IAM roles and custom roles). */
function serviceAccountRole(role: string): boolean {
  return (
    role.startsWith("roles/iam.") ||
    ["roles/owner", "roles/editor", "roles/viewer"].includes(role) ||
    !role.startsWith("roles/")
  );
}

/**
 * The IAM admin API (`iam.googleapis.com/v1`): workload identity pools and providers (see
 * workload-identity-pools.ts), and service accounts with their IAM policy, which is where
 * `roles/iam.workloadIdentityUser` is granted to federated principals.
 */
export function iamService(runtime: Runtime): ServiceDefinition {
  return {
    name: "iam",
    prefix: "iam",
    routes: [...workloadIdentityPoolRoutes(runtime, new Operations()), ...serviceAccountRoutes(runtime)],
    notFound: (request) =>
      googleApiError(404, `The requested URL ${request.path} was not found on this server.`),
    faultResponse: (status) => googleApiError(status),
  };
}

function serviceAccountRoutes(runtime: Runtime): Route[] {
  const accounts = "^/v1/projects/(?<project>[^/]+)/serviceAccounts";
  const account = `${accounts}/(?<account>[^/:]+)`;
  const route = (name: string, method: string, path: string, handle: AdminHandler) =>
    adminRoute(runtime, `iam.serviceAccounts.${name}`, method, path, handle);
  /** Runs `handle` on the service account the path names (by email or unique id), or answers 404. */
  const withAccount =
    (handle: (request: ServiceRequest, account: ServiceAccountState) => ServiceResponse) =>
    (request: ServiceRequest, params: Record<string, string>) => {
      const wanted = (params.account ?? "").toLowerCase();
      const found = Object.values(runtime.state.serviceAccounts).find(
        (candidate) => candidate.email === wanted || candidate.uniqueId === wanted,
      );
      if (!found) return googleApiError(404, `Unknown service account ${params.account}`);
      return handle(request, found);
    };
  const accountJson = (sa: ServiceAccountState) => ({
    name: `projects/${runtime.state.projectId}/serviceAccounts/${sa.email}`,
    projectId: runtime.state.projectId,
    uniqueId: sa.uniqueId,
    email: sa.email,
    ...(sa.displayName !== undefined ? { displayName: sa.displayName } : {}),
    ...(sa.description !== undefined ? { description: sa.description } : {}),
    etag: "MDEwMjE5MjA=",
    oauth2ClientId: sa.uniqueId,
    ...(sa.disabled ? { disabled: true } : {}),
  });
  const policyJson = (sa: ServiceAccountState) => {
    const bindings = policyBindings(sa.bindings);
    return { version: 1, etag: policyEtag(sa.bindings), ...(bindings.length > 0 ? { bindings } : {}) };
  };

  return [
    route("create", "POST", accounts, (request) => {
      const body = jsonObjectBody(request);
      const id = body?.accountId;
      if (typeof id !== "string" || !ACCOUNT_ID.test(id)) {
        return invalidArgument(
          `Invalid value at "account_id" (${JSON.stringify(id)}): it must be 6 to 30 characters of [a-z0-9-], start with a lowercase letter and not end with a hyphen.`,
        );
      }
      const email = `${id}@${runtime.state.projectId}.iam.gserviceaccount.com`;
      if (Object.values(runtime.state.serviceAccounts).some((sa) => sa.email === email)) {
        return googleApiError(
          409,
          `Service account ${id} already exists within project projects/${runtime.state.projectId}.`,
          {
            status: "ALREADY_EXISTS",
          },
        );
      }
      const details = (body?.serviceAccount ?? {}) as Record<string, unknown>;
      const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
      const displayName = text(details.displayName);
      const description = text(details.description);
      return (
        applyChange(runtime, (config) => {
          config.serviceAccounts = {
            ...config.serviceAccounts,
            [id]: {
              email,
              bindings: {},
              ...(displayName !== undefined ? { displayName } : {}),
              ...(description !== undefined ? { description } : {}),
            },
          };
        }) ?? json(200, accountJson(runtime.state.serviceAccounts[id]!))
      );
    }),
    route("list", "GET", accounts, () => {
      const list = Object.values(runtime.state.serviceAccounts).map(accountJson);
      return json(200, list.length > 0 ? { accounts: list } : {});
    }),
    route(
      "get",
      "GET",
      account,
      withAccount((_request, sa) => json(200, accountJson(sa))),
    ),
    route(
      "delete",
      "DELETE",
      account,
      withAccount(
        (_request, sa) =>
          applyChange(runtime, (config) => {
            delete config.serviceAccounts![sa.id];
          }) ?? json(200, {}),
      ),
    ),
    route(
      "getIamPolicy",
      "POST",
      `${account}:getIamPolicy`,
      withAccount((_request, sa) => json(200, policyJson(sa))),
    ),
    route(
      "setIamPolicy",
      "POST",
      `${account}:setIamPolicy`,
      withAccount((request, sa) => {
        const policy = readPolicy(jsonObjectBody(request)?.policy, serviceAccountRole);
        if (!policy.ok) return invalidArgument(policy.problem);
        if (isStale(policy, sa.bindings)) {
          return googleApiError(
            409,
            "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
            { status: "ABORTED" },
          );
        }
        return (
          applyChange(runtime, (config) => {
            config.serviceAccounts![sa.id]!.bindings = policy.bindings;
          }) ?? json(200, policyJson(runtime.state.serviceAccounts[sa.id]!))
        );
      }),
    ),
  ];
}
