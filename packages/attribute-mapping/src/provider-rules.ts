import { CONDITION_REJECTED_MESSAGE, type CompiledCondition, compileCondition } from "./condition.js";
import { AttributeMappingError, ATTRIBUTE_MAPPING_ERROR_CODES as CODES } from "./errors.js";
import type { AttributeMappingLimits } from "./limits.js";
import {
  type Assertion,
  type AttributeMappingInput,
  type CompiledMapping,
  compileMapping,
  DEFAULT_AWS_MAPPING,
  type MappedAttributes,
} from "./mapping.js";

export interface ProviderRulesInit {
  /**
   * The provider's `attributeMapping`. When it is unset or empty and `providerType` is `aws`, Google's
   * {@link DEFAULT_AWS_MAPPING} applies; every other provider must map `google.subject`.
   */
  mapping?: AttributeMappingInput | undefined;
  /** The provider's `attributeCondition`; unset or blank accepts every valid credential. */
  condition?: string | undefined;
  /** The provider's type, which decides whether a missing mapping falls back to the AWS default. */
  providerType?: "aws" | "oidc" | undefined;
  /** Override Google's limits. */
  limits?: Partial<AttributeMappingLimits> | undefined;
}

/** The outcome of applying a provider's rules to one credential. */
export interface ProviderDecision {
  /** What the mapping produced. */
  mapped: MappedAttributes;
  /** False when the condition evaluated to false. */
  accepted: boolean;
}

/** A provider's mapping and condition, compiled once. */
export interface CompiledProviderRules {
  readonly mapping: CompiledMapping;
  readonly condition: CompiledCondition | undefined;
  /**
   * Maps the credential and applies the condition, as STS does at token exchange. Throws
   * `AttributeMappingError` `ERR_WIF_CONDITION_REJECTED` (Google's text, `stsError` `unauthorized_client`)
   * when the condition is false, and the mapping's or condition's evaluation errors otherwise.
   */
  evaluate(assertion: Assertion): MappedAttributes;
  /** Like `evaluate`, but reports a false condition as `accepted: false` instead of throwing. */
  decide(assertion: Assertion): ProviderDecision;
}

function isEmptyMapping(mapping: AttributeMappingInput | undefined): boolean {
  if (mapping === undefined) return true;
  if (typeof mapping === "string") return mapping.trim() === "";
  return Object.keys(mapping).length === 0;
}

/**
 * Compiles a workload identity pool provider's `attributeMapping` and `attributeCondition` together, with
 * Google's defaults for an AWS provider without a mapping. This is what the emulator's STS and the CLI use
 * to decide whether a credential is accepted and which identity it becomes.
 *
 * @example
 * const rules = compileProviderRules({
 *   providerType: "aws",
 *   condition: "attribute.aws_role == 'arn:aws:sts::111122223333:assumed-role/ci'",
 * });
 * rules.evaluate({ arn: "arn:aws:sts::111122223333:assumed-role/ci/i-0abc", account: "111122223333", userid: "AROA:i-0abc" });
 */
export function compileProviderRules(init: ProviderRulesInit): CompiledProviderRules {
  const mappingInput =
    isEmptyMapping(init.mapping) && init.providerType === "aws" ? DEFAULT_AWS_MAPPING : init.mapping;
  const mapping = compileMapping(mappingInput ?? {}, { limits: init.limits });
  const conditionSource = init.condition?.trim() ? init.condition : undefined;
  const condition =
    conditionSource === undefined ? undefined : compileCondition(conditionSource, { limits: init.limits });

  const decide = (assertion: Assertion): ProviderDecision => {
    const mapped = mapping.evaluate(assertion);
    if (condition === undefined) return { mapped, accepted: true };
    const google: { subject: string; groups?: string[] } = { subject: mapped.subject };
    if (mapping.mapsGroups) google.groups = mapped.groups;
    const accepted = condition.evaluate({ assertion, google, attribute: mapped.attributes });
    return { mapped, accepted };
  };

  return {
    mapping,
    condition,
    decide,
    evaluate(assertion) {
      const { mapped, accepted } = decide(assertion);
      if (!accepted) {
        throw new AttributeMappingError(CONDITION_REJECTED_MESSAGE, {
          code: CODES.conditionRejected,
          stage: "evaluate",
          field: "condition",
          stsError: "unauthorized_client",
        });
      }
      return mapped;
    },
  };
}
