import type { Env } from "@wifkit/core";
import type { AzureSourceName } from "./options.js";
import { DEFAULT_AZURE_IMDS_ENDPOINT } from "./options.js";

/** Options of `detectAzureSource`: the same explicit values `fromAzure` accepts, and the environment. */
export interface DetectAzureSourceOptions {
  env?: Env;
  clientId?: string;
  tenantId?: string;
  federatedTokenFile?: string;
  imdsEndpoint?: string;
}

/** One source's verdict: whether the environment selects it, and what was looked at. */
export interface AzureSourceCheck {
  source: AzureSourceName;
  applies: boolean;
  /** "AKS workload identity: AZURE_TENANT_ID not set", for the "not on Azure" message and `wif explain`. */
  detail: string;
}

export interface AzureSourceDetection {
  /**
   * The first source the environment selects. `"imds"` when no variables point elsewhere: IMDS is the
   * remaining candidate, not yet known to answer (`fromAzure` probes it before relying on it).
   */
  source: AzureSourceName;
  checks: AzureSourceCheck[];
}

const LABELS: Record<AzureSourceName, string> = {
  aks: "AKS workload identity",
  "app-service": "App Service / Functions / Container Apps",
  arc: "Azure Arc",
  imds: "VM / VMSS IMDS",
};

export function sourceLabel(source: AzureSourceName): string {
  return LABELS[source];
}

/**
 * Tells which Azure source the environment selects, in the order `fromAzure` tries them: AKS workload
 * identity (`AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`), App Service
 * (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), Azure Arc (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`), else VM IMDS.
 * Reads only the environment (no I/O), so a CLI can explain its choice before fetching anything.
 *
 * @example
 * const { source, checks } = detectAzureSource();
 * for (const check of checks) console.log(check.applies ? "yes" : "no ", check.detail);
 */
export function detectAzureSource(options: DetectAzureSourceOptions = {}): AzureSourceDetection {
  const env = options.env ?? process.env;
  const checks: AzureSourceCheck[] = [
    check("aks", {
      AZURE_FEDERATED_TOKEN_FILE: options.federatedTokenFile ?? env.AZURE_FEDERATED_TOKEN_FILE,
      AZURE_CLIENT_ID: options.clientId ?? env.AZURE_CLIENT_ID,
      AZURE_TENANT_ID: options.tenantId ?? env.AZURE_TENANT_ID,
    }),
    check("app-service", { IDENTITY_ENDPOINT: env.IDENTITY_ENDPOINT, IDENTITY_HEADER: env.IDENTITY_HEADER }),
    check("arc", { IDENTITY_ENDPOINT: env.IDENTITY_ENDPOINT, IMDS_ENDPOINT: env.IMDS_ENDPOINT }),
    {
      source: "imds",
      applies: true,
      detail: `${LABELS.imds}: ${imdsOrigin(options, env)} (the fallback; answers only on an Azure VM or VMSS)`,
    },
  ];
  const first = checks.find((candidate) => candidate.applies);
  return { source: first?.source ?? "imds", checks };
}

function check(source: AzureSourceName, variables: Record<string, string | undefined>): AzureSourceCheck {
  const missing = Object.entries(variables)
    .filter(([, value]) => value === undefined || value.trim() === "")
    .map(([name]) => name);
  return {
    source,
    applies: missing.length === 0,
    detail:
      missing.length === 0
        ? `${LABELS[source]}: ${Object.keys(variables).join(", ")} set`
        : `${LABELS[source]}: ${missing.join(", ")} not set`,
  };
}

/** Where IMDS is looked for: option, `AZURE_IMDS_ENDPOINT`, `AZURE_POD_IDENTITY_AUTHORITY_HOST`, default. */
export function imdsEndpointSetting(
  options: { imdsEndpoint?: string },
  env: Env,
): { value: string; origin: string } {
  if (options.imdsEndpoint !== undefined) return { value: options.imdsEndpoint, origin: "imdsEndpoint" };
  for (const name of ["AZURE_IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST"]) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") return { value: value.trim(), origin: name };
  }
  return { value: DEFAULT_AZURE_IMDS_ENDPOINT, origin: "the default IMDS address" };
}

function imdsOrigin(options: { imdsEndpoint?: string }, env: Env): string {
  const { value, origin } = imdsEndpointSetting(options, env);
  return origin === "the default IMDS address" ? value : `${value} (from ${origin})`;
}
