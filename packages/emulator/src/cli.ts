import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { EmulatorConfig } from "./config.js";
import {
  type CredentialConfigOptions,
  DEFAULT_ADMIN_EMAIL,
  DEFAULT_EMULATOR_HOST,
  startEmulator,
} from "./emulator.js";
import { SERVICE_NAMES } from "./runtime.js";

/** `wif-emulator --help`: the usage line, what the command does, and its flags. */
export const CLI_USAGE = `Usage: wif-emulator [--empty] [--state FILE] [--config FILE] [--host ADDR] [--port-base N] [--write-config DIR] [--quiet]

Starts a local emulator of Google STS / IAM Credentials / Storage and the admin APIs gcloud uses (IAM pools,
providers and service accounts, Service Usage, Resource Manager), AWS IMDS / STS, Azure IMDS / Entra and a
Kubernetes issuer, prints the URL of each service, the environment for gcloud and a ready-to-use credential
config, and runs until SIGINT/SIGTERM.

  --empty             start from a new, empty project (no pools, service accounts, bindings or guide APIs)
  --state FILE        load the state from FILE if it exists, and save every change to it
  --config FILE       JSON config merged over the defaults (or the state / empty project; see the README)
  --host ADDR         bind address (default ${DEFAULT_EMULATOR_HOST}; anything else exposes credentials)
  --port-base N       service i listens on N + i (default: ephemeral ports)
  --write-config DIR  write credential configs (aws, aws-imdsv2, azure, file, url; -sa variants impersonate) to DIR
  --quiet             do not log requests
`;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Resolves when the emulator should stop (the bin wires SIGINT/SIGTERM to it). */
  untilStopped: Promise<void>;
  /**
   * Shows why the emulator did not run, instead of the default `wif-emulator: MESSAGE` on stderr (plus the
   * usage after a usage error): for a host command that reports errors its own way. `usage` is true for a
   * command line that cannot run (exit code 2: a bad flag, an unreadable --config file); `error` is what
   * was thrown, when something was. `message` is one line.
   */
  fail?(failure: CliFailure): void;
}

/** Why `runCli` returned without running the emulator. */
export interface CliFailure {
  message: string;
  usage: boolean;
  error?: unknown;
}

/** The first line of a parseArgs error, without its advice about positionals. */
function argumentError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quotedText = /'([^']*)'/.exec(message)?.[1];
  // "Option '-h, --help' does not take an argument", "Option '--config <value>' argument missing".
  const words = quotedText?.split(/[\s,]+/) ?? [];
  const quoted = words.find((word) => word.startsWith("--")) ?? words[0];
  if (quotedText !== undefined && quoted !== undefined) {
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${quoted}`;
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument '${quotedText}'`;
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      return message.includes("argument missing")
        ? `option ${quoted} needs a value`
        : `option ${quoted} takes no value`;
    }
  }
  return message.split("\n")[0] ?? message;
}

/**
 * The `wif-emulator` command: starts the emulator from a config file, prints its URLs, the origins to allow
 * and a credential config on `io.stdout` (or writes configs to a directory), logs requests on `io.stderr`,
 * and stops when `io.untilStopped` resolves. Returns the exit code: 0 after a clean stop, 1 when the
 * emulator cannot start (an invalid config, a port in use), 2 for a command line that cannot run.
 * A host CLI embeds it by passing its own streams, stop signal and, optionally, `fail`.
 *
 * @example
 * const untilStopped = new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
 * const code = await runCli(["--quiet"], {
 *   stdout: (text) => process.stdout.write(text),
 *   stderr: (text) => process.stderr.write(text),
 *   untilStopped,
 * });
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const fail = (failure: CliFailure, showUsage = false): number => {
    if (io.fail) io.fail(failure);
    else io.stderr(`wif-emulator: ${failure.message}\n${showUsage ? `\n${CLI_USAGE}` : ""}`);
    return failure.usage ? 2 : 1;
  };
  let values: {
    empty?: boolean | undefined;
    state?: string | undefined;
    config?: string | undefined;
    host?: string | undefined;
    "port-base"?: string | undefined;
    "write-config"?: string | undefined;
    quiet?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    values = parseArgs({
      args: argv,
      options: {
        empty: { type: "boolean" },
        state: { type: "string" },
        config: { type: "string" },
        host: { type: "string" },
        "port-base": { type: "string" },
        "write-config": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    return fail({ message: argumentError(error), usage: true, error }, true);
  }
  if (values.help) {
    io.stdout(CLI_USAGE);
    return 0;
  }
  let config: EmulatorConfig | undefined;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(readFileSync(values.config, "utf8")) as EmulatorConfig;
    } catch (error) {
      return fail({
        message: `cannot read the config file ${values.config}: ${(error as Error).message}`,
        usage: true,
        error,
      });
    }
  }
  const portBase = values["port-base"] === undefined ? undefined : Number(values["port-base"]);
  const maxPortBase = 65_535 - (SERVICE_NAMES.length - 1);
  if (portBase !== undefined && !(Number.isInteger(portBase) && portBase > 0 && portBase <= maxPortBase)) {
    return fail({ message: `--port-base must be a port number from 1 to ${maxPortBase}`, usage: true });
  }
  const host = values.host ?? DEFAULT_EMULATOR_HOST;
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator({
      ...(config ? { config } : {}),
      ...(values.empty ? { empty: true } : {}),
      ...(values.state !== undefined ? { stateFile: values.state } : {}),
      host,
      ...(portBase ? { portBase } : {}),
      ...(values.quiet ? {} : { log: (line: string) => io.stderr(`${line}\n`) }),
    });
  } catch (error) {
    return fail({ message: (error as Error).message, usage: false, error });
  }
  try {
    if (!["127.0.0.1", "::1", "localhost"].includes(host)) {
      io.stderr(
        `wif-emulator: WARNING: listening on ${host}; anyone who can reach it can obtain credentials\n`,
      );
    }
    const out: string[] = ["wif-emulator is running. Services:"];
    for (const [name, url] of Object.entries(emulator.urls)) out.push(`  ${name.padEnd(16)} ${url}`);
    out.push("", `STS token URL: ${emulator.urls.sts}/v1/token`);
    // wifkit accepts only Google's endpoints unless told otherwise (allow.origins; the wif CLI reads this).
    out.push("", "Origins to allow:", `  export WIF_ALLOW_ORIGINS=${emulator.allowOrigins.join(",")}`);
    // The admin token is a credential: printed once, for the user's own shell, never logged.
    out.push("", `gcloud against the emulator (as ${DEFAULT_ADMIN_EMAIL}, token valid 12 h):`);
    for (const [name, value] of Object.entries(emulator.gcloudEnv())) out.push(`  export ${name}=${value}`);
    if (values.state !== undefined) out.push("", `State saved to ${values.state} after every change.`);
    const serviceAccount = Object.keys(emulator.state.serviceAccounts)[0];
    const hasAwsProvider = Object.values(emulator.state.pools).some((pool) => pool.providers["aws-provider"]);
    if (hasAwsProvider) {
      const example = emulator.credentialConfig({
        source: "aws",
        ...(serviceAccount ? { serviceAccount } : {}),
      });
      out.push(
        "",
        `Credential config (AWS via IMDS${serviceAccount ? `, impersonating ${serviceAccount}` : ""}):`,
      );
      out.push(JSON.stringify(example, null, 2));
      out.push("", "Environment of the AWS workload:");
      for (const [name, value] of Object.entries(emulator.awsEnv())) out.push(`  export ${name}=${value}`);
    }
    if (values["write-config"] !== undefined) {
      const written = await writeConfigs(emulator, values["write-config"], serviceAccount);
      out.push("", `Credential configs written to ${values["write-config"]}: ${written.join(", ")}`);
    }
    io.stdout(`${out.join("\n")}\n`);
    await io.untilStopped;
    return 0;
  } finally {
    await emulator.stop();
    io.stderr("wif-emulator: stopped\n");
  }
}

async function writeConfigs(
  emulator: Awaited<ReturnType<typeof startEmulator>>,
  directory: string,
  serviceAccount: string | undefined,
): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const defaults: Record<CredentialConfigOptions["source"], string> = {
    aws: "aws-provider",
    azure: "azure-provider",
    file: "oidc-provider",
    url: "oidc-provider",
  };
  const variants: Array<[string, CredentialConfigOptions]> = [
    ["aws", { source: "aws" }],
    ["aws-imdsv2", { source: "aws", imdsv2: true }],
    ["azure", { source: "azure" }],
    ["file", { source: "file" }],
    ["url", { source: "url" }],
  ];
  const written: string[] = [];
  for (const [name, options] of variants) {
    // Skip sources whose default provider a custom config removed.
    const exists = Object.values(emulator.state.pools).some(
      (pool) => pool.providers[defaults[options.source]],
    );
    if (!exists) continue;
    const targets: Array<[string, CredentialConfigOptions]> = [[name, options]];
    if (serviceAccount) targets.push([`${name}-sa`, { ...options, serviceAccount }]);
    for (const [file, target] of targets) {
      const json = `${JSON.stringify(emulator.credentialConfig(target), null, 2)}\n`;
      await writeFile(join(directory, `${file}.json`), json, { mode: 0o600 });
      written.push(`${file}.json`);
    }
  }
  return written;
}
