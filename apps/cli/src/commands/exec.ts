/**
 * `wif exec -- COMMAND ARGS`: runs COMMAND with a Google access token in CLOUDSDK_AUTH_ACCESS_TOKEN and
 * GOOGLE_OAUTH_ACCESS_TOKEN, passes its exit code through and forwards the signals wif receives.
 * `wif exec --metadata -- COMMAND` instead serves the GCE metadata protocol on a loopback port for the
 * command's lifetime, so Google's client libraries in it get and refresh tokens by themselves.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { allowFor, type ConfigFlagValues, loadConfig, obtainTokenForFlags } from "../obtain.js";
import { CACHE_FLAGS, GLOBAL_FLAGS, parseScopes } from "../specs.js";
import { TOKEN_ENV_NAMES } from "../token-output.js";

const FLAGS = {
  ...GLOBAL_FLAGS,
  ...CACHE_FLAGS,
  config: { type: "string" },
  scopes: { type: "string" },
  metadata: { type: "boolean" },
} as const;

/** Variables that would make the command's Google libraries use something else than the metadata server. */
const CREDENTIAL_ENV_NAMES = ["GOOGLE_APPLICATION_CREDENTIALS", ...TOKEN_ENV_NAMES];
/** After the command exited, time the metadata server gives a request still in flight. */
const METADATA_SHUTDOWN_TIMEOUT_MS = 1_000;

const VALUE_FLAGS = new Set(
  Object.entries(FLAGS)
    .filter(([, spec]) => spec.type === "string")
    .map(([name]) => `--${name}`),
);

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

/** wif's flags and the command: everything after `--`, else from the first argument that is not a flag. */
function splitCommand(args: readonly string[]): { flags: string[]; command: string[] } {
  const flags: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === "--") return { flags, command: args.slice(index + 1) };
    if (!arg.startsWith("-")) return { flags, command: args.slice(index) };
    flags.push(arg);
    if (VALUE_FLAGS.has(arg) && index + 1 < args.length) flags.push(args[++index] as string);
  }
  return { flags, command: [] };
}

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const split = splitCommand(args);
  const { values } = parseFlags("exec", split.flags, FLAGS);
  const [program, ...programArgs] = split.command;
  if (program === undefined || program === "")
    throw new UsageError("missing the command to run after --", "exec");
  const scopes = parseScopes(values.scopes);
  if (scopes.length === 0) throw new UsageError("--scopes needs at least one scope", "exec");
  if (values.metadata === true) return runWithMetadataServer(values, scopes, program, programArgs, context);
  const token = await obtainTokenForFlags(values, { kind: "access_token", scopes }, context, "exec");
  const env = { ...context.env };
  for (const name of TOKEN_ENV_NAMES) env[name] = token.value;
  return runChild(program, programArgs, env, context);
}

/**
 * Serves the metadata protocol (@wifkit/metadata-server) over the credential on 127.0.0.1, a free port, for
 * as long as the command runs, and points the command's Google libraries at it: GCE_METADATA_HOST (Go, Java,
 * Node, Python), GCE_METADATA_IP (Node, Python's detection) and GCE_METADATA_ROOT (gcloud). Credentials that
 * would win over the metadata server (a credentials file, static tokens) are removed from its environment.
 * The first token is fetched before the command starts: no token, no command (exit 1).
 */
async function runWithMetadataServer(
  values: ConfigFlagValues,
  scopes: string[],
  program: string,
  programArgs: string[],
  context: CommandContext,
): Promise<number> {
  const allow = await allowFor(values, context.env, "exec");
  const loaded = await loadConfig(values.config, allow, context);
  const [{ fromConfig }, { createMetadataServer, metadataEnv }] = await Promise.all([
    import("@wifkit/credentials-all"),
    import("@wifkit/metadata-server"),
  ]);
  const credentials = await fromConfig(loaded.config, {
    allow,
    env: context.env,
    transport: context.transport,
    scopes,
  });
  await credentials.getAccessToken({ scopes });
  const server = createMetadataServer({
    credentials,
    scopes,
    shutdownTimeoutMs: METADATA_SHUTDOWN_TIMEOUT_MS,
  });
  const address = await server.listen();
  try {
    const env: Record<string, string | undefined> = { ...context.env, ...metadataEnv(address) };
    for (const name of CREDENTIAL_ENV_NAMES) delete env[name];
    return await runChild(program, programArgs, env, context);
  } finally {
    await server.close();
  }
}

function runChild(
  program: string,
  args: string[],
  env: Record<string, string | undefined>,
  { io }: CommandContext,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: "inherit", env });
    const forward = (signal: NodeJS.Signals) => () => {
      child.kill(signal);
    };
    const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const cleanup = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      cleanup();
      if (error.code === "ENOENT") {
        io.err(`${io.styles.red("error")}: wif exec: command not found: ${program}\n`);
        resolve(127);
      } else if (error.code === "EACCES") {
        io.err(`${io.styles.red("error")}: wif exec: permission denied: ${program}\n`);
        resolve(126);
      } else {
        io.err(`${io.styles.red("error")}: wif exec: cannot run ${program}: ${error.message}\n`);
        resolve(126);
      }
    });
    child.once("exit", (code, signal) => {
      cleanup();
      if (signal) {
        // Exit the way a shell reports a child killed by a signal.
        resolve(128 + (constants.signals[signal] ?? 0));
        return;
      }
      resolve(code ?? 1);
    });
  });
}
