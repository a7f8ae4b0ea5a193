import { type Clock, SourceUnavailableError, systemClock } from "@wifkit/core";
import { cacheCredentials } from "./cache.js";
import { type ContainerMetadataInit, fromContainerMetadata } from "./container.js";
import { fromEnv } from "./env.js";
import {
  ImdsUnreachableError,
  InstanceMetadataClient,
  type InstanceMetadataUrls,
  instanceMetadataProvider,
} from "./imds.js";
import { checkCredentials } from "./internal.js";
import type { AwsCredentialProvider, AwsCredentials, AwsSourceInit, ReadTextFile } from "./types.js";
import { fromWebIdentity } from "./web-identity.js";

export interface DefaultAwsCredentialsInit extends AwsSourceInit {
  /**
   * Use these credentials, or this provider (any AWS SDK v3 credential provider fits), instead of the chain.
   * A provider is called on every fetch and is expected to cache for itself, as the AWS SDK's do.
   */
  credentials?: AwsCredentials | AwsCredentialProvider;
  /** Where IMDS is. */
  imds?: InstanceMetadataUrls & { timeoutMs?: number };
  /** Region for the web identity STS endpoint. */
  region?: string;
  /** Reads token files (web identity, container authorization). Default: node:fs. */
  readFile?: ReadTextFile;
  /** How long before their expiration temporary credentials are replaced. */
  refreshBeforeMs?: number;
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

  const cacheOptions = {
    clock,
    ...(init.refreshBeforeMs !== undefined ? { refreshBeforeMs: init.refreshBeforeMs } : {}),
  };
  const shared: ContainerMetadataInit = {
    ...(init.env ? { env: init.env } : {}),
    ...(init.transport ? { transport: init.transport } : {}),
    ...(init.timeoutMs !== undefined ? { timeoutMs: init.timeoutMs } : {}),
    ...(init.readFile ? { readFile: init.readFile } : {}),
    clock,
  };
  const sources: Array<{ name: string; provider: AwsCredentialProvider }> = [
    { name: "AWS_ACCESS_KEY_ID", provider: fromEnv(shared) },
    {
      name: "AWS_WEB_IDENTITY_TOKEN_FILE",
      provider: cacheCredentials(
        fromWebIdentity({ ...shared, ...(init.region ? { region: init.region } : {}) }),
        cacheOptions,
      ),
    },
    {
      name: "AWS_CONTAINER_CREDENTIALS_*",
      provider: cacheCredentials(fromContainerMetadata(shared), cacheOptions),
    },
    { name: "IMDS", provider: cacheCredentials(instanceMetadataProvider(imds, clock), cacheOptions) },
  ];

  return async (options) => {
    let imdsReason: unknown;
    for (const { name, provider } of sources) {
      try {
        return await provider(options);
      } catch (error) {
        if (!(error instanceof SourceUnavailableError)) throw error;
        if (name === "IMDS") imdsReason = error;
      }
    }
    const detail = imdsReason instanceof ImdsUnreachableError ? `: ${imdsReason.reason}` : "";
    throw new SourceUnavailableError(
      "Not on EC2, and no AWS credentials in the environment (checked AWS_ACCESS_KEY_ID, " +
        `AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_*, IMDS at ${imds.describe()}${detail}). ` +
        "Run on AWS with a role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
      { code: "ERR_WIF_AWS_NO_CREDENTIALS", cause: imdsReason },
    );
  };
}

/**
 * The AWS credential chain, in this order unless `credentials` is given: environment variables, EKS IRSA
 * web identity, the ECS / EKS Pod Identity container endpoint, EC2 instance metadata. A source that does
 * not apply passes to the next; one that applies and fails stops the chain with its own error.
 * Temporary credentials are cached until shortly before they expire.
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
