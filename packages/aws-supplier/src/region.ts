import {
  chain,
  isSourceUnavailable,
  type Provider,
  rememberUnavailable,
  SourceUnavailableError,
  systemClock,
  WifError,
} from "@wifkit/core";
import { AWS_ERROR_CODES } from "./errors.js";
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
  const imds = new InstanceMetadataClient({ ...init, ...init.imds });
  return regionProvider(init, imds)(init.signal ? { signal: init.signal } : {});
}

/**
 * @internal Region discovery as a chain of sources (option, environment, IMDS over a shared client whose
 * "not here" is remembered), failing with `ERR_WIF_AWS_REGION_UNKNOWN` when none applies.
 */
export function regionProvider(init: ResolveRegionInit, imds: InstanceMetadataClient): Provider<string> {
  const env = environmentOf(init.env);
  const sources = chain<string>(
    async () => init.region?.trim() || notHere("No region option."),
    async () =>
      readEnv(env, "AWS_REGION") ??
      readEnv(env, "AWS_DEFAULT_REGION") ??
      notHere("AWS_REGION and AWS_DEFAULT_REGION are not set."),
    rememberUnavailable((options) => instanceMetadataRegion(imds, options), {
      clock: init.clock ?? systemClock,
    }),
  );
  return async (options) => {
    try {
      return await sources(options);
    } catch (error) {
      if (!isSourceUnavailable(error)) throw error;
      const why = imds.lastUnavailable?.reason ?? "no answer";
      throw new WifError(
        "Could not determine the AWS region: AWS_REGION and AWS_DEFAULT_REGION are not set and " +
          `EC2 instance metadata at ${imds.describe()} did not give one (${why}). Set AWS_REGION or pass the region option.`,
        { code: AWS_ERROR_CODES.regionUnknown, cause: imds.lastUnavailable ?? error },
      );
    }
  };
}

function notHere(message: string): never {
  throw new SourceUnavailableError(message);
}
