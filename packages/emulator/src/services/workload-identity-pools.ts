import { DEFAULT_AWS_MAPPING, parseMappingString } from "@wifkit/attribute-mapping";
import { rfc3339 } from "../clock.js";
import type { PoolConfig, PoolState, ProviderConfig, ProviderState } from "../config.js";
import { SOFT_DELETE_RETENTION_MS } from "../iam-rules.js";
import type { Runtime } from "../runtime.js";
import { json, jsonObjectBody, type Route, type ServiceRequest, type ServiceResponse } from "../server.js";
import { type AdminHandler, adminRoute, applyChange, invalidArgument } from "./admin-api.js";
import { googleApiError } from "./google-errors.js";
import type { Operations } from "./operations.js";

/**
 * IAM workload identity pools and providers (`iam.googleapis.com/v1`, projects.locations.
 * workloadIdentityPools[.providers]): create, get, list, patch, delete, undelete, and their operations,
 * which is what `gcloud iam workload-identity-pools [providers] ...` calls. Every change goes to the
 * emulator's one store, with Google's validation rules (IDs, display names, audiences, mapping and
 * condition limits) applied by the store itself.
 */
export function workloadIdentityPoolRoutes(runtime: Runtime, operations: Operations): Route[] {
  const base = "^/v1/projects/(?<project>[^/]+)/locations/(?<location>[^/]+)/workloadIdentityPools";
  const pool = `${base}/(?<pool>[^/:]+)`;
  const provider = `${pool}/providers/(?<provider>[^/:]+)`;

  /** Runs `handle` after the admin gate and the location check. */
  const route = (name: string, method: string, path: string, handle: AdminHandler) =>
    adminRoute(runtime, `iam.${name}`, method, path, (request, params) =>
      params.location === "global"
        ? handle(request, params)
        : invalidArgument(
            `Invalid location ${JSON.stringify(params.location)}: the only supported location for workload identity pools is global.`,
          ),
    );

  const findPool = (id: string) => runtime.state.pools[id];
  const poolNotFound = (id: string) =>
    googleApiError(404, `Requested entity was not found. (workload identity pool ${id})`);
  const providerNotFound = (poolId: string, id: string) =>
    googleApiError(
      404,
      `Requested entity was not found. (provider ${id} of workload identity pool ${poolId})`,
    );
  const done = (name: string, type: string, resource: Record<string, unknown>) =>
    json(
      200,
      operations.finish({
        prefix: name,
        response: { "@type": `type.googleapis.com/google.iam.v1.${type}`, ...resource },
      }),
    );
  const poolDone = (id: string) => {
    const current = findPool(id)!;
    return done(poolName(runtime, id), "WorkloadIdentityPool", poolJson(runtime, current));
  };
  const providerDone = (poolId: string, id: string) => {
    const current = findPool(poolId)!.providers[id]!;
    return done(current.resource, "WorkloadIdentityPoolProvider", providerJson(current));
  };
  const deleteTime = () => rfc3339(runtime.clock.now());

  return [
    route("pools.create", "POST", base, (request) => {
      const id = request.url.searchParams.get("workloadIdentityPoolId") ?? "";
      const body = jsonObjectBody(request);
      if (!body) return invalidArgument("Invalid JSON payload received.");
      if (findPool(id)) return alreadyExists();
      const fields = poolFields(body, Object.keys(body));
      if (typeof fields === "string") return invalidArgument(fields);
      return (
        applyChange(runtime, (config) => {
          config.pools = { ...config.pools, [id]: { disabled: false, ...fields, providers: {} } };
        }) ?? poolDone(id)
      );
    }),
    route("pools.list", "GET", base, (request) => {
      const showDeleted = request.url.searchParams.get("showDeleted")?.toLowerCase() === "true";
      const pools = Object.values(runtime.state.pools)
        .filter((candidate) => showDeleted || candidate.deleteTime === undefined)
        .map((candidate) => poolJson(runtime, candidate));
      return json(200, pools.length > 0 ? { workloadIdentityPools: pools } : {});
    }),
    route("pools.get", "GET", pool, (_request, params) => {
      const current = findPool(params.pool ?? "");
      return current ? json(200, poolJson(runtime, current)) : poolNotFound(params.pool ?? "");
    }),
    route("pools.patch", "PATCH", pool, (request, params) => {
      const id = params.pool ?? "";
      if (!findPool(id)) return poolNotFound(id);
      const body = jsonObjectBody(request);
      if (!body) return invalidArgument("Invalid JSON payload received.");
      const fields = poolFields(body, updateMask(request, body));
      if (typeof fields === "string") return invalidArgument(fields);
      return (
        applyChange(runtime, (config) => {
          Object.assign(config.pools![id]!, fields);
        }) ?? poolDone(id)
      );
    }),
    route("pools.delete", "DELETE", pool, (_request, params) => {
      const id = params.pool ?? "";
      const current = findPool(id);
      if (!current) return poolNotFound(id);
      if (current.deleteTime !== undefined)
        return failedPrecondition(`The workload identity pool ${id} is already deleted.`);
      return (
        applyChange(runtime, (config) => {
          config.pools![id]!.deleteTime = deleteTime();
        }) ?? poolDone(id)
      );
    }),
    route("pools.undelete", "POST", `${pool}:undelete`, (_request, params) => {
      const id = params.pool ?? "";
      const current = findPool(id);
      if (!current) return poolNotFound(id);
      if (current.deleteTime === undefined)
        return failedPrecondition(`The workload identity pool ${id} is not deleted.`);
      return (
        applyChange(runtime, (config) => {
          delete config.pools![id]!.deleteTime;
        }) ?? poolDone(id)
      );
    }),
    route("providers.create", "POST", `${pool}/providers`, (request, params) => {
      const poolId = params.pool ?? "";
      const parent = findPool(poolId);
      if (!parent) return poolNotFound(poolId);
      if (parent.deleteTime !== undefined) {
        return failedPrecondition(`The workload identity pool ${poolId} is deleted; undelete it first.`);
      }
      const id = request.url.searchParams.get("workloadIdentityPoolProviderId") ?? "";
      if (parent.providers[id]) return alreadyExists();
      const body = jsonObjectBody(request);
      if (!body) return invalidArgument("Invalid JSON payload received.");
      const type = body.aws !== undefined ? "aws" : body.oidc !== undefined ? "oidc" : undefined;
      if (body.saml !== undefined || body.x509 !== undefined) {
        return invalidArgument(
          "SAML and X.509 providers are not supported by the emulator (AWS and OIDC are).",
        );
      }
      if (type === undefined || (body.aws !== undefined && body.oidc !== undefined)) {
        return invalidArgument("A provider needs exactly one of aws or oidc.");
      }
      const fields = providerFields(type, body, Object.keys(body));
      if (typeof fields === "string") return invalidArgument(fields);
      return (
        applyChange(runtime, (config) => {
          const parentConfig = config.pools![poolId]!;
          parentConfig.providers = {
            ...parentConfig.providers,
            [id]: { type, disabled: false, ...(fields as Partial<ProviderConfig>) },
          };
        }) ?? providerDone(poolId, id)
      );
    }),
    route("providers.list", "GET", `${pool}/providers`, (request, params) => {
      const parent = findPool(params.pool ?? "");
      if (!parent) return poolNotFound(params.pool ?? "");
      const showDeleted = request.url.searchParams.get("showDeleted")?.toLowerCase() === "true";
      const providers = Object.values(parent.providers)
        .filter((candidate) => showDeleted || candidate.deleteTime === undefined)
        .map(providerJson);
      return json(200, providers.length > 0 ? { workloadIdentityPoolProviders: providers } : {});
    }),
    route("providers.get", "GET", provider, (_request, params) => {
      const current = findPool(params.pool ?? "")?.providers[params.provider ?? ""];
      return current
        ? json(200, providerJson(current))
        : providerNotFound(params.pool ?? "", params.provider ?? "");
    }),
    route("providers.patch", "PATCH", provider, (request, params) => {
      const poolId = params.pool ?? "";
      const id = params.provider ?? "";
      const current = findPool(poolId)?.providers[id];
      if (!current) return providerNotFound(poolId, id);
      const body = jsonObjectBody(request);
      if (!body) return invalidArgument("Invalid JSON payload received.");
      const fields = providerFields(current.type, body, updateMask(request, body));
      if (typeof fields === "string") return invalidArgument(fields);
      return (
        applyChange(runtime, (config) => {
          const stored = config.pools![poolId]!.providers![id]!;
          for (const [key, value] of Object.entries(fields)) {
            if (value === undefined) delete stored[key as keyof ProviderConfig];
            else Object.assign(stored, { [key]: value });
          }
        }) ?? providerDone(poolId, id)
      );
    }),
    route("providers.delete", "DELETE", provider, (_request, params) => {
      const poolId = params.pool ?? "";
      const id = params.provider ?? "";
      const current = findPool(poolId)?.providers[id];
      if (!current) return providerNotFound(poolId, id);
      if (current.deleteTime !== undefined)
        return failedPrecondition(`The provider ${id} is already deleted.`);
      return (
        applyChange(runtime, (config) => {
          config.pools![poolId]!.providers![id]!.deleteTime = deleteTime();
        }) ?? providerDone(poolId, id)
      );
    }),
    route("providers.undelete", "POST", `${provider}:undelete`, (_request, params) => {
      const poolId = params.pool ?? "";
      const id = params.provider ?? "";
      const current = findPool(poolId)?.providers[id];
      if (!current) return providerNotFound(poolId, id);
      if (current.deleteTime === undefined) return failedPrecondition(`The provider ${id} is not deleted.`);
      return (
        applyChange(runtime, (config) => {
          delete config.pools![poolId]!.providers![id]!.deleteTime;
        }) ?? providerDone(poolId, id)
      );
    }),
    route("pools.operations.get", "GET", `${pool}(?:/providers/[^/:]+)?/operations/[^/]+`, (request) => {
      const name = request.path
        .replace(/^\/v1\//, "")
        .replace(/^projects\/[^/]+/, `projects/${runtime.state.projectNumber}`);
      const operation = operations.get(decodeURIComponent(name));
      return operation ? json(200, operation) : googleApiError(404);
    }),
  ];
}

function poolName(runtime: Runtime, id: string): string {
  return `projects/${runtime.state.projectNumber}/locations/global/workloadIdentityPools/${id}`;
}

function softDeleteFields(deleteTime: string | undefined) {
  if (deleteTime === undefined) return { state: "ACTIVE" };
  return { state: "DELETED", expireTime: rfc3339(Date.parse(deleteTime) + SOFT_DELETE_RETENTION_MS) };
}

/** A pool as the IAM API returns it. */
function poolJson(runtime: Runtime, pool: PoolState): Record<string, unknown> {
  return {
    name: poolName(runtime, pool.id),
    ...(pool.displayName !== undefined ? { displayName: pool.displayName } : {}),
    ...(pool.description !== undefined ? { description: pool.description } : {}),
    ...softDeleteFields(pool.deleteTime),
    disabled: pool.disabled,
  };
}

/** A provider as the IAM API returns it; an AWS provider without a mapping shows Google's default. */
function providerJson(provider: ProviderState): Record<string, unknown> {
  const mapping =
    typeof provider.attributeMapping === "string"
      ? parseMappingString(provider.attributeMapping)
      : provider.attributeMapping;
  const empty = mapping === undefined || Object.keys(mapping).length === 0;
  return {
    name: provider.resource,
    ...(provider.displayName !== undefined ? { displayName: provider.displayName } : {}),
    ...(provider.description !== undefined ? { description: provider.description } : {}),
    ...softDeleteFields(provider.deleteTime),
    disabled: provider.disabled,
    attributeMapping: empty && provider.type === "aws" ? { ...DEFAULT_AWS_MAPPING } : (mapping ?? {}),
    ...(provider.attributeCondition !== undefined ? { attributeCondition: provider.attributeCondition } : {}),
    ...(provider.type === "aws"
      ? { aws: { accountId: provider.awsAccountId } }
      : {
          oidc: {
            issuerUri: provider.issuerUri,
            ...(provider.allowedAudiences.length > 0 ? { allowedAudiences: provider.allowedAudiences } : {}),
          },
        }),
  };
}

/** The fields `updateMask` names (`displayName,oidc.allowedAudiences`), or every field of the body. */
function updateMask(request: ServiceRequest, body: Record<string, unknown>): string[] {
  const mask = request.url.searchParams.get("updateMask");
  if (mask === null || mask.trim() === "") return Object.keys(body);
  return mask
    .split(",")
    .map((path) => path.trim().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()));
}

type Fields<T> = Partial<T> | string;

function text(body: Record<string, unknown>, key: string): string | undefined | Error {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : new Error(`Invalid value at "${key}": expected a string.`);
}

/** Pool fields from a create or patch body, limited to `paths`; a string is the problem. */
function poolFields(body: Record<string, unknown>, paths: string[]): Fields<PoolConfig> {
  const fields: Partial<PoolConfig> = {};
  for (const path of paths) {
    if (path === "displayName" || path === "description") {
      const value = text(body, path);
      if (value instanceof Error) return value.message;
      if (value !== undefined) fields[path] = value;
    } else if (path === "disabled") {
      if (body.disabled !== undefined && typeof body.disabled !== "boolean") {
        return 'Invalid value at "disabled": expected true or false.';
      }
      fields.disabled = body.disabled === true;
    }
    // Output-only fields (name, state, expireTime) and unsupported ones (sessionDuration, mode) are ignored.
  }
  return fields;
}

/**
 * Provider fields from a create or patch body, limited to `paths` (`aws`, `oidc.issuerUri`, ...). A cleared
 * field is `undefined`; a string is the problem.
 */
function providerFields(
  type: "aws" | "oidc",
  body: Record<string, unknown>,
  paths: string[],
): Fields<Record<keyof ProviderConfig, unknown>> {
  const fields: Partial<Record<keyof ProviderConfig, unknown>> = {};
  const aws = (body.aws ?? {}) as Record<string, unknown>;
  const oidc = (body.oidc ?? {}) as Record<string, unknown>;
  for (const path of paths) {
    const [head, tail] = path.split(".", 2) as [string, string | undefined];
    if (head === "displayName" || head === "description" || head === "attributeCondition") {
      const value = text(body, head);
      if (value instanceof Error) return value.message;
      fields[head] = value === "" && head === "attributeCondition" ? undefined : value;
    } else if (head === "disabled") {
      if (body.disabled !== undefined && typeof body.disabled !== "boolean") {
        return 'Invalid value at "disabled": expected true or false.';
      }
      fields.disabled = body.disabled === true;
    } else if (head === "attributeMapping") {
      const mapping = body.attributeMapping;
      if (mapping !== undefined && mapping !== null) {
        if (typeof mapping !== "object" || Array.isArray(mapping)) {
          return 'Invalid value at "attribute_mapping": expected a map of strings.';
        }
        if (Object.values(mapping).some((value) => typeof value !== "string")) {
          return 'Invalid value at "attribute_mapping": every expression must be a string.';
        }
      }
      fields.attributeMapping = mapping ?? undefined;
    } else if (head === "aws" || head === "oidc") {
      if (head !== type) return `This is an ${type.toUpperCase()} provider: ${head} cannot be set on it.`;
      const problem = type === "aws" ? awsFields(aws, tail, fields) : oidcFields(oidc, tail, fields);
      if (problem) return problem;
    }
  }
  return fields;
}

function awsFields(aws: Record<string, unknown>, path: string | undefined, fields: Record<string, unknown>) {
  if (path !== undefined && path !== "accountId") return undefined;
  if (typeof aws.accountId !== "string")
    return 'Invalid value at "aws.account_id": the AWS account ID is required.';
  fields.awsAccountId = aws.accountId;
  return undefined;
}

function oidcFields(
  oidc: Record<string, unknown>,
  path: string | undefined,
  fields: Record<string, unknown>,
) {
  if (path === undefined || path === "issuerUri") {
    if (typeof oidc.issuerUri !== "string" || oidc.issuerUri === "") {
      return 'Invalid value at "oidc.issuer_uri": the issuer URI is required.';
    }
    fields.issuerUri = oidc.issuerUri;
  }
  if (path === undefined || path === "allowedAudiences") {
    const audiences = oidc.allowedAudiences ?? [];
    if (!Array.isArray(audiences) || audiences.some((audience) => typeof audience !== "string")) {
      return 'Invalid value at "oidc.allowed_audiences": expected a list of strings.';
    }
    fields.allowedAudiences = audiences;
  }
  return undefined;
}

function alreadyExists(): ServiceResponse {
  return googleApiError(409, "Requested entity already exists", { status: "ALREADY_EXISTS" });
}

function failedPrecondition(message: string): ServiceResponse {
  return googleApiError(400, message, { status: "FAILED_PRECONDITION" });
}
