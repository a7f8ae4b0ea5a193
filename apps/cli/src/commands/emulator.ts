/**
 * `wif emulator`: @wifkit/emulator's own command (`wif-emulator`) in the foreground, until SIGINT or SIGTERM:
 * its flags, its output (the URLs, origins and a credential configuration on stdout, the request log on
 * stderr). Only the help and the errors are wif's.
 */

import { isWifError, WifError } from "@wifkit/core";
import { CLI_USAGE, type CliFailure, runCli } from "@wifkit/emulator";
import { UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { CLI_ERROR_CODES } from "../errors.js";
import { COMMANDS } from "../help.js";

const COMMAND = "emulator";

/** wif-emulator's usage line under wif's name. */
function usage(): string {
  const line = CLI_USAGE.split("\n")[0] ?? "";
  return line.startsWith("Usage: wif-emulator")
    ? line.replace("Usage: wif-emulator", "wif emulator")
    : (COMMANDS[COMMAND]?.usage ?? "wif emulator");
}

/** `wif emulator --help`: wif-emulator's help (the flags are the emulator's), under wif's name. */
export function help(): string {
  const [, ...rest] = CLI_USAGE.split("\n");
  return [
    `wif emulator: ${COMMANDS[COMMAND]?.summary ?? ""}`,
    "",
    `Usage: ${usage()}`,
    ...rest.slice(0, -1),
    `  ${"--debug".padEnd(18)}  print stack traces and causes of errors`,
    `  ${"-h, --help".padEnd(18)}  show this help`,
    "",
    "Examples:",
    ...(COMMANDS[COMMAND]?.examples ?? []).map((example) => `  $ ${example}`),
    "",
  ].join("\n");
}

export async function run(args: readonly string[], { io }: CommandContext): Promise<number> {
  // --debug is wif's (commands.ts reads it); the emulator knows only its own flags.
  const argv = args.filter((arg) => arg !== "--debug");
  let failure: CliFailure | undefined;
  let stop = () => {};
  const untilStopped = new Promise<void>((resolve) => {
    stop = () => resolve();
  });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let code: number;
  try {
    code = await runCli(argv, {
      stdout: io.out,
      stderr: io.err,
      untilStopped,
      fail: (reported) => {
        failure = reported;
      },
    });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  if (failure === undefined) return code;
  if (failure.usage) throw new UsageError(failure.message, COMMAND, usage());
  if (isWifError(failure.error)) throw failure.error;
  const inUse = (failure.error as { code?: unknown } | undefined)?.code === "EADDRINUSE";
  throw new WifError(
    `The emulator did not start: ${failure.message}${inUse ? ". Pick another --port-base, or leave it out for ephemeral ports." : "."}`,
    { code: CLI_ERROR_CODES.emulatorStart, cause: failure.error },
  );
}
