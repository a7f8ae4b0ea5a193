export type { CacheCredentialsOptions } from "./cache.js";
export { cacheCredentials, DEFAULT_CREDENTIAL_REFRESH_BEFORE_MS } from "./cache.js";
export type { ContainerMetadataInit } from "./container.js";
export {
  DEFAULT_CONTAINER_ENDPOINT,
  DEFAULT_CONTAINER_RETRIES,
  DEFAULT_CONTAINER_TIMEOUT_MS,
  fromContainerMetadata,
} from "./container.js";
export type { DefaultAwsCredentialsInit } from "./default-chain.js";
export { defaultAwsCredentials } from "./default-chain.js";
export type { EnvCredentialsInit } from "./env.js";
export { fromEnv } from "./env.js";
export type { InstanceMetadataInit, InstanceMetadataUrls } from "./imds.js";
export {
  DEFAULT_IMDS_ENDPOINT,
  DEFAULT_IMDS_IPV6_ENDPOINT,
  DEFAULT_IMDS_RETRIES,
  DEFAULT_IMDS_TIMEOUT_MS,
  DEFAULT_IMDS_TOKEN_TTL_SECONDS,
  fromInstanceMetadata,
} from "./imds.js";
export type { ResolveRegionInit } from "./region.js";
export { resolveRegion } from "./region.js";
export type { SignedCallerIdentityRequest, SignedHeader, SignGetCallerIdentityInit } from "./sign.js";
export {
  DEFAULT_REGIONAL_CRED_VERIFICATION_URL,
  SIGNATURE_VALIDITY_MS,
  serializeSubjectToken,
  signGetCallerIdentity,
} from "./sign.js";
export type { AwsCredentialSourceFields, AwsSupplierInit } from "./supplier.js";
export { fromAws } from "./supplier.js";
export type {
  AwsCredentialProvider,
  AwsCredentials,
  AwsSourceInit,
  Environment,
  ReadTextFile,
} from "./types.js";
export type { WebIdentityInit } from "./web-identity.js";
export { awsStsEndpoint, DEFAULT_AWS_STS_ENDPOINT, fromWebIdentity } from "./web-identity.js";
