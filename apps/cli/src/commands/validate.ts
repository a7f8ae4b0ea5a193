/**
 * `wif validate`: the configuration against the schema and the endpoint policy, then what it needs from this
 * machine that can be seen without the network: environment variables, files (a token file is read: empty,
 * malformed, expired), executables. It never sends a request; `wif doctor` checks the live setup (subject token, STS, the provider, APIs, bindings).
 */
import { access, constants, stat } from "node:fs/promises";
import type { ExternalAccountConfig } from "@wifkit/config";
import type { Env, SubjectTokenSupplier } from "@wifkit/core";
import type { ConfigSourceKind } from "@wifkit/credentials";
import { parseFlags } from "../args.js";
import type { CommandContext } from "../context.js";
import type { Io } from "../io.js";
import { readJwt, relativeTime } from "../jwt.js";
import { allowFor, loadConfig } from "../obtain.js";
import { GLOBAL_FLAGS } from "../specs.js";

const FLAGS = { ...GLOBAL_FLAGS, config: { type: "string" }, offline: { type: "boolean" } } as const;

/** Bound on reading a token file (a FIFO or a slow disk must not hang validate). */
const SUBJECT_FILE_TIMEOUT_MS = 10_000;

interface Checks {
  io: Io;
  env: Env;
  failures: number;
}

function check(checks: Checks, ok: boolean | "warn", text: string, detail?: string): void {
  if (ok === false) checks.failures += 1;
  checks.io.check(ok, text, detail);
}

function set(env: Env, name: string): boolean {
  return (env[name] ?? "").trim() !== "";
}

async function checkFile(checks: Checks, what: string, path: string, fix: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      check(checks, false, `${what} ${path} is not a file`, fix);
      return false;
    }
    await access(path, constants.R_OK);
    check(checks, true, `${what} ${path} is readable`);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    check(
      checks,
      false,
      `${what} ${path} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`,
      fix,
    );
    return false;
  }
}

function checkAwsEnvironment(checks: Checks): void {
  const { env } = checks;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  check(
    checks,
    true,
    region
      ? `AWS region ${region} (from ${env.AWS_REGION ? "AWS_REGION" : "AWS_DEFAULT_REGION"})`
      : "AWS region: AWS_REGION and AWS_DEFAULT_REGION unset, so it is read from the instance metadata service",
  );
  if (set(env, "AWS_ACCESS_KEY_ID") || set(env, "AWS_SECRET_ACCESS_KEY")) {
    const complete = set(env, "AWS_ACCESS_KEY_ID") && set(env, "AWS_SECRET_ACCESS_KEY");
    check(
      checks,
      complete,
      complete
        ? `AWS credentials from AWS_ACCESS_KEY_ID${set(env, "AWS_SESSION_TOKEN") ? ", AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN" : " and AWS_SECRET_ACCESS_KEY"}`
        : "AWS credentials in the environment are incomplete",
      complete
        ? undefined
        : "fix: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or unset both to use the instance's role",
    );
    return;
  }
  if (set(env, "AWS_ROLE_ARN") || set(env, "AWS_WEB_IDENTITY_TOKEN_FILE")) {
    const complete = set(env, "AWS_ROLE_ARN") && set(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    check(
      checks,
      complete,
      complete
        ? `AWS credentials from the web identity role ${env.AWS_ROLE_ARN} (EKS IRSA)`
        : "EKS IRSA variables are incomplete",
      complete
        ? undefined
        : "fix: IRSA needs both AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (set by the EKS pod identity webhook)",
    );
    return;
  }
  if (set(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") || set(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    check(
      checks,
      true,
      "AWS credentials from the container credentials endpoint (ECS, Fargate or EKS Pod Identity)",
    );
    return;
  }
  check(
    checks,
    true,
    "AWS credentials: none in the environment, so the EC2 instance role is read from the instance metadata service",
  );
}

async function checkEnvironment(
  checks: Checks,
  config: ExternalAccountConfig,
  kind: ConfigSourceKind,
): Promise<boolean> {
  const source = config.credential_source;
  if (kind === "aws") {
    checkAwsEnvironment(checks);
    return true;
  }
  if (kind === "azure") {
    const { detectAzureSource } = await import("@wifkit/azure-supplier");
    const detection = detectAzureSource({ env: checks.env });
    const chosen = detection.checks.find((candidate) => candidate.source === detection.source);
    check(checks, true, `Azure managed identity source: ${chosen?.detail ?? detection.source}`);
    return true;
  }
  if ("file" in source) {
    return checkFile(
      checks,
      "Subject token file",
      source.file,
      "fix: the file is written by your platform or a sidecar (e.g. a Kubernetes projected service account token); check the path in credential_source.file",
    );
  }
  if ("executable" in source) {
    const allowed = checks.env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES === "1";
    check(
      checks,
      allowed,
      allowed ? "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 is set" : "executables are not allowed to run",
      allowed
        ? undefined
        : "fix: export GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 if you trust this configuration's command",
    );
    const program = source.executable.command.trim().split(/\s+/)[0] ?? "";
    try {
      await access(program, constants.X_OK);
      check(checks, true, `Executable ${program} exists and may run`);
    } catch {
      check(
        checks,
        false,
        `Executable ${program} does not exist or is not executable`,
        "fix: install it, or correct credential_source.executable.command (an absolute path)",
      );
      return false;
    }
    return allowed;
  }
  return true;
}

/** The subject token in a file source: it reads, and a JWT has not expired. */
async function checkTokenFile(checks: Checks, supplier: SubjectTokenSupplier): Promise<void> {
  try {
    const subject = await supplier({ signal: AbortSignal.timeout(SUBJECT_FILE_TIMEOUT_MS) });
    check(checks, true, `Subject token read (${subject.type}, ${subject.token.length} characters)`);
    const jwt =
      subject.type.endsWith(":jwt") || subject.type.endsWith(":id_token")
        ? readJwt(subject.token)
        : undefined;
    const exp = jwt?.claims.exp;
    if (typeof exp === "number") {
      const valid = exp * 1000 > Date.now();
      check(
        checks,
        valid,
        `Subject token ${valid ? "expires" : "expired"} ${relativeTime(exp, Date.now())} (iss ${String(jwt?.claims.iss)}, aud ${JSON.stringify(jwt?.claims.aud)})`,
        valid ? undefined : "fix: whatever writes the token must refresh it before it expires",
      );
    }
  } catch (error) {
    const e = error as { message?: string; code?: string };
    check(
      checks,
      false,
      `Could not read the subject token${e.code ? ` [${e.code}]` : ""}`,
      e.message ?? String(error),
    );
  }
}

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const { io, env } = context;
  const { values } = parseFlags("validate", args, FLAGS);
  const checks: Checks = { io, env, failures: 0 };
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(values.config, await allowFor(values, env, "validate"), context);
  } catch (error) {
    const issues = (error as { issues?: { path: string; message: string }[] }).issues;
    const code = (error as { code?: string }).code;
    if (!issues) throw error;
    check(
      checks,
      false,
      `Configuration is invalid (${issues.length === 1 ? "1 problem" : `${issues.length} problems`}) [${code}]`,
      issues.map((issue) => `${issue.path ? `${issue.path}: ` : ""}${issue.message}`).join("\n"),
    );
    return 1;
  }
  const { config, path } = loaded;
  check(checks, true, `Configuration ${path} matches the schema and the endpoint policy (${config.type})`);
  if (config.type !== "external_account") {
    check(checks, true, "An authorized user configuration has no subject credential to check");
    return 0;
  }
  if (values.offline) return 0;

  // Loaded only now: --offline needs none of the suppliers. Building a supplier sends nothing.
  const { subjectTokenSupplierFromConfig } = await import("@wifkit/credentials-all");
  const { source: kind, supplier } = await subjectTokenSupplierFromConfig(config, { env, timeoutMs: 5_000 });
  const ready = await checkEnvironment(checks, config, kind);
  // A token file is read here (a local read): what is in it. Every other source would reach out.
  if (ready && kind === "file") await checkTokenFile(checks, supplier);
  if (checks.failures === 0) {
    io.err(
      io.styles.dim(
        "Checked offline. `wif doctor` checks the live setup: subject token, STS, provider, APIs, bindings.\n",
      ),
    );
  }
  return checks.failures === 0 ? 0 : 1;
}
