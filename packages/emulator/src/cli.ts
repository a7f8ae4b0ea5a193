import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { EmulatorConfig } from "./config.js";
import { type CredentialConfigOptions, DEFAULT_EMULATOR_HOST, startEmulator } from "./emulator.js";

export const CLI_USAGE = `Usage: wif-emulator [--config FILE] [--host ADDR] [--port-base N] [--write-config DIR] [--quiet]

Starts a local emulator of Google STS / IAM Credentials, AWS IMDS / STS, Azure IMDS / Entra and a Kubernetes
issuer, prints the URL of each service and a ready-to-use credential config, and runs until SIGINT/SIGTERM.

  --config FILE       JSON config merged over the defaults (see the package README)
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
}

/**
 * The `wif-emulator` command: starts the emulator from a config file, prints its URLs and a credential
 * config (or writes configs to a directory), and stops when `io.untilStopped` resolves. Returns the exit code.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let values: {
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
    io.stderr(`wif-emulator: ${(error as Error).message}\n\n${CLI_USAGE}`);
    return 2;
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
      io.stderr(`wif-emulator: cannot read the config file ${values.config}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  const portBase = values["port-base"] === undefined ? undefined : Number(values["port-base"]);
  if (portBase !== undefined && !(Number.isInteger(portBase) && portBase > 0 && portBase < 65_524)) {
    io.stderr("wif-emulator: --port-base must be a port number from 1 to 65523\n");
    return 2;
  }
  const host = values.host ?? DEFAULT_EMULATOR_HOST;
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator({
      ...(config ? { config } : {}),
      host,
      ...(portBase ? { portBase } : {}),
      ...(values.quiet ? {} : { log: (line: string) => io.stderr(`${line}\n`) }),
    });
  } catch (error) {
    io.stderr(`wif-emulator: ${(error as Error).message}\n`);
    return 1;
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
