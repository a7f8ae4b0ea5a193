#!/usr/bin/env node
// What importing @wifkit/config costs a program: each round starts two fresh Node processes, one importing
// the package's build and one an empty module the same way, in alternating order (see paired.mjs), and each
// reports the time its `await import()` took (wall clock and its own CPU). The figure is the difference,
// package minus empty module, so Node's module loader itself is not counted against the package.
// NODE_EXTRA_CA_CERTS is unset (it would add a certificate load to every process).
//
//   node scripts/bench/config-import.mjs [--json]     BENCH_ROUNDS (default 20)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { emit, formatSpread, machineLoad, pairedRounds, roundsFrom, spread } from "./paired.mjs";

const ROUNDS = roundsFrom(20);
const TARGET_MS = 3;
const configEntry = fileURLToPath(new URL("../../packages/config/dist/index.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "wif-bench-import-"));
const empty = join(work, "empty.mjs");
writeFileSync(empty, "export {};\n");
const probe = join(work, "probe.mjs");
writeFileSync(
  probe,
  `const cpu = process.cpuUsage();
const started = performance.now();
const module = await import(process.argv[2]);
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
if (process.argv[3] && typeof module[process.argv[3]] !== "function") throw new Error("export missing");
process.stdout.write(JSON.stringify({ wallMs, cpuMs: (used.user + used.system) / 1000 }));
`,
);
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const targets = {
  config: [pathToFileURL(configEntry).href, "parseCredentialConfig"],
  empty: [pathToFileURL(empty).href],
};
const importOnce = (side) =>
  JSON.parse(execFileSync(process.execPath, [probe, ...targets[side]], { env, encoding: "utf8" }));

const loadBefore = machineLoad();
try {
  for (const side of Object.keys(targets)) importOnce(side); // page cache
  const pairs = await pairedRounds(ROUNDS, "config", "empty", (side) => importOnce(side));
  const difference = (field) => spread(pairs.map((pair) => pair.a[field] - pair.b[field]));
  const summary = {
    benchmark: "import @wifkit/config (minus importing an empty module), fresh process each",
    node: process.version,
    rounds: ROUNDS,
    load: { before: loadBefore, after: machineLoad() },
    wallMs: { config: spread(pairs.map((p) => p.a.wallMs)), empty: spread(pairs.map((p) => p.b.wallMs)) },
    cpuMs: { config: spread(pairs.map((p) => p.a.cpuMs)), empty: spread(pairs.map((p) => p.b.cpuMs)) },
    differenceWallMs: difference("wallMs"),
    differenceCpuMs: difference("cpuMs"),
    targetMs: TARGET_MS,
    met: difference("wallMs").median < TARGET_MS,
  };
  emit(summary, (s) => {
    console.log(
      `Importing @wifkit/config, ${ROUNDS} paired rounds of fresh processes (alternating order); load ${loadBefore.loadavg.join(" ")} on ${loadBefore.cpus} CPUs`,
    );
    console.log(
      `  import time, ms (min / median / max): config ${formatSpread(s.wallMs.config, 2)}   empty module ${formatSpread(s.wallMs.empty, 2)}`,
    );
    console.log(
      `  config minus empty module: wall ${formatSpread(s.differenceWallMs, 2)} ms, CPU ${formatSpread(s.differenceCpuMs, 2)} ms`,
    );
    console.log(`  target: under ${TARGET_MS} ms (median wall difference): ${s.met ? "met" : "NOT met"}`);
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
