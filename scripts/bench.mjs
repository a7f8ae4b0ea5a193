#!/usr/bin/env node
// `pnpm bench`: builds everything, then runs each benchmark in turn. Every comparison is measured in the same
// run as its baseline, in paired rounds of alternating order, and reported as min / median / max of the
// per-round ratio (scripts/bench/paired.mjs): ratios, not absolute figures, are what compare across machines
// and over time.
//
//   pnpm bench                 text, benchmark by benchmark
//   pnpm bench -- --json       one JSON document with every figure (for keeping and comparing over time)
//   BENCH_ROUNDS=N pnpm bench  more paired rounds everywhere (each benchmark has a modest default)
import { execFileSync, spawnSync } from "node:child_process";
import { uptime as systemUptime } from "node:os";
import { fileURLToPath } from "node:url";
import { JSON_OUTPUT, machineLoad } from "./bench/paired.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" };

/** Every benchmark: [key, title, node arguments]. */
const BENCHMARKS = [
  ["footprint", "install footprint (AWS path vs google-auth-library)", ["scripts/bench/footprint.mjs"]],
  ["configImport", "importing @wifkit/config", ["scripts/bench/config-import.mjs"]],
  ["clientCpu", "client CPU per fresh token", ["--expose-gc", "scripts/bench/client-cpu.mjs"]],
  ["herd", "herd on a cold cache", ["scripts/bench/herd.mjs"]],
  ["startup", "CLI start-up", ["apps/cli/bench/startup.mjs"]],
  ["proxy", "proxied path vs direct path", ["--expose-gc", "scripts/bench/proxy.mjs"]],
  ["sidecar", "sidecar cached-token route vs bare node:http", ["apps/sidecar/bench/bench.mjs"]],
];

const uptimeLine = () => {
  const result = spawnSync("uptime", { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : `load average ${machineLoad().loadavg.join(", ")}`;
};

execFileSync("pnpm", ["turbo", "run", "build", "--output-logs=errors-only"], {
  cwd: root,
  stdio: JSON_OUTPUT ? ["ignore", "ignore", "inherit"] : "inherit",
  env,
});

const document = {
  node: process.version,
  startedAt: new Date().toISOString(),
  rounds: process.env.BENCH_ROUNDS ? Number(process.env.BENCH_ROUNDS) : "defaults",
  machine: { ...machineLoad(), uptimeSeconds: Math.round(systemUptime()) },
  benchmarks: {},
};
let failed = 0;
if (!JSON_OUTPUT) console.log(`\nMachine: ${uptimeLine()}`);
for (const [key, title, args] of BENCHMARKS) {
  if (!JSON_OUTPUT) console.log(`\n=== ${title} ===`);
  const result = spawnSync(process.execPath, [...args, ...(JSON_OUTPUT ? ["--json"] : [])], {
    cwd: root,
    env,
    encoding: "utf8",
    stdio: JSON_OUTPUT ? ["ignore", "pipe", "inherit"] : "inherit",
  });
  if (result.status !== 0) failed += 1;
  if (!JSON_OUTPUT) continue;
  const lastLine = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    document.benchmarks[key] = JSON.parse(lastLine);
  } catch {
    // A benchmark without --json support: its text, so nothing is lost.
    document.benchmarks[key] = { exitCode: result.status, output: result.stdout };
  }
  if (result.status !== 0) document.benchmarks[key].exitCode = result.status;
}
document.finishedAt = new Date().toISOString();
document.machineAfter = machineLoad();
if (JSON_OUTPUT) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
else console.log(`\nMachine after: ${uptimeLine()}${failed ? `\n${failed} benchmark(s) failed` : ""}`);
process.exitCode = failed ? 1 : 0;
