import {
  CelProblemError,
  CONDITION_GOOGLE_VARIABLE,
  celTypeName,
  compileExpression,
  formatProblem,
} from "./cel.js";
import { AttributeMappingError, ATTRIBUTE_MAPPING_ERROR_CODES as CODES } from "./errors.js";
import { type AttributeMappingLimits, characterLength, resolveLimits } from "./limits.js";
import type { Assertion } from "./mapping.js";

export interface CompileConditionOptions {
  /** Override Google's limits. Default `DEFAULT_ATTRIBUTE_MAPPING_LIMITS` (4096 characters). */
  limits?: Partial<AttributeMappingLimits> | undefined;
}

/** The variables an attribute condition reads. */
export interface ConditionInput {
  /** The credential's fields or claims. */
  assertion: Assertion;
  /** The mapped Google attributes; give only those the mapping maps (`groups` only when it maps google.groups). */
  google?: { subject?: string; groups?: readonly string[] } | undefined;
  /** The mapped custom attributes, keyed by NAME. */
  attribute?: Readonly<Record<string, string | readonly string[]>> | undefined;
}

/** A condition parsed and checked once; `evaluate` it for every credential. */
export interface CompiledCondition {
  /** The condition as written. */
  readonly expression: string;
  /**
   * True when the credential is accepted. Throws `AttributeMappingError` (stage `evaluate`) when the
   * condition fails on this credential or does not produce a boolean.
   */
  evaluate(input: ConditionInput): boolean;
}

/** The message Google's STS returns (`unauthorized_client`) when a condition evaluates to false. */
export const CONDITION_REJECTED_MESSAGE = "The given credential is rejected by the attribute condition.";

/**
 * Parses and type-checks an attribute condition, the way the IAM API checks a provider's
 * `attributeCondition`: valid CEL over `assertion`, `google` and `attribute` (with Google's `extract()`), at
 * most 4096 characters, and a boolean result when the type is known statically. Throws
 * `AttributeMappingError` with stage `compile`.
 *
 * @example
 * const condition = compileCondition("assertion.arn.startsWith('arn:aws:sts::111122223333:assumed-role/')");
 * condition.evaluate({ assertion: { arn: "arn:aws:sts::111122223333:assumed-role/ci/i-0abc" } }); // true
 */
export function compileCondition(
  expression: string,
  options: CompileConditionOptions = {},
): CompiledCondition {
  const limits = resolveLimits(options.limits);
  if (typeof expression !== "string") {
    throw new AttributeMappingError("The attribute condition must be a CEL expression string.", {
      code: CODES.conditionInvalidExpression,
      stage: "compile",
      field: "condition",
    });
  }
  const length = characterLength(expression);
  if (length > limits.maxConditionLength) {
    throw new AttributeMappingError(
      `The attribute condition is ${length} characters long; the maximum is ${limits.maxConditionLength} characters.`,
      { code: CODES.conditionTooLong, stage: "compile", field: "condition" },
    );
  }
  if (expression.trim() === "") {
    throw new AttributeMappingError(
      "The attribute condition is empty; leave it unset to accept every valid credential.",
      { code: CODES.conditionInvalidExpression, stage: "compile", field: "condition" },
    );
  }
  let compiled: ReturnType<typeof compileExpression>;
  try {
    compiled = compileExpression(expression, "condition");
  } catch (error) {
    if (!(error instanceof CelProblemError)) throw error;
    const hint =
      error.problem.celCode === "unknown_variable"
        ? " Conditions can read assertion, google and attribute."
        : "";
    throw new AttributeMappingError(
      `The attribute condition is not a valid CEL expression: ${formatProblem(error.problem)}.${hint}`,
      {
        code: CODES.conditionInvalidExpression,
        stage: "compile",
        field: "condition",
        cause: error.problem.cause,
      },
    );
  }
  if (compiled.type !== "bool" && compiled.type !== "dyn") {
    throw new AttributeMappingError(
      `The attribute condition must produce a boolean, but it produces ${compiled.type}.`,
      { code: CODES.conditionNotBoolean, stage: "compile", field: "condition" },
    );
  }

  return {
    expression,
    evaluate(input: ConditionInput): boolean {
      const variables = {
        assertion: input.assertion,
        [CONDITION_GOOGLE_VARIABLE]: input.google ?? {},
        attribute: input.attribute ?? {},
      };
      let value: unknown;
      try {
        value = compiled.evaluate(variables);
      } catch (error) {
        if (!(error instanceof CelProblemError)) throw error;
        throw new AttributeMappingError(
          `The attribute condition could not be evaluated: ${formatProblem(error.problem)}.`,
          {
            code: CODES.conditionEvaluationFailed,
            stage: "evaluate",
            field: "condition",
            stsError: "unauthorized_client",
            cause: error.problem.cause,
          },
        );
      }
      if (typeof value !== "boolean") {
        throw new AttributeMappingError(
          `The attribute condition must produce a boolean, but it produced a value of type ${celTypeName(value)}.`,
          {
            code: CODES.conditionNotBoolean,
            stage: "evaluate",
            field: "condition",
            stsError: "unauthorized_client",
          },
        );
      }
      return value;
    },
  };
}
