import type { Clock, Provider, ProviderOptions, SubjectToken, SubjectTokenSupplier } from "@wifkit/core";
import {
  memoize,
  rememberUnavailable,
  SourceUnavailableError,
  SUBJECT_TOKEN_TYPES,
  systemClock,
} from "@wifkit/core";
import { fetchAksToken } from "./aks.js";
import { fetchAppServiceToken } from "./app-service.js";
import { fetchArcToken } from "./arc.js";
import type { AzureSourceCheck } from "./detect.js";
import { detectAzureSource, sourceLabel } from "./detect.js";
import { AZURE_ERROR_CODES } from "./errors.js";
import { fetchImdsToken, probeImds } from "./imds.js";
import { azureOptionsFromImdsUrl } from "./imds-url.js";
import type { AzureSourceName, AzureSupplierInit, ResolvedInit } from "./options.js";
import { resolveInit } from "./options.js";
import type { AzureToken } from "./response.js";

/** What `fromAzure` returns: a subject token supplier, plus what it resolved and which source answered. */
export type AzureSubjectTokenSupplier = SubjectTokenSupplier & {
  /** The Application ID URI requested (after removing a `/.default` suffix). */
  readonly resource: string;
  /** Notes about the options, e.g. a stripped `/.default`; a CLI prints them. */
  readonly warnings: readonly string[];
  /** The source of the last token fetched, undefined before the first. */
  lastSource(): AzureSourceName | undefined;
};

/**
 * A subject token supplier (type `urn:ietf:params:oauth:token-type:jwt`) that gets an Azure managed
 * identity token for `resource`, the Application ID URI your Google workload identity provider trusts.
 * Without `source` it detects where it runs, in this order: AKS workload identity, App Service / Functions /
 * Container Apps, Azure Arc, VM / VMSS IMDS (probed with a short timeout; a server there that does not
 * answer as Azure's IMDS does, such as another cloud's metadata server, does not count). Off Azure it fails
 * fast with a `SourceUnavailableError` `ERR_WIF_AZURE_NOT_ON_AZURE` listing what it checked, and remembers
 * that for `unavailableForMs`. The token is cached with core's `memoize`: one fetch at a time, refreshed in
 * the background before it expires, failures backed off, `onRefresh` / `onError` on every fetch. Options are
 * validated here, so a bad resource throws `ERR_WIF_AZURE_CONFIG_INVALID` at once.
 *
 * @example
 * import { fromAzure } from "@wifkit/azure-supplier";
 * const supplier = fromAzure({ resource: "api://my-wif-app" });
 * const { token, type, expiresAt } = await supplier();
 */
export function fromAzure(init: AzureSupplierInit): AzureSubjectTokenSupplier {
  const resolved = resolveInit(init);
  const clock = init.clock ?? systemClock;
  let imdsReachable = false;
  let lastSource: AzureSourceName | undefined;

  const fetchToken: Provider<SubjectToken> = async (options) => {
    const signal = options?.signal;
    const source = init.source ?? firstDetected(resolved);
    if (source === "imds" && !imdsReachable) {
      const reason = await probeImds(resolved, signal);
      if (reason !== undefined) throw notReachable(resolved, reason);
      imdsReachable = true;
    }
    const token = await fetchFrom(source, resolved, clock, signal);
    lastSource = token.source;
    return { token: token.accessToken, type: SUBJECT_TOKEN_TYPES.jwt, expiresAt: token.expiresAt };
  };
  const supplier = memoize(
    rememberUnavailable(fetchToken, {
      clock,
      ...(init.unavailableForMs !== undefined ? { forMs: init.unavailableForMs } : {}),
    }),
    {
      clock,
      ...(init.sleep ? { sleep: init.sleep } : {}),
      ...(init.refreshBeforeMs !== undefined ? { refreshBeforeMs: init.refreshBeforeMs } : {}),
      ...(init.onRefresh ? { onRefresh: init.onRefresh } : {}),
      ...(init.onError ? { onError: init.onError } : {}),
    },
  );

  return Object.assign((options?: ProviderOptions) => supplier(options), {
    resource: resolved.resource,
    warnings: Object.freeze([...resolved.warnings]),
    lastSource: () => lastSource,
  });
}

function firstDetected(resolved: ResolvedInit): AzureSourceName {
  return detectAzureSource(detectOptions(resolved)).source;
}

function detectOptions(resolved: ResolvedInit) {
  const { init } = resolved;
  return {
    env: resolved.env,
    ...(init.clientId === undefined ? {} : { clientId: init.clientId }),
    ...(init.tenantId === undefined ? {} : { tenantId: init.tenantId }),
    ...(init.federatedTokenFile === undefined ? {} : { federatedTokenFile: init.federatedTokenFile }),
    ...(init.imdsEndpoint === undefined ? {} : { imdsEndpoint: init.imdsEndpoint }),
  };
}

async function fetchFrom(
  source: AzureSourceName,
  resolved: ResolvedInit,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<AzureToken> {
  const { env, init } = resolved;
  const checks = detectAzureSource(detectOptions(resolved)).checks;
  const check = checks.find((candidate) => candidate.source === source) as AzureSourceCheck;
  if (!check.applies) {
    throw new SourceUnavailableError(
      `The Azure source "${source}" was chosen but does not apply here: ${check.detail}.`,
      { code: AZURE_ERROR_CODES.sourceUnavailable },
    );
  }
  switch (source) {
    case "aks":
      return fetchAksToken(
        resolved,
        {
          federatedTokenFile: (init.federatedTokenFile ?? env.AZURE_FEDERATED_TOKEN_FILE ?? "").trim(),
          clientId: (init.clientId ?? env.AZURE_CLIENT_ID ?? "").trim(),
          tenantId: (init.tenantId ?? env.AZURE_TENANT_ID ?? "").trim(),
        },
        clock,
        signal,
      );
    case "app-service":
      return fetchAppServiceToken(
        resolved,
        (env.IDENTITY_ENDPOINT ?? "").trim(),
        (env.IDENTITY_HEADER ?? "").trim(),
        clock,
        signal,
      );
    case "arc":
      return fetchArcToken(resolved, (env.IDENTITY_ENDPOINT ?? "").trim(), clock, signal);
    case "imds":
      return fetchImdsToken(resolved, clock, signal);
  }
}

function notReachable(resolved: ResolvedInit, reason: string): SourceUnavailableError {
  if (resolved.init.source === "imds") {
    return new SourceUnavailableError(
      `The Azure source "imds" was chosen but Azure IMDS did not answer: ${reason}. This process does not seem to run on an Azure VM or VMSS.`,
      { code: AZURE_ERROR_CODES.sourceUnavailable },
    );
  }
  const checked = detectAzureSource(detectOptions(resolved))
    .checks.filter((check) => check.source !== "imds")
    .map((check) => check.detail);
  return new SourceUnavailableError(
    `Not on Azure: no Azure managed identity is available here. Checked ${checked.join("; ")}; ` +
      `${sourceLabel("imds")} at ${reason}. On AKS, App Service or Arc make sure the platform's identity ` +
      `variables reach this process; elsewhere use another credential source.`,
    { code: AZURE_ERROR_CODES.notOnAzure },
  );
}

/** The field of an Azure credential configuration the supplier reads: the IMDS URL gcloud writes. */
export interface AzureCredentialConfigFields {
  credential_source: { url: string };
}

/** What `azureSupplier` is: how `@wifkit/credentials`' `fromConfig` builds the supplier of an Azure config. */
export interface AzureSupplier {
  readonly kind: "azure";
  readonly packageName: string;
  /**
   * `fromAzure` for the resource and identity the config's IMDS URL names (see `azureOptionsFromImdsUrl`),
   * with the rest of its init from `options`; undefined when the URL is not an Azure IMDS token URL.
   */
  create(
    config: AzureCredentialConfigFields,
    options?: Omit<AzureSupplierInit, "resource">,
  ): AzureSubjectTokenSupplier | undefined;
}

/**
 * Registers this package with `@wifkit/credentials`, explicitly and bundler-safe: pass it in `suppliers`,
 * and a config written by `gcloud ... create-cred-config --azure` works on VMs, AKS, App Service and Arc;
 * leave it out, and such a config reads its IMDS URL as a plain URL source (VMs only).
 *
 * @example
 * import { fromConfig } from "@wifkit/credentials";
 * import { azureSupplier } from "@wifkit/azure-supplier";
 * const credentials = await fromConfig("./wif.json", { suppliers: [azureSupplier] });
 */
export const azureSupplier: AzureSupplier = Object.freeze({
  kind: "azure" as const,
  packageName: "@wifkit/azure-supplier",
  create: (config: AzureCredentialConfigFields, options: Omit<AzureSupplierInit, "resource"> = {}) => {
    const fromUrl = azureOptionsFromImdsUrl(config.credential_source.url);
    return fromUrl ? fromAzure({ ...fromUrl, ...options }) : undefined;
  },
});
