import { SourceUnavailableError, WifError } from "@wifkit/core";
import { InstanceMetadataClient, type InstanceMetadataUrls, instanceMetadataRegion } from "./imds.js";
import { environmentOf, readEnv } from "./internal.js";
import type { AwsSourceInit } from "./types.js";

export interface ResolveRegionInit extends AwsSourceInit {
  /** An explicit region; wins over everything. */
  region?: string;
  /** Where IMDS is, for the last resort. */
  imds?: InstanceMetadataUrls;
  signal?: AbortSignal;
}

/**
 * The AWS region: `region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else asked of EC2 instance
 * metadata (`placement/region`, or the availability zone minus its letter). IMDS is only contacted when
 * the environment says nothing, so Lambda, ECS and EKS (which set `AWS_REGION`) never need it.
 *
 * Throws `ERR_WIF_AWS_REGION_UNKNOWN` when nothing gives a region.
 *
 * @example
 * const region = await resolveRegion({}); // "eu-west-1" on a Lambda in Ireland
 */
export async function resolveRegion(init: ResolveRegionInit = {}): Promise<string> {
  return resolveRegionWith(init, () => new InstanceMetadataClient({ ...init, ...init.imds }));
}

/** `resolveRegion` over a shared IMDS client (created only if needed). */
export async function resolveRegionWith(
  init: ResolveRegionInit,
  imdsClient: () => InstanceMetadataClient,
): Promise<string> {
  const env = environmentOf(init.env);
  const fromEnvironment =
    init.region?.trim() || readEnv(env, "AWS_REGION") || readEnv(env, "AWS_DEFAULT_REGION");
  if (fromEnvironment) return fromEnvironment;
  const client = imdsClient();
  try {
    return await instanceMetadataRegion(client, { signal: init.signal });
  } catch (error) {
    if (!(error instanceof SourceUnavailableError)) throw error;
    throw new WifError(
      "Could not determine the AWS region: AWS_REGION and AWS_DEFAULT_REGION are not set and " +
        `EC2 instance metadata at ${client.describe()} did not answer. Set AWS_REGION or pass the region option.`,
      { code: "ERR_WIF_AWS_REGION_UNKNOWN", cause: error },
    );
  }
}
