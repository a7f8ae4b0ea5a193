import {
  CelProblemError,
  type CompiledExpression,
  celTypeName,
  compileExpression,
  formatProblem,
} from "./cel.js";
import { splitTopLevel } from "./cel-source.js";
import { AttributeMappingError, ATTRIBUTE_MAPPING_ERROR_CODES as CODES } from "./errors.js";
import { type AttributeMappingLimits, characterLength, resolveLimits, utf8Length } from "./limits.js";

/** A mapping as gcloud's `--attribute-mapping` flag takes it, or as the IAM API's `attributeMapping` object. */
export type AttributeMappingInput = string | Readonly<Record<string, string>>;

/** The claims or fields of a verified credential: AWS `{arn, account, userid}`, or a JWT's claims. */
export type Assertion = Readonly<Record<string, unknown>>;

/** What a mapping produces for one credential. Custom attributes are keyed by NAME, without `attribute.`. */
export interface MappedAttributes {
  subject: string;
  groups: string[];
  attributes: Record<string, string | string[]>;
}

export interface CompileMappingOptions {
  /** Override Google's limits, e.g. to test how a mapping behaves near them. Default `DEFAULT_ATTRIBUTE_MAPPING_LIMITS`. */
  limits?: Partial<AttributeMappingLimits> | undefined;
}

/** A mapping parsed, validated and compiled once; `evaluate` it for every credential. */
export interface CompiledMapping {
  /** The mapping as `key -> expression`, in definition order. */
  readonly mapping: Readonly<Record<string, string>>;
  /** True when the mapping maps `google.groups` (conditions can only read `google.groups` then). */
  readonly mapsGroups: boolean;
  /**
   * Maps one credential. Throws `AttributeMappingError` (stage `evaluate`) when an expression fails, when
   * `google.subject` is not a non-empty string of at most 127 bytes, when `google.groups` is not a list of
   * strings, when a custom attribute is not a string or list of strings, or when all values exceed 8 KB.
   */
  evaluate(assertion: Assertion): MappedAttributes;
}

/**
 * Google's default mapping for AWS providers that define none: the subject is the caller's ARN and
 * `attribute.aws_role` is the role ARN (the assumed-role ARN without its session name) or, for IAM users,
 * the ARN itself.
 */
export const DEFAULT_AWS_MAPPING: Readonly<Record<string, string>> = Object.freeze({
  "google.subject": "assertion.arn",
  "attribute.aws_role":
    "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
});

/** The usual mapping for OIDC providers (Azure, any JWT): the subject is the `sub` claim. */
export const DEFAULT_OIDC_MAPPING: Readonly<Record<string, string>> = Object.freeze({
  "google.subject": "assertion.sub",
});

const SUBJECT_KEY = "google.subject";
const GROUPS_KEY = "google.groups";
const ATTRIBUTE_PREFIX = "attribute.";
const ATTRIBUTE_NAME = /^[a-z0-9_]+$/;

function compileError(
  message: string,
  code: (typeof CODES)[keyof typeof CODES],
  field?: string,
  cause?: unknown,
): AttributeMappingError {
  return new AttributeMappingError(message, { code, stage: "compile", field, cause });
}

/** Shortens user-written text repeated in a message so a pasted blob cannot flood logs. */
function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function quote(text: string): string {
  return JSON.stringify(shorten(text));
}

/**
 * Parses the string form of a mapping, `google.subject=assertion.arn,attribute.account=assertion.account`,
 * into `key -> expression`. Commas inside parentheses, brackets, braces and string literals do not split, so
 * `attribute.x=['a', 'b'].join(',')` is one entry. gcloud's alternate-delimiter form is accepted too:
 * `^;^google.subject=assertion.sub;attribute.x=...` splits on `;` only. Throws `AttributeMappingError`
 * `ERR_WIF_MAPPING_SYNTAX` or `ERR_WIF_MAPPING_DUPLICATE_KEY`.
 *
 * @example
 * parseMappingString("google.subject=assertion.sub,attribute.tid=assertion.tid");
 * // { "google.subject": "assertion.sub", "attribute.tid": "assertion.tid" }
 */
export function parseMappingString(text: string): Record<string, string> {
  const delimiter = /^\^([^^])\^/.exec(text);
  const entries = delimiter?.[1] ? text.slice(3).split(delimiter[1]) : splitTopLevel(text, ",");
  const mapping: Record<string, string> = {};
  for (const entry of entries) {
    if (entry.trim() === "") continue;
    const equals = entry.indexOf("=");
    const key = equals < 0 ? "" : entry.slice(0, equals).trim();
    if (key === "") {
      throw compileError(
        `Invalid attribute mapping entry ${quote(entry.trim())}: write each entry as KEY=EXPRESSION, for example google.subject=assertion.sub.`,
        CODES.mappingSyntax,
      );
    }
    if (Object.hasOwn(mapping, key)) {
      throw compileError(
        `The attribute mapping defines ${key} more than once; keep one expression per key.`,
        CODES.mappingDuplicateKey,
        key,
      );
    }
    mapping[key] = entry.slice(equals + 1).trim();
  }
  return mapping;
}

/**
 * Formats `key -> expression` as the string form gcloud's `--attribute-mapping` takes; the inverse of
 * {@link parseMappingString}.
 */
export function formatMappingString(mapping: Readonly<Record<string, string>>): string {
  return Object.entries(mapping)
    .map(([key, expression]) => `${key}=${expression}`)
    .join(",");
}

function validateKey(key: string, limits: AttributeMappingLimits): void {
  if (key === SUBJECT_KEY || key === GROUPS_KEY) return;
  if (key.startsWith("google.")) {
    throw compileError(
      `Invalid mapped attribute key: ${key}. Workload identity pools support google.subject, google.groups and attribute.{custom_attribute}.`,
      CODES.mappingInvalidKey,
      key,
    );
  }
  if (!key.startsWith(ATTRIBUTE_PREFIX)) {
    throw compileError(
      `Invalid mapped attribute key: ${shorten(key)}. Custom mapped attributes must be in format 'attribute.{custom_attribute}'.`,
      CODES.mappingInvalidKey,
      key,
    );
  }
  const name = key.slice(ATTRIBUTE_PREFIX.length);
  if (!ATTRIBUTE_NAME.test(name) || name.length > limits.maxAttributeNameLength) {
    throw compileError(
      `Invalid mapped attribute key: ${shorten(key)}. A custom attribute name may only contain the characters [a-z0-9_] and be at most ${limits.maxAttributeNameLength} characters long.`,
      CODES.mappingInvalidKey,
      key,
    );
  }
}

function normalizeInput(mapping: unknown): Record<string, string> {
  if (typeof mapping === "string") return parseMappingString(mapping);
  if (mapping === null || typeof mapping !== "object" || Array.isArray(mapping)) {
    throw compileError(
      "The attribute mapping must be a string such as google.subject=assertion.sub or an object of key -> CEL expression.",
      CODES.mappingSyntax,
    );
  }
  const normalized: Record<string, string> = {};
  for (const [key, expression] of Object.entries(mapping)) {
    if (typeof expression !== "string") {
      throw compileError(
        `The attribute mapping for ${quote(key)} must be a CEL expression string, not ${expression === null ? "null" : typeof expression}.`,
        CODES.mappingSyntax,
        key,
      );
    }
    normalized[key] = expression;
  }
  return normalized;
}

interface CompiledEntry {
  key: string;
  /** NAME for custom attributes. */
  name: string;
  expression: CompiledExpression;
}

/**
 * Parses, validates and compiles an attribute mapping, the way the IAM API checks a provider's
 * `attributeMapping` when it is created: keys (`google.subject` required, `google.groups`, at most 50
 * `attribute.NAME` with NAME `[a-z0-9_]{1,100}`), expressions of at most 2048 characters that are valid CEL
 * over `assertion` with Google's `extract()`. Compile once and call `evaluate` for every credential. Throws
 * `AttributeMappingError` with stage `compile`.
 *
 * @example
 * const mapping = compileMapping("google.subject=assertion.arn,attribute.account=assertion.account");
 * mapping.evaluate({ arn: "arn:aws:iam::111122223333:user/ci", account: "111122223333", userid: "AIDA..." });
 * // { subject: "arn:aws:iam::111122223333:user/ci", groups: [], attributes: { account: "111122223333" } }
 */
export function compileMapping(
  mapping: AttributeMappingInput,
  options: CompileMappingOptions = {},
): CompiledMapping {
  const limits = resolveLimits(options.limits);
  const definition = normalizeInput(mapping);
  const keys = Object.keys(definition);
  for (const key of keys) validateKey(key, limits);

  const customCount = keys.filter((key) => key.startsWith(ATTRIBUTE_PREFIX)).length;
  if (customCount > limits.maxCustomAttributes) {
    throw compileError(
      `The attribute mapping defines ${customCount} custom attributes; at most ${limits.maxCustomAttributes} are allowed. Remove the attributes your conditions and IAM policies do not use.`,
      CODES.mappingTooManyAttributes,
    );
  }
  if (!Object.hasOwn(definition, SUBJECT_KEY)) {
    throw compileError(
      "The attribute mapping must map google.subject, for example google.subject=assertion.sub (OIDC) or google.subject=assertion.arn (AWS).",
      CODES.mappingSubjectRequired,
      SUBJECT_KEY,
    );
  }

  const entries: CompiledEntry[] = [];
  for (const key of [SUBJECT_KEY, ...keys.filter((key) => key !== SUBJECT_KEY)]) {
    const source = definition[key] ?? "";
    const length = characterLength(source);
    if (length > limits.maxExpressionLength) {
      throw compileError(
        `The attribute mapping expression for ${key} is ${length} characters long; the maximum is ${limits.maxExpressionLength} characters.`,
        CODES.mappingExpressionTooLong,
        key,
      );
    }
    if (source.trim() === "") {
      throw compileError(
        `The attribute mapping expression for ${key} is empty; give a CEL expression such as assertion.sub.`,
        CODES.mappingInvalidExpression,
        key,
      );
    }
    let expression: CompiledExpression;
    try {
      expression = compileExpression(source, "mapping");
    } catch (error) {
      if (!(error instanceof CelProblemError)) throw error;
      const hint =
        error.problem.celCode === "unknown_variable"
          ? " Mapping expressions can only read assertion (for example assertion.sub or assertion.arn)."
          : "";
      throw compileError(
        `The attribute mapping expression for ${key} is not a valid CEL expression: ${formatProblem(error.problem)}.${hint}`,
        CODES.mappingInvalidExpression,
        key,
        error.problem.cause,
      );
    }
    entries.push({ key, name: key.slice(ATTRIBUTE_PREFIX.length), expression });
  }

  return new CompiledMappingImpl(Object.freeze({ ...definition }), entries, limits);
}

class CompiledMappingImpl implements CompiledMapping {
  readonly mapsGroups: boolean;

  constructor(
    readonly mapping: Readonly<Record<string, string>>,
    private readonly entries: readonly CompiledEntry[],
    private readonly limits: AttributeMappingLimits,
  ) {
    this.mapsGroups = entries.some((entry) => entry.key === GROUPS_KEY);
  }

  evaluate(assertion: Assertion): MappedAttributes {
    if (assertion === null || typeof assertion !== "object" || Array.isArray(assertion)) {
      throw new AttributeMappingError(
        "The assertion must be an object of credential fields or claims (for example a JWT's claims).",
        { code: CODES.mappingEvaluationFailed, stage: "evaluate", stsError: "invalid_request" },
      );
    }
    const variables = { assertion };
    const limits = this.limits;
    let subject = "";
    let groups: string[] = [];
    const attributes: Record<string, string | string[]> = {};
    let totalBytes = 0;

    for (const { key, name, expression } of this.entries) {
      const value = evaluateEntry(expression, key, variables);
      if (key === SUBJECT_KEY) {
        if (typeof value !== "string") {
          throw evaluationError(
            `The mapped attribute '${SUBJECT_KEY}' must be of type STRING.`,
            CODES.subjectNotString,
            key,
            "unauthorized_client",
          );
        }
        if (value === "") {
          throw evaluationError(
            `The mapped attribute ${SUBJECT_KEY} is empty. Either modify your attribute mapping or the incoming assertion to produce a non-empty subject.`,
            CODES.subjectEmpty,
            key,
          );
        }
        const bytes = utf8Length(value);
        if (bytes > limits.maxSubjectBytes) {
          throw evaluationError(
            `The size of mapped attribute ${SUBJECT_KEY} exceeds the ${limits.maxSubjectBytes} bytes limit. Either modify your attribute mapping or the incoming assertion to produce a mapped attribute that is less than ${limits.maxSubjectBytes} bytes.`,
            CODES.subjectTooLong,
            key,
          );
        }
        subject = value;
        totalBytes += bytes;
      } else if (key === GROUPS_KEY) {
        if (!isStringList(value)) {
          throw evaluationError(
            `The mapped attribute '${GROUPS_KEY}' must be a list of strings, but the expression produced ${describeValueType(value)}.`,
            CODES.groupsNotList,
            key,
            "unauthorized_client",
          );
        }
        groups = [...value];
        for (const group of groups) totalBytes += utf8Length(group);
      } else if (typeof value === "string") {
        attributes[name] = value;
        totalBytes += utf8Length(value);
      } else if (isStringList(value)) {
        attributes[name] = [...value];
        for (const element of value) totalBytes += utf8Length(element);
      } else {
        throw evaluationError(
          `The mapped attribute '${key}' must be of type STRING or a list of strings, but the expression produced ${describeValueType(value)}.`,
          CODES.attributeInvalidType,
          key,
          "unauthorized_client",
        );
      }
    }

    if (totalBytes > limits.maxMappedBytes) {
      throw evaluationError(
        `The size of the entire mapped attributes exceeds the ${formatBytes(limits.maxMappedBytes)} limit. Either modify your attribute mapping or the incoming assertion to produce mapped attributes that are less than ${formatBytes(limits.maxMappedBytes)} in total.`,
        CODES.mappedAttributesTooLarge,
        undefined,
      );
    }
    return { subject, groups, attributes };
  }
}

function evaluateEntry(
  expression: CompiledExpression,
  key: string,
  variables: Record<string, unknown>,
): unknown {
  try {
    return expression.evaluate(variables);
  } catch (error) {
    if (!(error instanceof CelProblemError)) throw error;
    const hint =
      error.problem.celCode === "no_such_key"
        ? " Check that the credential has the fields this expression reads, or guard them with has()."
        : "";
    throw evaluationError(
      `The attribute mapping for ${key} could not be evaluated: ${formatProblem(error.problem)}.${hint}`,
      CODES.mappingEvaluationFailed,
      key,
      "invalid_request",
      error.problem.cause,
    );
  }
}

function evaluationError(
  message: string,
  code: (typeof CODES)[keyof typeof CODES],
  field: string | undefined,
  stsError: "invalid_request" | "unauthorized_client" = "invalid_request",
  cause?: unknown,
): AttributeMappingError {
  return new AttributeMappingError(message, { code, stage: "evaluate", field, stsError, cause });
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((element) => typeof element === "string");
}

function describeValueType(value: unknown): string {
  if (Array.isArray(value)) return "a list with non-string elements";
  return `a value of type ${celTypeName(value)}`;
}

function formatBytes(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} bytes`;
}
