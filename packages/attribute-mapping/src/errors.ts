import { WifError } from "@wifkit/core";

/**
 * Stable codes of {@link AttributeMappingError}. Compile-time codes describe a provider definition the IAM API
 * would refuse when the provider is created; evaluation-time codes describe a credential Google's STS would
 * refuse at token exchange.
 */
export const ATTRIBUTE_MAPPING_ERROR_CODES = {
  /** The mapping string has an entry that is not `KEY=EXPRESSION`, or the mapping is not a string or object. */
  mappingSyntax: "ERR_WIF_MAPPING_SYNTAX",
  /** A key is neither `google.subject`, `google.groups` nor `attribute.NAME` with a valid NAME. */
  mappingInvalidKey: "ERR_WIF_MAPPING_INVALID_KEY",
  /** The string form defines the same key twice. */
  mappingDuplicateKey: "ERR_WIF_MAPPING_DUPLICATE_KEY",
  /** The mapping does not map `google.subject`. */
  mappingSubjectRequired: "ERR_WIF_MAPPING_SUBJECT_REQUIRED",
  /** More custom attributes than the limit (50). */
  mappingTooManyAttributes: "ERR_WIF_MAPPING_TOO_MANY_ATTRIBUTES",
  /** One expression is longer than the limit (2048 characters). */
  mappingExpressionTooLong: "ERR_WIF_MAPPING_EXPRESSION_TOO_LONG",
  /** One expression is empty or not valid CEL (syntax, unknown variable, no such function). */
  mappingInvalidExpression: "ERR_WIF_MAPPING_INVALID_EXPRESSION",
  /** The condition is longer than the limit (4096 characters). */
  conditionTooLong: "ERR_WIF_CONDITION_TOO_LONG",
  /** The condition is empty or not valid CEL. */
  conditionInvalidExpression: "ERR_WIF_CONDITION_INVALID_EXPRESSION",
  /** The condition does not produce a boolean (at compile time when its type is known, else at evaluation). */
  conditionNotBoolean: "ERR_WIF_CONDITION_NOT_BOOLEAN",

  /** A mapping expression failed on this assertion (missing field, wrong type, bad extract template). */
  mappingEvaluationFailed: "ERR_WIF_MAPPING_EVALUATION_FAILED",
  /** `google.subject` did not evaluate to a string. */
  subjectNotString: "ERR_WIF_MAPPING_SUBJECT_NOT_STRING",
  /** `google.subject` evaluated to an empty string. */
  subjectEmpty: "ERR_WIF_MAPPING_SUBJECT_EMPTY",
  /** `google.subject` is longer than the limit (127 bytes of UTF-8). */
  subjectTooLong: "ERR_WIF_MAPPING_SUBJECT_TOO_LONG",
  /** `google.groups` did not evaluate to a list of strings. */
  groupsNotList: "ERR_WIF_MAPPING_GROUPS_NOT_LIST",
  /** A custom attribute did not evaluate to a string or a list of strings. */
  attributeInvalidType: "ERR_WIF_MAPPING_ATTRIBUTE_INVALID_TYPE",
  /** All mapped values together are larger than the limit (8 KB of UTF-8). */
  mappedAttributesTooLarge: "ERR_WIF_MAPPING_TOO_LARGE",
  /** The condition failed on this credential (missing field, wrong type). */
  conditionEvaluationFailed: "ERR_WIF_CONDITION_EVALUATION_FAILED",
  /** The condition evaluated to `false`. */
  conditionRejected: "ERR_WIF_CONDITION_REJECTED",

  /** A `principal://` or `principalSet://` identifier is malformed, or its parts are invalid. */
  principalInvalid: "ERR_WIF_PRINCIPAL_INVALID",
} as const;

export type AttributeMappingErrorCode =
  (typeof ATTRIBUTE_MAPPING_ERROR_CODES)[keyof typeof ATTRIBUTE_MAPPING_ERROR_CODES];

/**
 * When a failure happens: `compile` is a bad definition (the IAM API refuses to create such a provider),
 * `evaluate` is a credential the definition cannot map or that the condition refuses (STS refuses the
 * exchange), `principal` is a malformed member identifier.
 */
export type AttributeMappingErrorStage = "compile" | "evaluate" | "principal";

/** The OAuth `error` Google's STS answers with for an evaluation-time failure. */
export type StsOAuthError = "invalid_request" | "unauthorized_client";

export interface AttributeMappingErrorOptions {
  code: AttributeMappingErrorCode;
  stage: AttributeMappingErrorStage;
  /** The mapping key (`google.subject`, `attribute.aws_role`) or `condition` the failure belongs to. */
  field?: string | undefined;
  /** For evaluation-time failures: the OAuth error STS returns, with the message as `error_description`. */
  stsError?: StsOAuthError | undefined;
  cause?: unknown;
}

/**
 * The error of every function in this package. Callers switch on `code` (see
 * {@link ATTRIBUTE_MAPPING_ERROR_CODES}); `stage` tells a bad definition (`compile`) from a credential that
 * cannot be mapped (`evaluate`), and `stsError` is the OAuth error STS would answer with. Messages carry
 * Google's wording where Google's is known, name the mapping key, and never quote the credential.
 */
export class AttributeMappingError extends WifError<AttributeMappingErrorCode> {
  override name = "AttributeMappingError";
  readonly stage: AttributeMappingErrorStage;
  readonly stsError: StsOAuthError | undefined;

  constructor(message: string, options: AttributeMappingErrorOptions) {
    super(message, { code: options.code, cause: options.cause, field: options.field });
    this.stage = options.stage;
    this.stsError = options.stsError;
  }
}
