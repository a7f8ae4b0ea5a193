/**
 * The shape check of the parse pipeline: a value against one definition of the credential configuration's
 * JSON Schema (`credential-config.schema.json`, generated from schema.ts and pinned by generated.test.ts).
 * Only the few keywords that schema uses are understood. zod stays a build-time tool: bundling it made every
 * program that imports this package compile about 60 KB it rarely runs.
 */
import generated from "../credential-config.schema.json" with { type: "json" };
import type { ConfigIssue } from "./errors.js";

export interface JsonSchema {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string;
  description?: string;
  title?: string;
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  [key: string]: unknown;
}

export const SUBJECT_TOKEN_TYPE_VALUES = [
  "urn:ietf:params:oauth:token-type:jwt",
  "urn:ietf:params:oauth:token-type:id_token",
  "urn:ietf:params:oauth:token-type:saml2",
  "urn:ietf:params:oauth:token-type:access_token",
  "urn:ietf:params:oauth:token-type:mtls",
  "urn:ietf:params:aws:token-type:aws4_request",
] as const;

/** The field that identifies each credential source variant, in the order they are looked for, and its definition. */
export const SOURCE_KEYS = [
  { key: "environment_id", kind: "aws", definition: "AwsCredentialSource" },
  { key: "executable", kind: "executable", definition: "ExecutableCredentialSource" },
  { key: "certificate", kind: "certificate", definition: "CertificateCredentialSource" },
  { key: "file", kind: "file", definition: "FileCredentialSource" },
  { key: "url", kind: "url", definition: "UrlCredentialSource" },
] as const;

export type SourceKind = (typeof SOURCE_KEYS)[number]["kind"];

const DEFINITIONS = (generated as JsonSchema).$defs ?? {};

/** A named definition of the schema (`ExternalAccountConfig`, `AwsCredentialSource`...). */
export function definition(name: string): JsonSchema {
  const found = DEFINITIONS[name];
  if (!found) throw new Error(`credential-config.schema.json has no definition ${name}`);
  return found;
}

function resolved(schema: JsonSchema): JsonSchema {
  return schema.$ref ? definition(schema.$ref.replace(/^#\/\$defs\//, "")) : schema;
}

/** The properties an object schema names (after `$ref`), or undefined for any other schema. */
export function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> | undefined {
  return resolved(schema).properties;
}

type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** How a value is named in a message. Never the value itself: it may be a secret. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

const FAILED = Symbol("failed");

/**
 * Checks `value` against `schema`, recording one issue per problem under `path`. Returns the value with
 * the unknown keys of objects dropped (records keep theirs), or `FAILED`.
 */
function check(value: unknown, schema: JsonSchema, path: string, issues: ConfigIssue[]): unknown {
  const s = resolved(schema);
  const fail = (message: string) => {
    issues.push({ path, message });
    return FAILED;
  };
  if (s.const !== undefined || s.enum) {
    const allowed = s.enum ?? [s.const];
    return allowed.includes(value)
      ? value
      : fail(`must be ${allowed.map((v) => JSON.stringify(v)).join(" or ")}`);
  }
  switch (s.type) {
    case "string":
      if (typeof value !== "string") return fail(`must be a string, not ${typeName(value)}`);
      return value.length < (s.minLength ?? 0) ? fail("must not be empty") : value;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        return fail(`must be a whole number, not ${typeName(value)}`);
      }
      if (s.minimum !== undefined && value < s.minimum) return fail(`must be at least ${s.minimum}`);
      if (s.maximum !== undefined && value > s.maximum) return fail(`must be at most ${s.maximum}`);
      return value;
    case "boolean":
      return typeof value === "boolean" ? value : fail(`must be a boolean, not ${typeName(value)}`);
    case "object":
      if (!isObject(value)) return fail(`must be an object, not ${typeName(value)}`);
      return s.properties ? checkObject(value, s, path, issues) : checkRecord(value, s, path, issues);
    default:
      throw new Error(`credential-config.schema.json: unsupported schema at ${path || "the top"}`);
  }
}

function checkObject(
  value: Json,
  schema: JsonSchema,
  path: string,
  issues: ConfigIssue[],
): Json | typeof FAILED {
  return checkProperties(value, schema, path, issues) ?? FAILED;
}

function checkRecord(
  value: Json,
  schema: JsonSchema,
  path: string,
  issues: ConfigIssue[],
): Json | typeof FAILED {
  const entries = typeof schema.additionalProperties === "object" ? schema.additionalProperties : {};
  const out: Json = {};
  let ok = true;
  for (const [key, entry] of Object.entries(value)) {
    const checked = check(entry, entries, `${path}.${key}`, issues);
    if (checked === FAILED) ok = false;
    else out[key] = checked;
  }
  return ok ? out : FAILED;
}

/**
 * Checks each property `schema` names (except those in `skip`) and returns them, unknown keys dropped; or
 * undefined, with the problems recorded, when any is missing or malformed.
 */
export function checkProperties(
  value: Json,
  schema: JsonSchema,
  prefix: string,
  issues: ConfigIssue[],
  skip: Readonly<Record<string, true>> = {},
): Json | undefined {
  const s = resolved(schema);
  const required = new Set(s.required);
  const out: Json = {};
  let ok = true;
  for (const [key, property] of Object.entries(s.properties ?? {})) {
    if (skip[key]) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    const field = Object.hasOwn(value, key) ? value[key] : undefined;
    if (field === undefined) {
      if (required.has(key)) {
        issues.push({ path, message: "required" });
        ok = false;
      }
      continue;
    }
    const checked = check(field, property, path, issues);
    if (checked === FAILED) ok = false;
    else out[key] = checked;
  }
  return ok ? out : undefined;
}
