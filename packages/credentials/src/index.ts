export type {
  Provider,
  ProviderOptions,
  SubjectToken,
  SubjectTokenSupplier,
  SubjectTokenType,
  Token,
} from "@wifkit/core";
export { chain, isWifError, SourceUnavailableError, SUBJECT_TOKEN_TYPES, WifError } from "@wifkit/core";
export type { AuthorizedUserCredentials, AuthorizedUserOptions } from "./authorized-user.js";
export { createAuthorizedUserCredentials } from "./authorized-user.js";
export type { CallOptions } from "./call.js";
export type { ChainedCredentials } from "./chain-credentials.js";
export { chainCredentials } from "./chain-credentials.js";
export type {
  Credentials,
  CredentialsOptions,
  ExternalAccountCredentials,
  ExternalAccountCredentialsInit,
  GetAccessTokenOptions,
  GetIdTokenOptions,
  Principal,
  SubjectSourceKind,
  TokenRefreshErrorEvent,
  TokenRefreshEvent,
} from "./credentials.js";
export {
  createExternalAccountCredentials,
  DEFAULT_MAX_CACHED_TOKENS,
  QUOTA_PROJECT_ENV,
} from "./credentials.js";
export type { CredentialsErrorCode } from "./errors.js";
export { CREDENTIALS_ERROR_CODES } from "./errors.js";
export type {
  ConfigDetails,
  ConfigSourceKind,
  ConfiguredCredentials,
  FromConfigOptions,
} from "./from-config.js";
export {
  AZURE_IMDS_TOKEN_PATH,
  fromAuthorizedUserConfig,
  fromConfig,
  subjectTokenSupplierFromConfig,
} from "./from-config.js";
export type { AuthClientClass, AuthClientInstance, ToAuthClientOptions } from "./google-auth.js";
export { toAuthClient } from "./google-auth.js";
export type { Env, ReadFile } from "./io.js";
export type {
  AwsCredentialSourceLike,
  AwsCredentialsLike,
  AwsSourceOptions,
  AwsSupplierRegistration,
  AzureSourceOptions,
  AzureSupplierRegistration,
  SupplierRegistration,
  SupplierSeams,
} from "./registration.js";
export type { CertificateSubjectToken, FromCertificateInit } from "./suppliers/certificate.js";
export {
  CERTIFICATE_CONFIG_ENV,
  DEFAULT_CERTIFICATE_CONFIG_FILE,
  defaultCertificateConfigPath,
  fromCertificate,
} from "./suppliers/certificate.js";
export type { FromExecutableInit } from "./suppliers/executable.js";
export {
  ALLOW_EXECUTABLES_ENV,
  DEFAULT_EXECUTABLE_TIMEOUT_MS,
  DEFAULT_MAX_EXECUTABLE_OUTPUT_BYTES,
  EXECUTABLE_KILL_GRACE_MS,
  fromExecutable,
  splitCommand,
} from "./suppliers/executable.js";
export type { FromFileInit } from "./suppliers/file.js";
export { DEFAULT_MAX_SUBJECT_TOKEN_FILE_BYTES, fromFile } from "./suppliers/file.js";
export type { TokenFormat } from "./suppliers/format.js";
export { DEFAULT_SUBJECT_TOKEN_FORMAT } from "./suppliers/format.js";
export type { FromSupplierInit, SuppliedSubjectToken } from "./suppliers/programmatic.js";
export { fromSupplier } from "./suppliers/programmatic.js";
export type { FromUrlInit } from "./suppliers/url.js";
export { DEFAULT_MAX_SUBJECT_TOKEN_URL_BYTES, fromUrl } from "./suppliers/url.js";
export { WIFKIT_VERSION } from "./version.js";
