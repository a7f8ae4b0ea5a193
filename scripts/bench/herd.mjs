#!/usr/bin/env node
// Herd: many concurrent callers on a cold cache, and the upstream calls they cause (the emulator, in its own
// process, counts them). Two figures for each client:
//
// - in one process: BENCH_CALLERS (default 10,000) concurrent callers of one client. Both wifkit and
//   google-auth-library share one fetch between concurrent callers here.
// - across processes: BENCH_PROCESSES (default 50) concurrent programs on one machine, each getting the same
//   token: `wif token` on one cold shared file cache (its cold path takes the key's lock, so one process
//   fetches and the others read what it stored), and a google-auth-library script, which has no cache
//   between processes. These take AWS keys from the environment (IMDS probes time out after 1 s, too short
//   for 50 processes starting at once on a small machine); in-process callers use IMDS.
//
// Every caller's token is checked, and every wif process must print the same one.
//
//   node scripts/bench/herd.mjs [--json]     BENCH_CALLERS, BENCH_PROCESSES
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isolateProcessEnv, loadFromConfig, startEmulatorProcess } from "./emulator-client.mjs";
import { emit, machineLoad } from "./paired.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { ExternalAccountClient } = createRequire(`${root}packages/credentials/package.json`)(
  "google-auth-library",
);
const fromConfig = await loadFromConfig();
const CALLERS = Number(process.env.BENCH_CALLERS ?? 10_000);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 50);
const TOKEN_LENGTH = 1024;
const wif = join(root, "apps/cli/dist/main.js");
const galScript = join(root, "apps/cli/bench/gal-token.mjs");

isolateProcessEnv();
const loadBefore = machineLoad();
const emulator = await startEmulatorProcess({ accessTokenLength: TOKEN_LENGTH });
const work = mkdtempSync(join(tmpdir(), "wif-bench-herd-"));
const isToken = (value) => typeof value === "string" && value.length === TOKEN_LENGTH;

/** Upstream calls during `fn`, and how long it took. */
async function counted(fn) {
  await emulator.resetCounters();
  const started = performance.now();
  const outcome = await fn();
  const ms = performance.now() - started;
  const counters = await emulator.counters();
  return {
    ...outcome,
    ms,
    stsExchanges: counters["sts.token"] ?? 0,
    impersonations: counters["iam.generateAccessToken"] ?? 0,
    imdsCredentialReads: counters["aws.imds.credentials"] ?? 0,
  };
}

async function inProcess(getToken) {
  const results = await Promise.allSettled(Array.from({ length: CALLERS }, () => getToken()));
  const tokens = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
  return {
    callers: CALLERS,
    failed: CALLERS - tokens.filter(isToken).length,
    distinctTokens: new Set(tokens).size,
  };
}

function runProcess(argv, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("close", (code) => resolve({ code, token: stdout.trim(), stderr }));
  });
}

async function acrossProcesses(argv, env) {
  const runs = await Promise.all(Array.from({ length: PROCESSES }, () => runProcess(argv, env)));
  const failures = runs.filter((run) => run.code !== 0 || !isToken(run.token));
  if (failures.length > 0)
    throw new Error(`${failures.length} processes failed: ${failures[0].stderr.slice(0, 300)}`);
  return { processes: PROCESSES, failed: 0, distinctTokens: new Set(runs.map((run) => run.token)).size };
}

try {
  const configPath = join(work, "aws-sa.json");
  writeFileSync(configPath, JSON.stringify(emulator.config), { mode: 0o600 });
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
    NO_PROXY: "127.0.0.1,localhost",
    ...emulator.awsEnvStatic,
  };
  const wifkitCredentials = await fromConfig(emulator.config, {
    allow: { origins: emulator.allowOrigins },
    env: {},
  });
  const galClient = ExternalAccountClient.fromJSON(emulator.config);
  const results = {
    inProcess: {
      wifkit: await counted(() => inProcess(async () => (await wifkitCredentials.getAccessToken()).value)),
      googleAuthLibrary: await counted(() => inProcess(async () => (await galClient.getAccessToken()).token)),
    },
    acrossProcesses: {
      wifkit: await counted(() =>
        acrossProcesses([wif, "token", "--config", configPath], {
          ...env,
          WIF_CACHE_DIR: join(work, "cache"),
        }),
      ),
      googleAuthLibrary: await counted(() => acrossProcesses([galScript, configPath], env)),
    },
  };
  const wifkitIsOne = (figure) =>
    figure.stsExchanges === 1 &&
    figure.impersonations === 1 &&
    figure.distinctTokens === 1 &&
    figure.failed === 0;
  const summary = {
    benchmark: "herd on a cold cache: upstream calls for many concurrent callers",
    node: process.version,
    callers: CALLERS,
    processes: PROCESSES,
    load: { before: loadBefore, after: machineLoad() },
    target:
      "wifkit: exactly one STS exchange and one impersonation call, in one process and across processes",
    met: wifkitIsOne(results.inProcess.wifkit) && wifkitIsOne(results.acrossProcesses.wifkit),
    results,
  };
  emit(summary, (s) => {
    console.log(
      `Herd on a cold cache, AWS flow with impersonation; load ${loadBefore.loadavg.join(" ")} on ${loadBefore.cpus} CPUs\n`,
    );
    const row = (label, figure) =>
      console.log(
        `  ${label.padEnd(54)} ${String(figure.stsExchanges).padStart(4)} STS  ${String(figure.impersonations).padStart(4)} IAM  ` +
          `${String(figure.imdsCredentialReads).padStart(4)} IMDS credential reads  ${String(figure.distinctTokens).padStart(3)} distinct tokens  ${(figure.ms / 1000).toFixed(1).padStart(5)} s`,
      );
    row(`${CALLERS} callers in one process, wifkit`, s.results.inProcess.wifkit);
    row(`${CALLERS} callers in one process, google-auth-library`, s.results.inProcess.googleAuthLibrary);
    row(`${PROCESSES} processes, wif token (one cold cache)`, s.results.acrossProcesses.wifkit);
    row(`${PROCESSES} processes, google-auth-library`, s.results.acrossProcesses.googleAuthLibrary);
    console.log(
      `  target: wifkit makes exactly one STS exchange and one impersonation call in both cases: ${s.met ? "met" : "NOT met"}`,
    );
  });
} finally {
  await emulator.stop();
  rmSync(work, { recursive: true, force: true });
}
