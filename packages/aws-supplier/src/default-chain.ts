import {
  type Clock,
  chain,
  isSourceUnavailable,
  type MemoizeOptions,
  memoize,
  type Provider,
  rememberUnavailable,
  SourceUnavailableError,
  systemClock,
} from "@wifkit/core";
import type { RoleAssumerWithWebIdentity } from "./aws-sts.js";
import { fromContainerMetadata } from "./container.js";
import { fromEnv } from "./env.js";
import { AWS_ERROR_CODES } from "./errors.js";
import { InstanceMetadataClient, type InstanceMetadataUrls, instanceMetadataProvider } from "./imds.js";
import { checkCredentials } from "./internal.js";
import type { AwsCredentialProvider, AwsCredentials, AwsFileSourceInit } from "./types.js";
import { fromWebIdentity } from "./web-identity.js";

/** Temporary credentials are replaced this long before their `Expiration` (or at half their remaining life). */
export const DEFAULT_CREDENTIAL_REFRESH_BEFORE_MS = 5 * 60 * 1000;

export interface DefaultAwsCredentialsInit
  extends AwsFileSourceInit,
    Pick<MemoizeOptions<AwsCredentials>, "onRefresh" | "onError" | "retryBackoffMs"> {
  /**
   * Use these credentials, or this provider (any AWS SDK v3 credential provider fits), instead of the chain.
   * A provider is called on every fetch and is expected to cache for itself, as the AWS SDK's do.
   */
  credentials?: AwsCredentials | AwsCredentialProvider;
  /** Where IMDS is. */
  imds?: InstanceMetadataUrls & { timeoutMs?: number };
  /** Region for the web identity STS endpoint. */
  region?: string;
  /** How the web identity source exchanges its token (the AWS SDK's role assumer fits). Default: AWS STS. */
  roleAssumerWithWebIdentity?: RoleAssumerWithWebIdentity;
  /** How long before their expiration temporary credentials are replaced. Default `DEFAULT_CREDENTIAL_REFRESH_BEFORE_MS`. */
  refreshBeforeMs?: number;
  /** How long "IMDS is not here" is remembered. Default core's `DEFAULT_UNAVAILABLE_FOR_MS` (10 minutes). */
  unavailableForMs?: number;
}

/** The cache every AWS credential source of this package shares: core's `memoize`, static keys kept for good. */
export function cacheOptions(init: DefaultAwsCredentialsInit, clock: Clock): MemoizeOptions<AwsCredentials> {
  return {
    clock,
    ...(init.sleep ? { sleep: init.sleep } : {}),
    expiresAt: (credentials) => credentials.expiration,
    refreshBeforeMs: init.refreshBeforeMs ?? DEFAULT_CREDENTIAL_REFRESH_BEFORE_MS,
    ...(init.retryBackoffMs !== undefined ? { retryBackoffMs: init.retryBackoffMs } : {}),
    ...(init.onRefresh ? { onRefresh: init.onRefresh } : {}),
    ...(init.onError ? { onError: init.onError } : {}),
  };
}

/** @internal The chain over a given IMDS client, so `fromAws` can share it with region discovery. */
export function defaultAwsCredentialsWith(
  init: DefaultAwsCredentialsInit,
  imds: InstanceMetadataClient,
): AwsCredentialProvider {
  const clock: Clock = init.clock ?? systemClock;
  const explicit = init.credentials;
  if (explicit !== undefined) {
    if (typeof explicit === "function") {
      return async (options) => {
        // AWS SDK providers take `{ forceRefresh }` and know nothing of our signal; pass only what they know.
        const credentials = await explicit(options?.forceRefresh ? { forceRefresh: true } : undefined);
        return checkCredentials(credentials, "The AWS credential provider passed as `credentials`", clock);
      };
    }
    const credentials = checkCredentials(explicit, "The `credentials` option", clock);
    return async () => checkCredentials(credentials, "The `credentials` option", clock);
  }

  const sources = chain(
    fromEnv(init),
    fromWebIdentity(init),
    fromContainerMetadata(init),
    rememberUnavailable(instanceMetadataProvider(imds, clock), {
      clock,
      ...(init.unavailableForMs !== undefined ? { forMs: init.unavailableForMs } : {}),
    }),
  );
  const withSummary: Provider<AwsCredentials> = async (options) => {
    try {
      return await sources(options);
    } catch (error) {
      if (!isSourceUnavailable(error)) throw error;
      const detail = imds.lastUnavailable ? `: ${imds.lastUnavailable.reason}` : "";
      throw new SourceUnavailableError(
        "Not on EC2, and no AWS credentials in the environment (checked AWS_ACCESS_KEY_ID, " +
          `AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_*, IMDS at ${imds.describe()}${detail}). ` +
          "Run on AWS with a role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
        { code: AWS_ERROR_CODES.noCredentials, cause: imds.lastUnavailable ?? error },
      );
    }
  };
  return memoize(withSummary, cacheOptions(init, clock));
}

/**
 * The AWS credential chain, in the style of the AWS SDK's default provider:
 * `memoize(chain(fromEnv(), fromWebIdentity(), fromContainerMetadata(), fromInstanceMetadata()))`, unless
 * `credentials` is given. A source that does not apply passes to the next; one that applies and fails stops
 * the chain with its own error. Temporary credentials are cached (core's `memoize`: one fetch at a time,
 * refreshed in the background before they expire, failures backed off; `onRefresh` / `onError` see every
 * fetch), and "IMDS is not here" is remembered for `unavailableForMs`, so off EC2 the metadata address
 * costs one probe, not one per call.
 *
 * Throws `SourceUnavailableError` with code `ERR_WIF_AWS_NO_CREDENTIALS` when no source applies: "Not on
 * EC2, and no AWS credentials in the environment (...)".
 *
 * @example
 * const credentials = await defaultAwsCredentials()();
 */
export function defaultAwsCredentials(init: DefaultAwsCredentialsInit = {}): AwsCredentialProvider {
  return defaultAwsCredentialsWith(init, new InstanceMetadataClient({ ...init, ...init.imds }));
}
