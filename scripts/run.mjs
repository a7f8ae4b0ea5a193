#!/usr/bin/env node
/**
 * `pnpm demo`: builds the wif CLI and the packages it needs (quietly, through turbo's cache), then runs
 * `wif demo`, which starts the emulator in-process and walks the AWS flow, the Azure flow and a refused
 * request. Works on a fresh clone after `pnpm install`.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pnpm = process.platform === "win32" ? "pnpm.cmd" : "pnpm";

process.stderr.write("Building the wif CLI…\n");
const build = spawnSync(
  pnpm,
  ["turbo", "run", "build", "--filter=@wifkit/cli...", "--output-logs=errors-only", "--log-order=grouped"],
  {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    encoding: "utf8",
    shell: process.platform === "win32",
  },
);
if (build.error || build.status !== 0) {
  process.stderr.write(build.stderr ?? "");
  process.stderr.write(
    `The build failed${build.error ? `: ${build.error.message}` : ""}; run \`pnpm build\` for details.\n`,
  );
  process.exit(build.status || 1);
}

const demo = spawnSync(
  process.execPath,
  [join(root, "apps/cli/dist/main.js"), "demo", ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: "inherit",
  },
);
process.exit(demo.status ?? 1);
