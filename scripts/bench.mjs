#!/usr/bin/env node
// `pnpm bench`: builds everything, then runs each benchmark in turn. Every benchmark prints its figures next
// to a baseline measured in the same run (ratios, not absolute numbers, are what to compare across machines).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const run = (command, args, title) => {
  console.log(`\n=== ${title} ===`);
  execFileSync(command, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
};

execFileSync("pnpm", ["turbo", "run", "build", "--output-logs=errors-only"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
});
run("node", ["scripts/bench/footprint.mjs"], "install footprint");
run("node", ["scripts/bench/client-cpu.mjs"], "client CPU per fresh token");
run("node", ["scripts/bench/herd.mjs"], "herd on a cold cache");
run("pnpm", ["--silent", "--filter", "@wifkit/cli", "bench"], "CLI start-up");
run("pnpm", ["--silent", "--filter", "@wifkit/sidecar", "bench"], "sidecar");
