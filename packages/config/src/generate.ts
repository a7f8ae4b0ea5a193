/**
 * Generates the two artifacts derived from the zod schemas: the JSON Schema shipped with the package and the
 * public TypeScript types (src/types.ts). Both are committed and pinned by generated.test.ts; regenerate
 * them with `pnpm --filter @wifkit/config test -u` after changing schema.ts.
 *
 * The types are generated rather than exported as `z.infer<...>` because zod is not a dependency: it runs
 * only here, at build time; plain declarations keep the published .d.ts free of it.
 */
import * as z from "zod/mini";
import { schemas } from "./schema.js";
import type { JsonSchema } from "./shape.js";

export const SCHEMA_ID = "https://unpkg.com/@wifkit/config/credential-config.schema.json";

/** The JSON Schema of the credential configuration file, as written by gcloud (input side). */
export function credentialConfigJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(schemas().credentialConfigSchema, {
    io: "input",
    unrepresentable: "throw",
  }) as JsonSchema;
  return { $schema: generated.$schema, $id: SCHEMA_ID, ...generated } as JsonSchema;
}

const refName = (ref: string) => ref.replace(/^#\/\$defs\//, "");

function doc(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text} */\n` : "";
}

function typeOf(schema: JsonSchema, indent: string): string {
  if (schema.$ref) return refName(schema.$ref);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return union.map((member) => typeOf(member, indent)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      return `Array<${typeOf(schema.items ?? {}, indent)}>`;
    case "object":
      if (schema.properties) return objectBody(schema, indent);
      if (typeof schema.additionalProperties === "object") {
        return `Record<string, ${typeOf(schema.additionalProperties, indent)}>`;
      }
      return "Record<string, unknown>";
    default:
      return "unknown";
  }
}

function objectBody(schema: JsonSchema, indent: string): string {
  const inner = `${indent}  `;
  const required = new Set(schema.required ?? []);
  const lines = Object.entries(schema.properties ?? {}).map(([key, property]) => {
    const optional = required.has(key) ? "" : "?";
    const type = typeOf(property, inner);
    return `${doc(property.description, inner)}${inner}${key}${optional}: ${type}${optional ? " | undefined" : ""};\n`;
  });
  return `{\n${lines.join("")}${indent}}`;
}

/** TypeScript declarations for every named definition of the JSON Schema. */
export function credentialConfigTypes(): string {
  const schema = credentialConfigJsonSchema();
  const defs: Record<string, JsonSchema> = { ...schema.$defs };
  const out = [
    "// Generated from schema.ts by generate.ts; do not edit. Regenerate: pnpm --filter @wifkit/config test -u",
    "",
  ];
  for (const [name, def] of Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))) {
    const body = typeOf(def, "");
    const comment = doc(def.description ?? def.title, "");
    out.push(
      def.type === "object" && def.properties
        ? `${comment}export interface ${name} ${body}\n`
        : `${comment}export type ${name} = ${body};\n`,
    );
  }
  return out.join("\n");
}
