export type { ParsedAudience } from "./audience.js";
export {
  isServiceAccountEmail,
  parseAudience,
  serviceAccountFromImpersonationUrl,
  workloadProviderAudience,
} from "./audience.js";
export type {
  BuildCredentialConfigOptions,
  BuildEndpoints,
  CertificateConfigFile,
  FormatOptions,
  SourceOptions,
} from "./build.js";
export {
  AWS_METADATA_BASE_URL,
  AWS_REGIONAL_CRED_VERIFICATION_URL,
  AZURE_METADATA_BASE_URL,
  buildCertificateConfig,
  buildCredentialConfig,
  DEFAULT_EXECUTABLE_TIMEOUT_MILLIS,
  DEFAULT_SUBJECT_TOKEN_TYPE,
  DEFAULT_WORKFORCE_SUBJECT_TOKEN_TYPE,
  GLOBAL_STS_LOCATION,
} from "./build.js";
export type { ConfigErrorCode, ConfigIssue } from "./errors.js";
export { CONFIG_ERROR_CODES, ConfigError } from "./errors.js";
export type { LoadCredentialConfigOptions, LoadedCredentialConfig } from "./load.js";
export { DEFAULT_CONFIG_READ_TIMEOUT_MS, loadCredentialConfig, MAX_CONFIG_BYTES } from "./load.js";
export type { ParseAllowedOriginsOptions } from "./origins.js";
export {
  ALLOW_ORIGIN_FLAG,
  ALLOW_ORIGINS_ENV,
  ORIGINS_ERROR_CODES,
  parseAllowedOrigins,
} from "./origins.js";
export type { ParsedCredentialConfig, ParseOptions } from "./parse.js";
export {
  EXECUTABLE_INTERACTIVE_TIMEOUT_RANGE,
  EXECUTABLE_TIMEOUT_RANGE,
  parseCredentialConfig,
  TOKEN_LIFETIME_RANGE,
} from "./parse.js";
export type { AllowOptions } from "./policy.js";
export { AZURE_IMDS_TOKEN_PATH, isAzureImdsTokenUrl, isLoopbackHost, UNIVERSE_DOMAIN_ENV } from "./policy.js";
export type {
  AuthorizedUserConfig,
  AwsCredentialSource,
  CertificateConfig,
  CertificateCredentialSource,
  CredentialConfig,
  CredentialSource,
  ExecutableConfig,
  ExecutableCredentialSource,
  ExternalAccountConfig,
  FileCredentialSource,
  ServiceAccountImpersonation,
  SubjectTokenFormat,
  UrlCredentialSource,
} from "./types.js";
export type { ValidatedCredentialConfig } from "./validated.js";
export { validatedCredentialConfig } from "./validated.js";
