#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { EmulatorConfig } from "./config.js";
import { type CredentialConfigOptions, DEFAULT_EMULATOR_HOST, startEmulator } from "./emulator.js";

const USAGE = `Usage: wif-emulator [--config FILE] [--host ADDR] [--port-base N] [--write-config DIR] [--quiet]

Starts a local emulator of Google STS / IAM Credentials, AWS IMDS / STS, Azure IMDS / Entra and a Kubernetes
issuer, prints the URL of each service and a ready-to-use credential config, and runs until SIGINT/SIGTERM.

  --config FILE       JSON config merged over the defaults (see the package README)
  --host ADDR         bind address (default ${DEFAULT_EMULATOR_HOST}; anything else exposes credentials)
  --port-base N       service i listens on N + i (default: ephemeral ports)
  --write-config DIR  write credential configs (aws, azure, file, url; -sa variants impersonate) to DIR
  --quiet             do not log requests
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      host: { type: "string" },
      "port-base": { type: "string" },
      "write-config": { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: EmulatorConfig | undefined;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(readFileSync(values.config, "utf8")) as EmulatorConfig;
    } catch (error) {
      process.stderr.write(`wif-emulator: cannot read ${values.config}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  const portBase = values["port-base"] === undefined ? undefined : Number(values["port-base"]);
  if (portBase !== undefined && !(Number.isInteger(portBase) && portBase > 0 && portBase < 65524)) {
    process.stderr.write("wif-emulator: --port-base must be a port number\n");
    return 2;
  }
  const host = values.host ?? DEFAULT_EMULATOR_HOST;
  const emulator = await startEmulator({
    ...(config ? { config } : {}),
    host,
    ...(portBase ? { portBase } : {}),
    ...(values.quiet ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  if (host !== "127.0.0.1" && host !== "::1" && host !== "localhost") {
    process.stderr.write(
      `wif-emulator: WARNING: listening on ${host}; anyone who can reach it can obtain credentials\n`,
    );
  }

  const out: string[] = ["wif-emulator is running. Services:"];
  for (const [name, url] of Object.entries(emulator.urls)) out.push(`  ${name.padEnd(16)} ${url}`);
  out.push("", `STS token URL: ${emulator.urls.sts}/v1/token`);
  const example = emulator.credentialConfig({ source: "aws", serviceAccount: "wifkit-reader" });
  out.push(
    "",
    "Credential config (AWS via IMDS, impersonating wifkit-reader):",
    JSON.stringify(example, null, 2),
  );
  out.push("", "Environment for the AWS workload:");
  for (const [name, value] of Object.entries(emulator.awsEnv())) out.push(`  export ${name}=${value}`);

  if (values["write-config"] !== undefined) {
    const directory = values["write-config"];
    await mkdir(directory, { recursive: true });
    const variants: Array<[string, CredentialConfigOptions]> = [
      ["aws", { source: "aws" }],
      ["aws-imdsv2", { source: "aws", imdsv2: true }],
      ["azure", { source: "azure" }],
      ["file", { source: "file" }],
      ["url", { source: "url" }],
    ];
    const serviceAccount = Object.keys(emulator.state.serviceAccounts)[0];
    for (const [name, options] of variants) {
      const targets: Array<[string, CredentialConfigOptions]> = [[name, options]];
      if (serviceAccount) targets.push([`${name}-sa`, { ...options, serviceAccount }]);
      for (const [file, target] of targets) {
        const path = join(directory, `${file}.json`);
        await writeFile(path, `${JSON.stringify(emulator.credentialConfig(target), null, 2)}\n`, {
          mode: 0o600,
        });
      }
    }
    out.push("", `Credential configs written to ${directory}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await emulator.stop();
  process.stderr.write("wif-emulator: stopped\n");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`wif-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
