/**
 * `wif doctor`: a live setup checked step by step (@wifkit/setup's `runDoctor`), printed one line per step
 * with ok, fail or skipped, and for a failure the command that fixes it; `--format json` for tools.
 */
import type { DoctorStep } from "@wifkit/setup";
import { oneOf, parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { allowFor, loadConfig } from "../obtain.js";
import { GLOBAL_FLAGS } from "../specs.js";

const FLAGS = { ...GLOBAL_FLAGS, config: { type: "string" }, format: { type: "string" } } as const;
const FORMATS = ["text", "json"] as const;

/** Per request; a metadata service's retries stay within twice that for the subject token. */
const TIMEOUT_MS = 10_000;

const LABELS: Record<DoctorStep["id"], string> = {
  "subject-token": "subject token",
  "sts-exchange": "STS exchange",
  introspection: "introspection",
  provider: "provider",
  apis: "APIs",
  impersonation: "impersonation",
  project: "project number",
};

type Env = CommandContext["env"];

/** gcloud's `CLOUDSDK_API_ENDPOINT_OVERRIDES_*`, so that doctor reads the setup where gcloud writes it. */
function adminEndpoints(env: Env) {
  const base = (name: string) =>
    env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${name}`]?.replace(/\/+$/, "") || undefined;
  const endpoints = {
    iam: base("IAM"),
    serviceUsage: base("SERVICEUSAGE"),
    resourceManager: base("CLOUDRESOURCEMANAGER"),
  };
  return Object.fromEntries(Object.entries(endpoints).filter(([, url]) => url !== undefined));
}

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const { io, env } = context;
  const { values } = parseFlags("doctor", args, FLAGS);
  const format = oneOf("doctor", "format", values.format, FORMATS, "text");
  const { config } = await loadConfig(values.config, await allowFor(values, env, "doctor"), context);
  if (config.type !== "external_account") {
    throw new UsageError(
      `doctor checks Workload Identity Federation configurations (external_account), not ${config.type}`,
      "doctor",
    );
  }
  const [{ subjectTokenSupplierFromConfig }, { runDoctor }, { deserializeSubjectToken, getCallerIdentity }] =
    await Promise.all([
      import("@wifkit/credentials-all"),
      import("@wifkit/setup"),
      import("@wifkit/aws-supplier"),
    ]);
  const { supplier } = await subjectTokenSupplierFromConfig(config, {
    env,
    timeoutMs: TIMEOUT_MS,
    transport: context.transport,
  });
  const awsEndpoint = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || undefined;
  const { styles } = io;
  const marks = { ok: styles.green("✔"), fail: styles.red("✖"), skipped: styles.dim("-") };
  const spinner = io.spinner("Checking the subject token…");
  const print = (step: DoctorStep) => {
    if (format === "json") return;
    spinner.update(`Checked ${LABELS[step.id]}…`);
    const lines = [`${marks[step.status]} ${step.status.padEnd(7)} ${LABELS[step.id]}: ${step.summary}`];
    for (const detail of step.details ?? []) lines.push(`    ${styles.dim(detail)}`);
    if (step.fix) lines.push(`    fix: ${step.fix}`);
    io.err(`${lines.join("\n")}\n`);
  };
  let report: Awaited<ReturnType<typeof runDoctor>>;
  try {
    report = await runDoctor({
      config,
      supplier,
      awsCallerIdentity: async (token) => {
        const { arn, account, userId } = await getCallerIdentity({
          request: deserializeSubjectToken(token),
          timeoutMs: TIMEOUT_MS,
          ...(awsEndpoint ? { endpoint: awsEndpoint } : {}),
          ...(context.transport ? { transport: context.transport } : {}),
        });
        // What Google STS builds from AWS's answer, in its spelling: assertion.arn, .account, .userid.
        return { arn, account, userid: userId };
      },
      adminToken: env.CLOUDSDK_AUTH_ACCESS_TOKEN || undefined,
      endpoints: adminEndpoints(env),
      timeoutMs: TIMEOUT_MS,
      onStep: print,
    });
  } finally {
    spinner.stop();
  }
  if (format === "json") {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const failed = report.steps.filter((step) => step.status === "fail").map((step) => LABELS[step.id]);
    io.err(
      failed.length === 0
        ? `${styles.green("Every check passed.")}\n`
        : `${styles.red(`${failed.length} check${failed.length === 1 ? "" : "s"} failed`)}: ${failed.join(", ")}; the first fix is the one to try.\n`,
    );
  }
  return report.ok ? 0 : 1;
}
