export type { AdminEndpoints, ApplySetupPlanOptions } from "./apply.js";
export {
  applySetupPlan,
  DEFAULT_ADMIN_ENDPOINTS,
  DEFAULT_OPERATION_POLL_INTERVAL_MS,
  DEFAULT_OPERATION_POLLS,
} from "./apply.js";
export type {
  AwsCallerIdentity,
  DoctorInit,
  DoctorReport,
  DoctorStatus,
  DoctorStep,
  DoctorStepId,
} from "./doctor.js";
export { DEFAULT_DOCTOR_TIMEOUT_MS, runDoctor } from "./doctor.js";
export type { SetupErrorCode } from "./errors.js";
export { SETUP_ERROR_CODES } from "./errors.js";
export { gcloudArgs, renderGcloudScript, shellQuote } from "./gcloud.js";
export type {
  Member,
  SetupAction,
  SetupPlan,
  SetupPlanInit,
  SetupStep,
  WorkloadAccess,
  WorkloadSource,
} from "./plan.js";
export {
  azureIssuer,
  DEFAULT_AWS_PROVIDER_ID,
  DEFAULT_AZURE_PROVIDER_ID,
  DEFAULT_CREDENTIAL_CONFIG_FILE,
  DEFAULT_POOL_ID,
  DEFAULT_RESOURCE_ROLE,
  GUIDE_APIS,
  GUIDE_AWS_MAPPING,
  GUIDE_AZURE_MAPPING,
  guideAwsCondition,
  memberString,
  PROJECT_NUMBER_REF,
  planSetup,
  WORKLOAD_IDENTITY_USER_ROLE,
} from "./plan.js";
export { hclString, renderTerraform } from "./terraform.js";
