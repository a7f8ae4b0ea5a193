#!/usr/bin/env node
import { runCli } from "./cli.js";

const untilStopped = new Promise<void>((resolve) => {
  process.once("SIGINT", () => resolve());
  process.once("SIGTERM", () => resolve());
});

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  untilStopped,
}).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`wif-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
