import path from "node:path";
import type { Clock, MemoizeOptions, Sleep, SubjectToken } from "@wifkit/core";
import { WifError } from "@wifkit/core";
import type { HttpTransport, RetryPolicy } from "@wifkit/http";
import { AZURE_ERROR_CODES } from "./errors.js";

/** The Azure platforms a managed identity token can come from, in detection order. */
export type AzureSourceName = "aks" | "app-service" | "arc" | "imds";

export const AZURE_SOURCES: readonly AzureSourceName[] = Object.freeze(["aks", "app-service", "arc", "imds"]);

/** VM / VMSS Instance Metadata Service base URL. Overridden by `AZURE_IMDS_ENDPOINT` or `AZURE_POD_IDENTITY_AUTHORITY_HOST`. */
export const DEFAULT_AZURE_IMDS_ENDPOINT = "http://169.254.169.254";
export const AZURE_IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token";
export const AZURE_IMDS_API_VERSION = "2018-02-01";
export const APP_SERVICE_API_VERSION = "2019-08-01";
export const ARC_API_VERSION = "2019-11-01";
/** Entra ID authority for AKS workload identity. Overridden by `AZURE_AUTHORITY_HOST`. */
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com/";
/** Where the Azure Connected Machine agent writes its challenge keys on Linux. */
export const DEFAULT_ARC_KEY_DIRECTORY_LINUX = "/var/opt/azcmagent/tokens";
/** The Arc agent's keys are a few dozen bytes; anything much larger is not one. */
export const ARC_KEY_FILE_MAX_BYTES = 4096;
/** How long the IMDS reachability probe waits: IMDS is link-local, so on Azure it answers in milliseconds. */
export const DEFAULT_AZURE_IMDS_PROBE_TIMEOUT_MS = 1_000;
/** Per-attempt timeout of token requests. */
export const DEFAULT_AZURE_TIMEOUT_MS = 10_000;

/**
 * Azure's guidance for managed identity endpoints: retry 404 (the identity is still being set up), 410
 * (IMDS is updating), 429 and 5xx with exponential backoff. Entra ID's own endpoint uses core's default set.
 */
export const isAzureRetryableStatus = (status: number): boolean =>
  status === 404 || status === 408 || status === 410 || status === 429 || status >= 500;

export const DEFAULT_AZURE_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  retries: 5,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  totalTimeoutMs: 30_000,
  retryOnStatus: isAzureRetryableStatus,
});

/** Options of `fromAzure`. Explicit options win over environment variables, which win over the defaults. */
export interface AzureSupplierInit {
  /**
   * The Application ID URI of the Entra application the Google provider trusts (its "allowed audience"),
   * e.g. `api://my-wif-app`. A trailing `/.default` is removed.
   */
  resource: string;
  /**
   * Client id of a user-assigned managed identity (IMDS, App Service) or of the AKS workload identity.
   * Default `AZURE_CLIENT_ID` when neither `objectId` nor `msiResId` is given.
   */
  clientId?: string;
  /** Object (principal) id of a user-assigned managed identity (IMDS, App Service). */
  objectId?: string;
  /** ARM resource id of a user-assigned managed identity (IMDS `msi_res_id`, App Service `mi_res_id`). */
  msiResId?: string;
  /** Use only this source instead of detecting one. */
  source?: AzureSourceName;
  /** AKS: tenant id (overrides `AZURE_TENANT_ID`). */
  tenantId?: string;
  /** AKS: Entra authority host (overrides `AZURE_AUTHORITY_HOST`, default `DEFAULT_AUTHORITY_HOST`). */
  authorityHost?: string;
  /** AKS: the projected service account token file (overrides `AZURE_FEDERATED_TOKEN_FILE`). */
  federatedTokenFile?: string;
  /** IMDS base URL or full token URL (overrides `AZURE_IMDS_ENDPOINT` / `AZURE_POD_IDENTITY_AUTHORITY_HOST`). */
  imdsEndpoint?: string;
  /**
   * The only directory an Azure Arc challenge may point into. Default: `/var/opt/azcmagent/tokens` on Linux,
   * `%ProgramData%\AzureConnectedMachineAgent\Tokens` on Windows; other platforms have none.
   */
  arcKeyDirectory?: string;
  /** Environment to read instead of `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  transport?: HttpTransport;
  clock?: Clock;
  /** Per-attempt timeout of token requests. Default `DEFAULT_AZURE_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** How long the IMDS reachability probe waits. Default `DEFAULT_AZURE_IMDS_PROBE_TIMEOUT_MS`. */
  probeTimeoutMs?: number;
  /** Overrides of `DEFAULT_AZURE_RETRY_POLICY`, or `false` for a single attempt. */
  retry?: Partial<RetryPolicy> | false;
  /** Timer for request timeouts, the probe and retry waits (tests pass virtual time). Default: real timers. */
  sleep?: Sleep;
  /** Refresh the cached token this long before it expires. Default core's `DEFAULT_REFRESH_BEFORE_MS` (5 min). */
  refreshBeforeMs?: number;
  /** Called after each token fetch (core's `memoize` hook: kind, duration, expiry). */
  onRefresh?: MemoizeOptions<SubjectToken>["onRefresh"];
  /** Called after each failed fetch (core's `memoize` hook: kind, error, backoff). */
  onError?: MemoizeOptions<SubjectToken>["onError"];
  /** How long "not on Azure" is remembered before looking again. Default core's `DEFAULT_UNAVAILABLE_FOR_MS`. */
  unavailableForMs?: number;
  /** Random source in [0, 1) for backoff jitter (tests pass a fixed one). */
  random?: () => number;
}

export type UserAssignedIdentity =
  | { kind: "clientId"; value: string }
  | { kind: "objectId"; value: string }
  | { kind: "msiResId"; value: string };

/** What every source needs, resolved once from the options. */
export interface ResolvedInit {
  resource: string;
  warnings: string[];
  identity: UserAssignedIdentity | undefined;
  init: AzureSupplierInit;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  probeTimeoutMs: number;
  retry: Partial<RetryPolicy> | false;
}

/** Validates the options up front, so a typo fails when the supplier is built rather than at the first refresh. */
export function resolveInit(init: AzureSupplierInit): ResolvedInit {
  const { resource, warnings } = normalizeResource(init.resource);
  const selectors = (["clientId", "objectId", "msiResId"] as const).filter((key) => init[key] !== undefined);
  if (selectors.length > 1) {
    throw configError(
      `Pass at most one of clientId, objectId and msiResId to select a user-assigned managed identity; got ${selectors.join(" and ")}.`,
    );
  }
  const kind = selectors[0];
  let identity: UserAssignedIdentity | undefined;
  if (kind) {
    const value = (init[kind] ?? "").trim();
    if (value === "") throw configError(`${kind} is empty; omit it to use the system-assigned identity.`);
    identity = { kind, value };
  }
  if (init.source !== undefined && !AZURE_SOURCES.includes(init.source)) {
    throw configError(`source must be one of ${AZURE_SOURCES.join(", ")}; got "${String(init.source)}".`);
  }
  return {
    resource,
    warnings,
    identity,
    init,
    env: init.env ?? process.env,
    timeoutMs: positive("timeoutMs", init.timeoutMs, DEFAULT_AZURE_TIMEOUT_MS),
    probeTimeoutMs: positive("probeTimeoutMs", init.probeTimeoutMs, DEFAULT_AZURE_IMDS_PROBE_TIMEOUT_MS),
    retry: init.retry === false ? false : { ...DEFAULT_AZURE_RETRY_POLICY, ...init.retry },
  };
}

/**
 * The resource is the Application ID URI exactly as the Entra application exposes it. `/.default` is an
 * OAuth v2 scope suffix, not part of the URI (the AKS exchange adds it itself), so a copied scope is
 * accepted with a note rather than sent to IMDS, which would answer `invalid_resource`.
 */
export function normalizeResource(raw: unknown): { resource: string; warnings: string[] } {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw configError(
      "resource is required: the Application ID URI of the Entra application your Google workload identity provider trusts (e.g. api://my-app).",
    );
  }
  if (/\s/.test(raw)) {
    throw configError(
      `resource "${raw.trim()}" contains whitespace; an Application ID URI never does. Copy it from the Entra application's "Expose an API" page.`,
    );
  }
  const warnings: string[] = [];
  let resource = raw;
  if (/\/\.default$/i.test(resource)) {
    resource = resource.replace(/\/\.default$/i, "");
    warnings.push(
      `resource "${raw}" ends with the scope suffix /.default; using the Application ID URI "${resource}".`,
    );
  }
  if (resource === "")
    throw configError(`resource "${raw}" is only a scope suffix, not an Application ID URI.`);
  return { resource, warnings };
}

/** Parses an endpoint from an option or environment variable, naming where it came from when it is unusable. */
export function parseEndpoint(value: string, origin: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(`${origin} is not a URL: "${value}".`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw configError(`${origin} must be an http or https URL; got ${url.protocol}.`);
  }
  return url;
}

/** The Arc key directory for this platform, or undefined where the Arc agent does not run. */
export function defaultArcKeyDirectory(
  platform: NodeJS.Platform,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (platform === "linux") return DEFAULT_ARC_KEY_DIRECTORY_LINUX;
  if (platform === "win32") {
    return path.win32.join(env.ProgramData ?? "C:\\ProgramData", "AzureConnectedMachineAgent", "Tokens");
  }
  return undefined;
}

/**
 * The user-assigned identity IMDS and App Service should ask for: the option, else `AZURE_CLIENT_ID` (the
 * variable Azure's own SDKs read for this, so a workload configured for them behaves the same here).
 */
export function managedIdentitySelector(resolved: ResolvedInit): UserAssignedIdentity | undefined {
  if (resolved.identity) return resolved.identity;
  const clientId = resolved.env.AZURE_CLIENT_ID?.trim();
  return clientId ? { kind: "clientId", value: clientId } : undefined;
}

export function configError(message: string, cause?: unknown): WifError {
  return new WifError(message, { code: AZURE_ERROR_CODES.configInvalid, cause });
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw configError(`${name} must be a positive number of milliseconds.`);
  return value;
}
