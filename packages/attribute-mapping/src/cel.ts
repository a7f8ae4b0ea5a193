/**
 * The two CEL environments of Google's dialect, built once per process: mapping expressions see `assertion`;
 * conditions see `assertion`, `google` and `attribute`. Both add Google's `extract(template)`.
 */
import { Environment, type ParseResult } from "@marcbachmann/cel-js";
import { lineAndColumn, renameFreeIdentifier } from "./cel-source.js";
import { extract } from "./extract.js";

/**
 * cel-js predefines a constant `google` (the `google.protobuf.*` type namespace) that cannot be replaced, so
 * sources are compiled with their free `google` identifier renamed to this name, which only the condition
 * environment declares.
 */
const GOOGLE_VARIABLE = "wifkit_google_attributes";

const environmentOptions = {
  // Google's CEL accepts mixed literals such as {"prod": "admins", "dev": ["a", "b"]}.
  homogeneousAggregateLiterals: false,
  unlistedVariablesAreDyn: false,
  enableOptionalTypes: false,
} as const;

function withGoogleFunctions(environment: Environment): Environment {
  return environment.registerFunction("string.extract(string): string", (value: string, template: string) =>
    extract(value, template),
  );
}

let mappingEnvironment: Environment | undefined;
let conditionEnvironment: Environment | undefined;

function getMappingEnvironment(): Environment {
  mappingEnvironment ??= withGoogleFunctions(
    new Environment(environmentOptions).registerVariable("assertion", "map"),
  );
  return mappingEnvironment;
}

function getConditionEnvironment(): Environment {
  conditionEnvironment ??= withGoogleFunctions(
    new Environment(environmentOptions)
      .registerVariable("assertion", "map")
      .registerVariable(GOOGLE_VARIABLE, "map")
      .registerVariable("attribute", "map"),
  );
  return conditionEnvironment;
}

/** A problem found in an expression, with its position in the source the user wrote. */
export interface CelProblem {
  /** cel-js's error summary, with internal names translated back. */
  summary: string;
  /** cel-js's error code (`parse_error`, `unknown_variable`, `no_such_key`, ...). */
  celCode: string;
  line?: number;
  column?: number;
  cause: unknown;
}

/** Throws this to report a problem in an expression; callers wrap it into an `AttributeMappingError`. */
export class CelProblemError extends Error {
  constructor(readonly problem: CelProblem) {
    super(problem.summary);
  }
}

/** A compiled expression: call it with the variables; it throws {@link CelProblemError}. */
export interface CompiledExpression {
  /** The static result type cel-js inferred (`string`, `bool`, `list<string>`, `dyn`, ...). */
  readonly type: string;
  evaluate(variables: Record<string, unknown>): unknown;
}

function describeFailure(
  error: unknown,
  originalSource: string,
  toOriginal: (index: number) => number,
  atRuntime = false,
): CelProblem {
  const celError = error as { summary?: unknown; code?: unknown; range?: { start?: unknown } } | undefined;
  const rawSummary =
    typeof celError?.summary === "string"
      ? celError.summary
      : error instanceof Error
        ? error.message
        : String(error);
  const celCode = typeof celError?.code === "string" ? celError.code : "error";
  const range = celError?.range as { start?: unknown; end?: unknown } | undefined;
  const start = typeof range?.start === "number" ? toOriginal(range.start) : undefined;
  const end = typeof range?.end === "number" ? toOriginal(range.end) : undefined;
  let summary = rawSummary.replaceAll(GOOGLE_VARIABLE, "google").replace(/\.$/, "");
  if (atRuntime && celCode === "no_such_key" && start !== undefined && end !== undefined) {
    // cel-js names the missing key, which for an index such as m[assertion.sub] is a credential value;
    // name the failing part of the expression instead, which is the provider's own configuration.
    const snippet = originalSource.slice(start, end);
    summary = /^[A-Za-z_][A-Za-z0-9_]*$/.test(snippet)
      ? `No such key: ${snippet}`
      : `No such key in ${snippet.length > 80 ? `${snippet.slice(0, 77)}...` : snippet}`;
  }
  const problem: CelProblem = { summary, celCode, cause: error };
  if (start !== undefined) {
    const { line, column } = lineAndColumn(originalSource, start);
    problem.line = line;
    problem.column = column;
  }
  return problem;
}

/** Formats a problem as `summary (line L, column C)`. */
export function formatProblem(problem: CelProblem): string {
  return problem.line === undefined
    ? problem.summary
    : `${problem.summary} (line ${problem.line}, column ${problem.column})`;
}

/**
 * Parses and type-checks `source` once. Type checking annotates the syntax tree, so later evaluations skip
 * it; that is what makes compile-once, evaluate-many cheap.
 */
export function compileExpression(source: string, kind: "mapping" | "condition"): CompiledExpression {
  // Renamed in mapping expressions too, where it is then an unknown variable as in Google's dialect,
  // instead of cel-js's type namespace.
  const renamed = renameFreeIdentifier(source, "google", GOOGLE_VARIABLE);
  const environment = kind === "condition" ? getConditionEnvironment() : getMappingEnvironment();
  let parsed: ParseResult;
  try {
    parsed = environment.parse(renamed.source);
  } catch (error) {
    throw new CelProblemError(describeFailure(error, source, renamed.toOriginal));
  }
  const checked = parsed.check();
  if (!checked.valid) throw new CelProblemError(describeFailure(checked.error, source, renamed.toOriginal));
  const type = (checked.type ?? "dyn").replaceAll(GOOGLE_VARIABLE, "google");
  return {
    type,
    evaluate(variables) {
      let value: unknown;
      try {
        value = parsed(variables);
      } catch (error) {
        throw new CelProblemError(describeFailure(error, source, renamed.toOriginal, true));
      }
      return value;
    },
  };
}

/** The name under which a condition sees the `google` variable; see {@link compileExpression}. */
export const CONDITION_GOOGLE_VARIABLE = GOOGLE_VARIABLE;

/** Describes a CEL runtime value's type in CEL's words, for error messages. */
export function celTypeName(value: unknown): string {
  if (value === null || value === undefined) return "null_type";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "bigint") return "int";
  if (typeof value === "number") return "double";
  if (Array.isArray(value)) return "list";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof Date) return "google.protobuf.Timestamp";
  if (typeof value === "object") {
    const constructorName = (value as { constructor?: { name?: string } }).constructor?.name;
    if (constructorName === "UnsignedInt") return "uint";
    if (constructorName === "Duration") return "google.protobuf.Duration";
    return "map";
  }
  return typeof value;
}
