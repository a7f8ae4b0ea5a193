export type { CompileConditionOptions, CompiledCondition, ConditionInput } from "./condition.js";
export { CONDITION_REJECTED_MESSAGE, compileCondition } from "./condition.js";
export type {
  AttributeMappingErrorCode,
  AttributeMappingErrorOptions,
  AttributeMappingErrorStage,
  StsOAuthError,
} from "./errors.js";
export { ATTRIBUTE_MAPPING_ERROR_CODES, AttributeMappingError } from "./errors.js";
export { extract, parseExtractTemplate } from "./extract.js";
export type { AttributeMappingLimits } from "./limits.js";
export { DEFAULT_ATTRIBUTE_MAPPING_LIMITS } from "./limits.js";
export type {
  Assertion,
  AttributeMappingInput,
  CompiledMapping,
  CompileMappingOptions,
  MappedAttributes,
} from "./mapping.js";
export {
  compileMapping,
  DEFAULT_AWS_MAPPING,
  DEFAULT_OIDC_MAPPING,
  formatMappingString,
  parseMappingString,
} from "./mapping.js";
export type { FederatedIdentity, ParsedPrincipal, PoolRef, ProjectNumber } from "./principal.js";
export {
  identityMembers,
  matchesMember,
  PRINCIPAL_HOST,
  parsePrincipal,
  principalIdentifier,
  principalSetIdentifier,
} from "./principal.js";
export type { CompiledProviderRules, ProviderDecision, ProviderRulesInit } from "./provider-rules.js";
export { compileProviderRules } from "./provider-rules.js";
