/**
 * `wif inspect`: fetch the subject token this environment produces and show what the identity provider
 * will see, never the token itself unless `--show-token`.
 */

import { WifError } from "@wifkit/core";
import { subjectTokenSupplierFromConfig } from "@wifkit/credentials-all";
import { oneOf, parseFlags } from "../args.js";
import { accessKeyIdOf, decodeAwsSubjectToken, elideAwsSecrets, expectedArnForm } from "../aws-token.js";
import type { CommandContext } from "../context.js";
import { CLI_ERROR_CODES } from "../errors.js";
import { readJwt, relativeTime } from "../jwt.js";
import { allowFor, loadConfig } from "../obtain.js";
import { GLOBAL_FLAGS } from "../specs.js";

const FLAGS = {
  ...GLOBAL_FLAGS,
  config: { type: "string" },
  "show-token": { type: "boolean" },
  format: { type: "string" },
} as const;

const FETCH_TIMEOUT_MS = 30_000;

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const { io, env } = context;
  const { values } = parseFlags("inspect", args, FLAGS);
  const format = oneOf("inspect", "format", values.format, ["text", "json"] as const, "text");
  const { config } = await loadConfig(values.config, await allowFor(values, env, "inspect"), context);
  if (config.type !== "external_account") {
    throw new WifError("An external_account_authorized_user configuration has no subject token to inspect.", {
      code: CLI_ERROR_CODES.nothingToInspect,
    });
  }
  const { source: kind, supplier } = await subjectTokenSupplierFromConfig(config, {
    env: env,
    transport: context.transport,
    timeoutMs: 10_000,
  });
  const spinner = io.spinner(`Fetching the ${kind} subject token…`);
  let subject: Awaited<ReturnType<typeof supplier>>;
  try {
    subject = await supplier({ signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } finally {
    spinner.stop();
  }

  const report: Record<string, unknown> = {
    source: kind,
    subject_token_type: subject.type,
    subject_token_length: subject.token.length,
    ...(subject.expiresAt ? { expires_at: subject.expiresAt.toISOString() } : {}),
    audience: config.audience,
  };
  const lines: string[] = [
    `Subject token from the ${kind} source: ${subject.type} (${subject.token.length} characters)`,
    `Sent to Google STS for the provider ${config.audience}`,
  ];
  const aws = subject.type.endsWith("aws4_request") ? decodeAwsSubjectToken(subject.token) : undefined;
  const jwt = aws ? undefined : readJwt(subject.token);
  if (aws) {
    const shown = elideAwsSecrets(aws);
    const keyId = accessKeyIdOf(aws);
    const arnForm = expectedArnForm(keyId);
    report.aws = { request: shown, access_key_id: keyId ?? null, expected_arn: arnForm };
    lines.push(
      "",
      "Google STS replays this signed request at AWS (signature and session token elided):",
      `  ${shown.method} ${shown.url}`,
      ...shown.headers.map(({ key, value }) => `  ${key}: ${value}`),
      "",
      `AWS answers with the caller's ARN, which the provider sees as assertion.arn (access key ${keyId ?? "unknown"}):`,
      `  ${arnForm}`,
      "assertion.account is the account id and assertion.userid the caller's user id.",
    );
  } else if (jwt) {
    report.jwt = jwt;
    const exp = jwt.claims.exp;
    lines.push(
      "",
      "Header:",
      ...JSON.stringify(jwt.header, null, 2)
        .split("\n")
        .map((line) => `  ${line}`),
      "Claims (the provider's assertion):",
      ...JSON.stringify(jwt.claims, null, 2)
        .split("\n")
        .map((line) => `  ${line}`),
      ...(typeof exp === "number" ? [`Expires ${relativeTime(exp, Date.now())}.`] : []),
      "The signature is not shown, and was not verified here: the provider verifies it with the issuer's keys.",
    );
  } else {
    lines.push("", "The token is neither a signed AWS request nor a JWT; its content is not shown.");
  }

  if (format === "json") {
    if (values["show-token"]) report.subject_token = subject.token;
    io.out(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.err(`${lines.join("\n")}\n`);
    if (values["show-token"]) io.out(`${subject.token}\n`);
  }
  return 0;
}
