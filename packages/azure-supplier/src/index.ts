export type { AzureTokenClaims } from "./claims.js";
export { decodeTokenClaims } from "./claims.js";
export type {
  AzureSourceCheck,
  AzureSourceDetection,
  DetectAzureSourceOptions,
} from "./detect.js";
export { detectAzureSource } from "./detect.js";
export type { AzureErrorCode } from "./errors.js";
export { AZURE_ERROR_CODES } from "./errors.js";
export { AZURE_IDENTITY_ENV, azureIdentityFingerprint } from "./identity.js";
export type { AzureImdsUrlOptions } from "./imds-url.js";
export { azureOptionsFromImdsUrl } from "./imds-url.js";
export type { AzureSourceName, AzureSupplierInit } from "./options.js";
export {
  APP_SERVICE_API_VERSION,
  ARC_API_VERSION,
  ARC_KEY_FILE_MAX_BYTES,
  AZURE_IMDS_API_VERSION,
  AZURE_SOURCES,
  DEFAULT_ARC_KEY_DIRECTORY_LINUX,
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_AZURE_IMDS_ENDPOINT,
  DEFAULT_AZURE_IMDS_PROBE_TIMEOUT_MS,
  DEFAULT_AZURE_RETRY_POLICY,
  DEFAULT_AZURE_TIMEOUT_MS,
  isAzureRetryableStatus,
} from "./options.js";
export type {
  AzureCredentialConfigFields,
  AzureSubjectTokenSupplier,
  AzureSupplier,
} from "./supplier.js";
export { azureSupplier, fromAzure } from "./supplier.js";
