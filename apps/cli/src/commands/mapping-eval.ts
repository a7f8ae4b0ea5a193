/**
 * `wif mapping eval`: what STS would make of an assertion under a provider's attribute mapping and
 * condition: google.subject, groups, attributes, the verdict, and the principal identifiers to bind.
 */

import type { AllowOptions } from "@wifkit/config";
import { readFileBounded, WifError } from "@wifkit/core";
import { oneOf, parseFlags, UsageError } from "../args.js";
import { decodeAwsSubjectToken } from "../aws-token.js";
import type { CommandContext } from "../context.js";
import { CLI_ERROR_CODES } from "../errors.js";
import { readJwt } from "../jwt.js";
import { allowFor, loadConfig } from "../obtain.js";
import { GLOBAL_FLAGS } from "../specs.js";

const COMMAND = "mapping eval";

const FLAGS = {
  ...GLOBAL_FLAGS,
  mapping: { type: "string" },
  condition: { type: "string" },
  assertion: { type: "string" },
  config: { type: "string" },
  "project-number": { type: "string" },
  pool: { type: "string" },
  format: { type: "string" },
} as const;

const MAX_ASSERTION_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;

type Assertion = Record<string, unknown>;

async function readAssertion(source: string): Promise<Assertion> {
  let text: string;
  try {
    if (source === "-") {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        size += (chunk as Buffer).length;
        if (size > MAX_ASSERTION_BYTES) break;
        chunks.push(chunk as Buffer);
      }
      text = Buffer.concat(chunks).toString("utf8");
    } else {
      // Bounded like every file a user names: no device, no endless pipe, no more than the cap.
      text = (await readFileBounded(source, { maxBytes: MAX_ASSERTION_BYTES, allowPipes: true })).toString(
        "utf8",
      );
    }
  } catch (cause) {
    throw new WifError(
      `Cannot read the assertion ${source} (${(cause as NodeJS.ErrnoException).code ?? "error"}).`,
      {
        code: CLI_ERROR_CODES.assertionUnreadable,
        cause,
      },
    );
  }
  const where = source === "-" ? "standard input" : source;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A bare JWT is a convenient way to pass OIDC claims.
    const jwt = readJwt(text);
    if (jwt) return jwt.claims;
    throw new WifError(`The assertion in ${where} is not JSON (nor a JWT).`, {
      code: CLI_ERROR_CODES.assertionInvalid,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new WifError(`The assertion in ${where} must be a JSON object.`, {
      code: CLI_ERROR_CODES.assertionInvalid,
    });
  }
  return value as Assertion;
}

/** The assertion the configuration's subject token produces in this environment, and its pool. */
async function assertionFromConfig(
  configPath: string,
  allow: AllowOptions,
  context: CommandContext,
): Promise<{ assertion: Assertion; aws: boolean; projectNumber?: string; poolId?: string }> {
  const { config } = await loadConfig(configPath, allow, context);
  if (config.type !== "external_account") {
    throw new WifError("An external_account_authorized_user configuration has no assertion to map.", {
      code: CLI_ERROR_CODES.nothingToInspect,
    });
  }
  const { parseAudience } = await import("@wifkit/config");
  const audience = (() => {
    try {
      return parseAudience(config.audience);
    } catch {
      return undefined;
    }
  })();
  const pool =
    audience?.kind === "workload" ? { projectNumber: audience.projectNumber, poolId: audience.poolId } : {};
  // Loaded only now: --assertion needs none of the suppliers.
  const [{ subjectTokenSupplierFromConfig }, { getCallerIdentity }] = await Promise.all([
    import("@wifkit/credentials-all"),
    import("@wifkit/aws-supplier"),
  ]);
  const { source: kind, supplier } = await subjectTokenSupplierFromConfig(config, {
    env: context.env,
    transport: context.transport,
    timeoutMs: 10_000,
  });
  const spinner = context.io.spinner(`Fetching the ${kind} subject token…`);
  try {
    const subject = await supplier({ signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const aws = subject.type.endsWith("aws4_request") ? decodeAwsSubjectToken(subject.token) : undefined;
    if (aws) {
      spinner.update("Asking AWS who the signed request identifies…");
      const endpoint = context.env.AWS_ENDPOINT_URL_STS || context.env.AWS_ENDPOINT_URL || undefined;
      const { arn, account, userId } = await getCallerIdentity({
        request: aws,
        endpoint,
        timeoutMs: 10_000,
        ...(context.transport ? { transport: context.transport } : {}),
      });
      // What Google STS builds from AWS's answer, in its spelling: assertion.arn, .account, .userid.
      return { assertion: { arn, account, userid: userId }, aws: true, ...pool };
    }
    const jwt = readJwt(subject.token);
    if (!jwt) {
      throw new WifError(`The ${kind} subject token is not a JWT, so its claims cannot be shown.`, {
        code: CLI_ERROR_CODES.assertionInvalid,
      });
    }
    return { assertion: jwt.claims, aws: false, ...pool };
  } finally {
    spinner.stop();
  }
}

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const { io, env } = context;
  const { values } = parseFlags(COMMAND, args, FLAGS);
  const format = oneOf(COMMAND, "format", values.format, ["text", "json"] as const, "text");
  if (values.assertion === undefined && values.config === undefined) {
    throw new UsageError(
      "missing --assertion FILE|- (or --config PATH to take it from this environment)",
      COMMAND,
    );
  }
  if (values.assertion !== undefined && values.config !== undefined) {
    throw new UsageError("--assertion and --config cannot be used together", COMMAND);
  }
  if (
    (values["project-number"] === undefined) !== (values.pool === undefined) &&
    values.config === undefined
  ) {
    throw new UsageError("--project-number and --pool go together", COMMAND);
  }

  const live =
    values.config !== undefined
      ? await assertionFromConfig(values.config, await allowFor(values, env, COMMAND), context)
      : undefined;
  const assertion = live?.assertion ?? (await readAssertion(values.assertion as string));
  const projectNumber = values["project-number"] ?? live?.projectNumber;
  const poolId = values.pool ?? live?.poolId;
  const looksAws = live?.aws ?? (typeof assertion.arn === "string" && typeof assertion.account === "string");

  const mappingLib = await import("@wifkit/attribute-mapping");
  const mappingText =
    values.mapping ?? (looksAws ? mappingLib.DEFAULT_AWS_MAPPING : mappingLib.DEFAULT_OIDC_MAPPING);
  const mapping = typeof mappingText === "string" ? mappingText : mappingLib.formatMappingString(mappingText);

  let decision: ReturnType<ReturnType<typeof mappingLib.compileProviderRules>["decide"]>;
  try {
    const rules = mappingLib.compileProviderRules({
      mapping,
      condition: values.condition,
      providerType: looksAws ? "aws" : "oidc",
    });
    decision = rules.decide(assertion);
  } catch (error) {
    const e = error as { code?: string; message?: string; stage?: string; stsError?: string; field?: string };
    if (format === "json") {
      io.out(
        `${JSON.stringify({ accepted: false, error: { code: e.code, stage: e.stage, field: e.field ?? null, sts_error: e.stsError ?? null, message: e.message } }, null, 2)}\n`,
      );
      return 1;
    }
    const who =
      e.stage === "compile"
        ? "The IAM API would refuse this provider"
        : `STS would refuse this credential${e.stsError ? ` (${e.stsError})` : ""}`;
    io.err(`${io.styles.red("✖")} ${who} [${e.code}]:\n  ${e.message}\n`);
    return 1;
  }

  const { mapped, accepted } = decision;
  let principals: string[] = [];
  if (projectNumber !== undefined && poolId !== undefined) {
    principals = mappingLib.identityMembers({ projectNumber, poolId, ...mapped });
  }
  if (format === "json") {
    io.out(
      `${JSON.stringify(
        {
          accepted,
          subject: mapped.subject,
          groups: mapped.groups,
          attributes: mapped.attributes,
          condition:
            values.condition === undefined ? null : { expression: values.condition, result: accepted },
          mapping,
          principals,
        },
        null,
        2,
      )}\n`,
    );
    return accepted ? 0 : 1;
  }

  const { styles } = io;
  const rows: [string, string][] = [
    ["google.subject", mapped.subject],
    ["google.groups", mapped.groups.length === 0 ? "(none)" : mapped.groups.join(", ")],
    ...Object.entries(mapped.attributes).map(([name, value]): [string, string] => [
      `attribute.${name}`,
      Array.isArray(value) ? value.join(", ") : String(value),
    ]),
  ];
  const width = Math.max(...rows.map(([key]) => key.length));
  const lines = [
    `Mapping: ${mapping}`,
    ...(values.mapping === undefined
      ? [styles.dim(`(Google's default ${looksAws ? "AWS" : "OIDC"} mapping; pass --mapping to use yours)`)]
      : []),
    "",
    ...rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`),
    "",
    values.condition === undefined
      ? `${styles.green("✔")} No attribute condition: every valid credential is accepted.`
      : accepted
        ? `${styles.green("✔")} Condition is true: STS accepts this credential.`
        : `${styles.red("✖")} Condition is false: STS refuses this credential (unauthorized_client: The given credential is rejected by the attribute condition.)`,
  ];
  if (principals.length > 0) {
    lines.push(
      "",
      "IAM members that match this identity (grant roles to any of them):",
      ...principals.map((p) => `  ${p}`),
    );
  } else {
    lines.push(
      "",
      styles.dim("Pass --project-number and --pool to list the principal identifiers this identity matches."),
    );
  }
  io.err(`${lines.join("\n")}\n`);
  return accepted ? 0 : 1;
}
