export type {
  AssumeRoleWithWebIdentityParams,
  CallerIdentity,
  GetCallerIdentityInit,
  RoleAssumerWithWebIdentity,
  StsRoleAssumerInit,
} from "./aws-sts.js";
export { awsStsEndpoint, DEFAULT_AWS_STS_ENDPOINT, getCallerIdentity, stsRoleAssumer } from "./aws-sts.js";
export type { ContainerMetadataInit } from "./container.js";
export {
  DEFAULT_CONTAINER_ENDPOINT,
  DEFAULT_CONTAINER_RETRIES,
  DEFAULT_CONTAINER_TIMEOUT_MS,
  fromContainerMetadata,
} from "./container.js";
export type { DefaultAwsCredentialsInit } from "./default-chain.js";
export { DEFAULT_CREDENTIAL_REFRESH_BEFORE_MS, defaultAwsCredentials } from "./default-chain.js";
export type { AwsSourceCheck, AwsSourceDetection, AwsSourceName } from "./detect.js";
export { AWS_SOURCES, detectAwsSource } from "./detect.js";
export type { EnvCredentialsInit } from "./env.js";
export { fromEnv } from "./env.js";
export type { AwsErrorCode } from "./errors.js";
export { AWS_ERROR_CODES } from "./errors.js";
export { AWS_IDENTITY_ENV, awsIdentityFingerprint } from "./identity.js";
export type { InstanceMetadataInit, InstanceMetadataUrls } from "./imds.js";
export {
  AWS_IMDS_TOKEN_REFRESH_BEFORE_MS,
  DEFAULT_AWS_IMDS_ENDPOINT,
  DEFAULT_AWS_IMDS_IPV6_ENDPOINT,
  DEFAULT_AWS_IMDS_RETRIES,
  DEFAULT_AWS_IMDS_TIMEOUT_MS,
  DEFAULT_AWS_IMDS_TOKEN_TTL_SECONDS,
  fromInstanceMetadata,
  ImdsUnavailableError,
} from "./imds.js";
export type { ResolveRegionInit } from "./region.js";
export { resolveRegion } from "./region.js";
export type { SignedCallerIdentityRequest, SignedHeader, SignGetCallerIdentityInit } from "./sign.js";
export {
  DEFAULT_REGIONAL_CRED_VERIFICATION_URL,
  deserializeSubjectToken,
  SIGNATURE_VALIDITY_MS,
  serializeSubjectToken,
  signGetCallerIdentity,
} from "./sign.js";
export type {
  AwsCredentialConfigFields,
  AwsCredentialSourceFields,
  AwsSupplier,
  AwsSupplierInit,
} from "./supplier.js";
export { awsSupplier, fromAws } from "./supplier.js";
export type { AwsCredentialProvider, AwsCredentials, AwsFileSourceInit, AwsSourceInit } from "./types.js";
export type { WebIdentityInit } from "./web-identity.js";
export { fromWebIdentity } from "./web-identity.js";
