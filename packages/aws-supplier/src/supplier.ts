import {
  invalidOption,
  memoize,
  SUBJECT_TOKEN_TYPES,
  type SubjectTokenSupplier,
  systemClock,
  WifError,
} from "@wifkit/core";
import { type DefaultAwsCredentialsInit, defaultAwsCredentialsWith } from "./default-chain.js";
import { AWS_ERROR_CODES } from "./errors.js";
import { InstanceMetadataClient } from "./imds.js";
import { regionProvider } from "./region.js";
import {
  DEFAULT_REGIONAL_CRED_VERIFICATION_URL,
  SIGNATURE_VALIDITY_MS,
  serializeSubjectToken,
  signGetCallerIdentity,
} from "./sign.js";

/**
 * The `credential_source` of an AWS credential configuration file (`environment_id: "aws1"`), as
 * `gcloud iam workload-identity-pools create-cred-config --aws` writes it. Structural, so a config parsed by
 * @wifkit/config (or read with `JSON.parse`) can be passed as it is.
 */
export interface AwsCredentialSourceFields {
  environment_id?: string | undefined;
  region_url?: string | undefined;
  url?: string | undefined;
  regional_cred_verification_url?: string | undefined;
  imdsv2_session_token_url?: string | undefined;
}

export interface AwsSupplierInit extends DefaultAwsCredentialsInit {
  /** The workload identity provider's full name, the credential config's `audience`. */
  audience: string;
  /**
   * The GetCallerIdentity URL to sign, `{region}` substituted. Default: the config's
   * `regional_cred_verification_url`, else `DEFAULT_REGIONAL_CRED_VERIFICATION_URL`.
   */
  regionalCredVerificationUrl?: string;
  /** The AWS region. Default `AWS_REGION`, `AWS_DEFAULT_REGION`, then EC2 instance metadata. */
  region?: string;
  /** The credential config's `credential_source`; explicit options win over its fields. */
  credentialSource?: AwsCredentialSourceFields;
}

/**
 * A subject token supplier for AWS workloads: finds AWS credentials (explicit, environment, IRSA, ECS / EKS
 * Pod Identity, EC2 instance metadata) and the region, and signs a GetCallerIdentity request that Google STS
 * verifies with AWS. Each call signs afresh; the token is valid for 15 minutes (`expiresAt`), or until the
 * AWS credentials expire if that is sooner. Credentials and the region are cached between calls (core's
 * `memoize`; `onRefresh` / `onError` see each credential fetch).
 *
 * @example
 * const supplier = fromAws({
 *   audience: config.audience,
 *   credentialSource: config.credential_source,
 * });
 * const { token, type } = await supplier();
 */
export function fromAws(init: AwsSupplierInit): SubjectTokenSupplier {
  if (typeof init.audience !== "string" || init.audience.trim() === "") {
    throw invalidOption(
      "audience",
      "of fromAws is required: the workload identity provider's full name (the credential config's audience).",
    );
  }
  const source = init.credentialSource ?? {};
  if (source.environment_id !== undefined && source.environment_id !== "aws1") {
    throw new WifError(
      `credential_source.environment_id is "${source.environment_id}"; only "aws1" is supported.`,
      { code: AWS_ERROR_CODES.unsupportedEnvironment, field: "credential_source.environment_id" },
    );
  }
  const clock = init.clock ?? systemClock;
  const imdsUrls = {
    ...(source.url !== undefined ? { credentialsUrl: source.url } : {}),
    ...(source.region_url !== undefined ? { regionUrl: source.region_url } : {}),
    ...(source.imdsv2_session_token_url !== undefined
      ? { sessionTokenUrl: source.imdsv2_session_token_url }
      : {}),
    ...init.imds,
  };
  const imds = new InstanceMetadataClient({ ...init, ...imdsUrls, clock });
  const credentials = defaultAwsCredentialsWith({ ...init, imds: imdsUrls, clock }, imds);
  // The region never changes under a running process: found once, kept for good.
  const region = memoize(regionProvider(init, imds), { clock, expiresAt: () => undefined });
  const verificationUrl =
    init.regionalCredVerificationUrl ??
    source.regional_cred_verification_url ??
    DEFAULT_REGIONAL_CRED_VERIFICATION_URL;

  return async (options) => {
    const awsCredentials = await credentials(options);
    const date = new Date(clock.now());
    const signed = await signGetCallerIdentity({
      credentials: awsCredentials,
      region: await region(options?.signal ? { signal: options.signal } : {}),
      url: verificationUrl,
      audience: init.audience,
      date,
    });
    const signatureExpiry = date.getTime() + SIGNATURE_VALIDITY_MS;
    const credentialExpiry = awsCredentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    return {
      token: serializeSubjectToken(signed),
      type: SUBJECT_TOKEN_TYPES.aws4Request,
      expiresAt: new Date(Math.min(signatureExpiry, credentialExpiry)),
    };
  };
}

/** The fields of an AWS credential configuration the supplier reads. */
export interface AwsCredentialConfigFields {
  audience: string;
  credential_source: AwsCredentialSourceFields;
}

/** What `awsSupplier` is: how `@wifkit/credentials`' `fromConfig` builds the supplier of an AWS config. */
export interface AwsSupplier {
  readonly kind: "aws";
  readonly packageName: string;
  /** `fromAws` for the config's audience and `credential_source`, with the rest of its init from `options`. */
  create(
    config: AwsCredentialConfigFields,
    options?: Omit<AwsSupplierInit, "audience" | "credentialSource">,
  ): SubjectTokenSupplier;
}

/**
 * Registers this package with `@wifkit/credentials`, explicitly and bundler-safe: pass it in `suppliers`, and
 * configs with an AWS `credential_source` work; leave it out, and nothing of this package is loaded.
 *
 * @example
 * import { fromConfig } from "@wifkit/credentials";
 * import { awsSupplier } from "@wifkit/aws-supplier";
 * const credentials = await fromConfig("./wif.json", { suppliers: [awsSupplier] });
 */
export const awsSupplier: AwsSupplier = Object.freeze({
  kind: "aws" as const,
  packageName: "@wifkit/aws-supplier",
  create: (config: AwsCredentialConfigFields, options = {}) =>
    fromAws({ ...options, audience: config.audience, credentialSource: config.credential_source }),
});
