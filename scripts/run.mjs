#!/usr/bin/env node
/**
 * `node scripts/run.mjs PACKAGE BIN [ARGS...]`: builds PACKAGE and what it depends on (quietly, through
 * turbo's cache), then runs its built BIN with ARGS. Behind the root scripts that work on a fresh clone after
 * `pnpm install`: `pnpm demo` (`wif demo`: the emulator in-process, the AWS flow, the Azure flow and a
 * refused request), `pnpm wif ...` and `pnpm emulator ...`.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pnpm = process.platform === "win32" ? "pnpm.cmd" : "pnpm";

const [target, bin, ...args] = process.argv.slice(2);
if (!target || !bin) {
  process.stderr.write("usage: node scripts/run.mjs PACKAGE BIN [ARGS...]\n");
  process.exit(2);
}
process.stderr.write(`Building ${target}…\n`);
const build = spawnSync(
  pnpm,
  ["turbo", "run", "build", `--filter=${target}...`, "--output-logs=errors-only", "--log-order=grouped"],
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

// Ctrl-C reaches the child too (same process group); wait for it to stop rather than dying first.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});
const run = spawnSync(process.execPath, [join(root, bin), ...args], {
  cwd: process.env.INIT_CWD ?? root,
  stdio: "inherit",
});
process.exit(run.status ?? 1);
