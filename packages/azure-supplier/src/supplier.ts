import type { Clock, ProviderOptions, SubjectToken, SubjectTokenSupplier } from "@wifkit/core";
import { SourceUnavailableError, SUBJECT_TOKEN_TYPES, systemClock, WifError } from "@wifkit/core";
import { fetchAksToken } from "./aks.js";
import { fetchAppServiceToken } from "./app-service.js";
import { fetchArcToken } from "./arc.js";
import type { AzureSourceCheck } from "./detect.js";
import { detectAzureSource, sourceLabel } from "./detect.js";
import { AZURE_ERROR_CODES } from "./errors.js";
import { fetchImdsToken, probeImds } from "./imds.js";
import type { AzureSourceName, AzureSupplierInit, ResolvedInit } from "./options.js";
import { DEFAULT_REFRESH_BEFORE_MS, resolveInit } from "./options.js";
import type { AzureToken } from "./response.js";

/** A cached token is not handed out in its last seconds even when a refresh fails: STS would refuse it. */
const EXPIRY_GRACE_MS = 30_000;

/** What `fromAzure` returns: a subject token supplier, plus what it resolved and which source answered. */
export type AzureSubjectTokenSupplier = SubjectTokenSupplier & {
  /** The Application ID URI requested (after removing a `/.default` suffix). */
  readonly resource: string;
  /** Notes about the options, e.g. a stripped `/.default`; a CLI prints them. */
  readonly warnings: readonly string[];
  /** The source of the last token fetched, undefined before the first. */
  lastSource(): AzureSourceName | undefined;
};

interface CachedToken extends AzureToken {
  fetchedAt: number;
}

interface Flight {
  promise: Promise<CachedToken>;
  controller: AbortController;
  waiters: number;
}

/**
 * A subject token supplier (type `urn:ietf:params:oauth:token-type:jwt`) that gets an Azure managed
 * identity token for `resource`, the Application ID URI your Google workload identity provider trusts.
 * Without `source` it detects where it runs, in this order: AKS workload identity, App Service / Functions /
 * Container Apps, Azure Arc, VM / VMSS IMDS (probed with a short timeout, so off Azure it fails fast with a
 * `SourceUnavailableError` `ERR_WIF_AZURE_NOT_ON_AZURE` listing what it checked). The token is cached until
 * shortly before it expires; concurrent calls share one fetch. Options are validated here, so a bad
 * resource throws `ERR_WIF_AZURE_CONFIG_INVALID` at once.
 *
 * @example
 * import { fromAzure } from "@wifkit/azure-supplier";
 * const supplier = fromAzure({ resource: "api://my-wif-app" });
 * const { token, type, expiresAt } = await supplier();
 */
export function fromAzure(init: AzureSupplierInit): AzureSubjectTokenSupplier {
  const resolved = resolveInit(init);
  const clock = init.clock ?? systemClock;
  const refreshBeforeMs = init.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
  if (!Number.isFinite(refreshBeforeMs) || refreshBeforeMs < 0) {
    throw new WifError("refreshBeforeMs must be zero or a positive number of milliseconds.", {
      code: AZURE_ERROR_CODES.configInvalid,
    });
  }
  let imdsReachable = false;
  let cached: CachedToken | undefined;
  let flight: Flight | undefined;
  let lastSource: AzureSourceName | undefined;

  const fetchFresh = async (signal: AbortSignal): Promise<CachedToken> => {
    const source = init.source ?? firstDetected(resolved);
    if (source === "imds" && !imdsReachable) {
      const reason = await probeImds(resolved, signal);
      if (reason !== undefined) throw notReachable(resolved, reason);
      imdsReachable = true;
    }
    const token = await fetchFrom(source, resolved, clock, signal);
    lastSource = token.source;
    return { ...token, fetchedAt: clock.now() };
  };

  const join = (signal: AbortSignal | undefined): Promise<CachedToken> => {
    if (!flight) {
      const controller = new AbortController();
      const current: Flight = {
        controller,
        waiters: 0,
        promise: fetchFresh(controller.signal)
          .then((token) => {
            cached = token;
            return token;
          })
          .finally(() => {
            if (flight === current) flight = undefined;
          }),
      };
      flight = current;
    }
    const current = flight;
    current.waiters++;
    // The fetch is shared, so one caller's abort must not fail the others: it is cancelled only when
    // every caller waiting on it has gone.
    return new Promise<CachedToken>((resolve, reject) => {
      const onAbort = () => {
        current.waiters--;
        if (current.waiters === 0) current.controller.abort(signal?.reason);
        reject(abortedError(signal?.reason));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      current.promise.then(
        (token) => {
          signal?.removeEventListener("abort", onAbort);
          current.waiters--;
          resolve(token);
        },
        (error: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          current.waiters--;
          reject(error);
        },
      );
    });
  };

  const refreshAt = (token: CachedToken): number => {
    const expires = token.expiresAt.getTime();
    const lifetime = Math.max(0, expires - token.fetchedAt);
    return expires - Math.min(refreshBeforeMs, lifetime / 2);
  };

  const supplier = async (options: ProviderOptions = {}): Promise<SubjectToken> => {
    if (options.signal?.aborted) throw abortedError(options.signal.reason);
    if (cached && !options.forceRefresh && clock.now() < refreshAt(cached)) return toSubjectToken(cached);
    try {
      return toSubjectToken(await join(options.signal));
    } catch (error) {
      // A refresh that fails while the previous token is still good for a while keeps the app running.
      const keep =
        cached !== undefined &&
        !options.forceRefresh &&
        !options.signal?.aborted &&
        clock.now() + EXPIRY_GRACE_MS < cached.expiresAt.getTime();
      if (keep && cached) return toSubjectToken(cached);
      throw error;
    }
  };

  return Object.assign(supplier, {
    resource: resolved.resource,
    warnings: Object.freeze([...resolved.warnings]),
    lastSource: () => lastSource,
  });
}

function toSubjectToken(token: AzureToken): SubjectToken {
  return { token: token.accessToken, type: SUBJECT_TOKEN_TYPES.jwt, expiresAt: token.expiresAt };
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
  signal: AbortSignal,
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

function abortedError(reason: unknown): WifError {
  return new WifError("Fetching the Azure managed identity token was aborted by the caller.", {
    code: "ERR_WIF_ABORTED",
    cause: reason,
  });
}
