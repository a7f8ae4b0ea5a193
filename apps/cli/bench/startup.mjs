#!/usr/bin/env node
/**
 * `pnpm bench` (apps/cli): start-up of the built `wif`, side by side in one run: processes are spawned one at
 * a time, round-robin over the commands (so load from elsewhere on the machine hits every row alike), RUNS
 * rounds bounded by a time budget; median and p90 wall-clock milliseconds per command:
 *
 *   node -e 0                       the floor: a Node.js process that does nothing
 *   wif --version                   the entry alone
 *   wif token (warm file cache)     the target: at most 1.5x node -e 0 (DESIGN.md)
 *   wif token --no-cache            the full flow: IMDS, signed request, STS, impersonation
 *   google-auth-library             the same token through ExternalAccountClient in a fresh process
 *
 * Everything runs against `wif emulator` on loopback. Build first: `pnpm build` in apps/cli.
 * Options: --runs N (default 20), --budget-ms N (whole run, default 60000).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string" }, "budget-ms": { type: "string" } } });
const RUNS = Math.max(3, Math.min(200, Number(values.runs ?? 20)));
const BUDGET_MS = Math.max(1000, Number(values["budget-ms"] ?? 60_000));

const wif = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const galScript = fileURLToPath(new URL("./gal-token.mjs", import.meta.url));
if (!existsSync(wif)) {
  console.error("dist/main.js is missing: run `pnpm build` in apps/cli first.");
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), "wif-bench-"));
const configs = join(work, "configs");

/** Starts `wif emulator` and reads what it prints: the origins to allow. */
async function startEmulator() {
  const child = spawn(process.execPath, [wif, "emulator", "--quiet", "--write-config", configs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  let errors = "";
  child.stderr.setEncoding("utf8").on("data", (chunk) => {
    errors += chunk;
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`wif emulator did not start:\n${text}${errors}`)),
      15_000,
    );
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      text += chunk;
      if (text.includes("Credential configs written to")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", () => reject(new Error(`wif emulator exited:\n${text}${errors}`)));
  });
  const origins = /export WIF_ALLOW_ORIGINS=(\S+)/.exec(text)?.[1];
  return { child, origins };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One run of `command args`: its wall-clock milliseconds. */
function once(label, command, args, env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${label} failed (exit ${result.status}): ${result.stderr?.toString().slice(0, 500)}`);
  }
  return elapsed;
}

/** RUNS rounds (or until the budget is spent) of every row once, in turn; sorted times per row. */
function measure(rows, env) {
  const times = rows.map(() => []);
  const deadline = Date.now() + BUDGET_MS;
  for (let round = 0; round < RUNS && Date.now() < deadline; round++) {
    rows.forEach(([label, command, args], index) => {
      times[index].push(once(label, command, args, env));
    });
  }
  return rows.map(([label], index) => ({ label, times: times[index].sort((a, b) => a - b) }));
}

const emulator = await startEmulator();
try {
  const config = join(configs, "aws-sa.json");
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    WIF_CACHE_DIR: join(work, "cache"),
    WIF_ALLOW_ORIGINS: emulator.origins,
    NO_PROXY: "127.0.0.1,localhost",
  };
  const node = process.execPath;
  // Warm the cache, and check both clients produce a token at all.
  const warm = spawnSync(node, [wif, "token", "--config", config], { env, encoding: "utf8" });
  if (warm.status !== 0) throw new Error(`wif token failed: ${warm.stderr}`);
  JSON.parse(readFileSync(config, "utf8"));

  const rows = [
    ["node -e 0", node, ["-e", "0"]],
    ["wif --version", node, [wif, "--version"]],
    ["wif token (warm file cache)", node, [wif, "token", "--config", config]],
    ["wif token --no-cache", node, [wif, "token", "--config", config, "--no-cache"]],
    ["google-auth-library (same token)", node, [galScript, config]],
  ];
  const results = measure(rows, env);
  const floor = percentile(results[0].times, 50);
  const width = Math.max(...results.map((row) => row.label.length));
  console.log(
    `wif start-up, Node ${process.version}, ${results[0].times.length} rounds of one run each (median and p90, wall clock)\n`,
  );
  console.log(
    `${"command".padEnd(width)}  ${"runs".padStart(4)}  ${"median".padStart(9)}  ${"p90".padStart(9)}  vs node -e 0`,
  );
  for (const { label, times } of results) {
    const median = percentile(times, 50);
    console.log(
      `${label.padEnd(width)}  ${String(times.length).padStart(4)}  ${`${median.toFixed(1)} ms`.padStart(9)}  ${`${percentile(times, 90).toFixed(1)} ms`.padStart(9)}  ${(median / floor).toFixed(2)}x`,
    );
  }
  const warmRatio = percentile(results[2].times, 50) / floor;
  console.log(
    `\nTarget (DESIGN.md): wif token with a warm cache at most 1.50x node -e 0: ${warmRatio.toFixed(2)}x ${warmRatio <= 1.5 ? "(met)" : "(NOT met)"}`,
  );
} finally {
  emulator.child.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
