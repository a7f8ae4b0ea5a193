export type { CliFailure, CliIo } from "./cli.js";
export { CLI_USAGE, runCli } from "./cli.js";
export type { EmulatorClock } from "./clock.js";
export { createEmulatorClock } from "./clock.js";
export type {
  AwsConfig,
  AwsRoleConfig,
  AwsRoleState,
  AwsState,
  AwsUserConfig,
  AwsUserState,
  AwsWebIdentityTrust,
  AzureApplicationConfig,
  AzureConfig,
  AzureIdentityConfig,
  AzureIdentityState,
  AzureState,
  BucketConfig,
  BucketState,
  EmulatorConfig,
  EmulatorErrorCode,
  EmulatorState,
  FederatedCredentialConfig,
  IamConfig,
  KubernetesConfig,
  KubernetesState,
  PoolConfig,
  PoolState,
  ProviderConfig,
  ProviderState,
  ProviderType,
  ServiceAccountConfig,
  ServiceAccountState,
  StorageObjectConfig,
} from "./config.js";
export {
  DEFAULT_EMULATOR_CONFIG,
  EMPTY_EMULATOR_CONFIG,
  EMULATOR_ERROR_CODES,
  EmulatorConfigError,
  mergeConfig,
  resolveConfig,
} from "./config.js";
export type { EmulatorCounters } from "./counters.js";
export type {
  AwsCredentialsSnapshot,
  AwsEnvSource,
  AwsSubjectTokenOptions,
  AzureEnvSource,
  CredentialConfigOptions,
  CredentialSourceKind,
  Emulator,
  EmulatorOptions,
  GcloudEnvOptions,
  GoogleTokenOptions,
} from "./emulator.js";
export { DEFAULT_ADMIN_EMAIL, DEFAULT_EMULATOR_HOST, startEmulator } from "./emulator.js";
export type { EmulatorFaults, Fault, FaultHandle } from "./faults.js";
export type { EmulatorUrls, EntraTokenInit, KubernetesTokenInit, ServiceName } from "./runtime.js";
export { SERVICE_NAMES } from "./runtime.js";
export { STS_ERRORS } from "./services/google-sts.js";
export { SERVICE_TITLES } from "./services/service-usage.js";
export type { AwsAuthErrorCode, AwsKeyRecord, SignedRequest, VerifyOptions, VerifyResult } from "./sigv4.js";
export { MAX_SIGNATURE_SKEW_MS, signSigV4, verifySigV4 } from "./sigv4.js";
export type { AwsKey, AwsKeyInit } from "./stores.js";
