/**
 * `wif emulator`: the local emulator in the foreground, with wif-emulator's flags and output, until
 * SIGINT or SIGTERM.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { WifError } from "@wifkit/core";
import { type EmulatorConfig, startEmulator } from "@wifkit/emulator";
import { integerFlag, parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { GLOBAL_FLAGS } from "../specs.js";

const FLAGS = {
  ...GLOBAL_FLAGS,
  config: { type: "string" },
  host: { type: "string" },
  "port-base": { type: "string" },
  "write-config": { type: "string" },
  quiet: { type: "boolean" },
} as const;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function run(args: readonly string[], { io }: CommandContext): Promise<number> {
  const { values } = parseFlags("emulator", args, FLAGS);
  const portBase = integerFlag("emulator", "port-base", values["port-base"]);
  if (portBase !== undefined && (portBase < 1 || portBase > 65_500)) {
    throw new UsageError("--port-base must be a port number between 1 and 65500", "emulator");
  }
  let config: EmulatorConfig | undefined;
  if (values.config !== undefined) {
    let text: string;
    try {
      text = await readFile(values.config, "utf8");
    } catch (cause) {
      throw new WifError(
        `Cannot read the emulator configuration ${values.config} (${(cause as NodeJS.ErrnoException).code ?? "error"}).`,
        {
          code: "ERR_WIF_EMULATOR_CONFIG_UNREADABLE",
          cause,
        },
      );
    }
    try {
      config = JSON.parse(text) as EmulatorConfig;
    } catch {
      throw new WifError(`The emulator configuration ${values.config} is not valid JSON.`, {
        code: "ERR_WIF_EMULATOR_CONFIG_INVALID",
      });
    }
  }
  const host = values.host ?? "127.0.0.1";
  const emulator = await startEmulator({
    ...(config ? { config } : {}),
    host,
    ...(portBase ? { portBase } : {}),
    ...(values.quiet ? {} : { log: (line: string) => io.err(`${io.styles.dim(line)}\n`) }),
  });
  if (!LOOPBACK.has(host)) {
    io.err(
      `${io.styles.yellow("warning")}: listening on ${host}; anyone who can reach it can obtain credentials\n`,
    );
  }
  const width = Math.max(...Object.keys(emulator.urls).map((name) => name.length));
  const lines = [
    "wif emulator is running. Services:",
    ...Object.entries(emulator.urls).map(([name, url]) => `  ${name.padEnd(width)}  ${url}`),
    "",
    `STS token URL: ${emulator.urls.sts}/v1/token`,
    "",
    "To use it with wif (the endpoint policy accepts only Google's hosts otherwise):",
    `  export WIF_ALLOW_ORIGINS=${emulator.allowOrigins.join(",")}`,
    "",
    "Environment of the emulated AWS workload:",
    ...Object.entries(emulator.awsEnv()).map(([name, value]) => `  export ${name}=${value}`),
    "",
    "Credential configuration (AWS via IMDS, impersonating wifkit-reader):",
    JSON.stringify(emulator.credentialConfig({ source: "aws", serviceAccount: "wifkit-reader" }), null, 2),
  ];
  if (values["write-config"] !== undefined) {
    const directory = values["write-config"];
    await mkdir(directory, { recursive: true });
    const serviceAccount = Object.keys(emulator.state.serviceAccounts)[0];
    const variants = [
      ["aws", { source: "aws" }],
      ["aws-imdsv2", { source: "aws", imdsv2: true }],
      ["azure", { source: "azure" }],
      ["file", { source: "file" }],
      ["url", { source: "url" }],
    ] as const;
    for (const [name, options] of variants) {
      await writeFile(
        join(directory, `${name}.json`),
        `${JSON.stringify(emulator.credentialConfig(options), null, 2)}\n`,
        { mode: 0o600 },
      );
      if (serviceAccount) {
        await writeFile(
          join(directory, `${name}-sa.json`),
          `${JSON.stringify(emulator.credentialConfig({ ...options, serviceAccount }), null, 2)}\n`,
          { mode: 0o600 },
        );
      }
    }
    lines.push("", `Credential configurations written to ${directory}`);
  }
  io.err(`${lines.join("\n")}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await emulator.stop();
  io.err("wif emulator: stopped\n");
  return 0;
}
