#!/usr/bin/env node
/**
 * `pnpm bench` (apps/cli): start-up of the built `wif`, each command paired with `node -e 0` in alternating
 * rounds (see scripts/bench/paired.mjs): one round runs the command and the floor back to back, the next
 * round the other way round, and each round gives one ratio. Reported: min / median / max of the ratio of
 * wall-clock time, and of CPU time (task-clock, when `perf` is installed).
 *
 *   wif token (warm file cache)     the target: at most 1.15x node -e 0 (DESIGN.md)
 *   wif --version                   the entry alone
 *   wif token --no-cache            the full flow: IMDS, signed request, STS, impersonation
 *   google-auth-library             the same token through ExternalAccountClient in a fresh process
 *
 * Everything runs against the emulator in its own process (1 KB tokens), with NODE_EXTRA_CA_CERTS unset, this
 * process and the commands it starts pinned to CPU 1 and the emulator to CPU 0 when the machine allows.
 * What is timed is checked: every warm run printed the cached token and the emulator saw no request during
 * them; every --no-cache run made its own exchange; every run printed a 1 KB token.
 *
 *   node bench/startup.mjs [--json]      (after a build)   BENCH_ROUNDS (default 15)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulatorProcess } from "../../../scripts/bench/emulator-client.mjs";
import {
  emit,
  formatSpread,
  machineLoad,
  pairedRounds,
  pinProcess,
  ratioSpread,
  roundsFrom,
  spread,
  verdict,
} from "../../../scripts/bench/paired.mjs";

const ROUNDS = roundsFrom(15);
const TOKEN_LENGTH = 1024;
const TARGET = 1.15;
const wif = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const galScript = fileURLToPath(new URL("./gal-token.mjs", import.meta.url));
if (!existsSync(wif)) {
  console.error("dist/main.js is missing: run `pnpm build` in apps/cli first.");
  process.exit(1);
}
const PERF = ["/usr/bin/perf", "/usr/local/bin/perf"].find((path) => {
  if (!existsSync(path)) return false;
  // Installed is not enough: it must be allowed to count a child's task-clock here.
  return spawnSync(path, ["stat", "-x,", "-e", "task-clock", "true"], { stdio: "ignore" }).status === 0;
});

const work = mkdtempSync(join(tmpdir(), "wif-bench-startup-"));
const loadBefore = machineLoad();
const emulator = await startEmulatorProcess({ accessTokenLength: TOKEN_LENGTH });
const pinned = pinProcess(emulator.pid, 0) && pinProcess(process.pid, 1);

/** One run: wall-clock ms (no wrapper), or task-clock ms under `perf stat`; fails on a non-zero exit. */
function runOnce(argv, env, cpu) {
  if (cpu) {
    const out = join(work, "perf.csv");
    const result = spawnSync(PERF, ["stat", "-x,", "-o", out, "-e", "task-clock", "--", ...argv], {
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    if (result.status !== 0) throw new Error(`${argv.join(" ")} failed: ${result.stderr.slice(0, 500)}`);
    const line = readFileSync(out, "utf8")
      .split("\n")
      .find((text) => text.includes("task-clock"));
    return { ms: Number(line.split(",")[0]), stdout: result.stdout };
  }
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { env, encoding: "utf8", timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(" ")} failed: ${result.stderr.slice(0, 500)}`);
  return { ms, stdout: result.stdout };
}

try {
  const config = join(work, "aws-sa.json");
  writeFileSync(config, JSON.stringify(emulator.configImdsv2), { mode: 0o600 });
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    WIF_CACHE_DIR: join(work, "cache"),
    WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
    NO_PROXY: "127.0.0.1,localhost",
    ...emulator.awsEnv,
  };
  const node = process.execPath;
  const isToken = (stdout) => stdout.length === TOKEN_LENGTH + 1 && stdout.startsWith("ya29.c.");
  // Warm the cache, and check that each command gets a token at all.
  const warm = runOnce([node, wif, "token", "--config", config], env, false).stdout;
  if (!isToken(warm)) throw new Error(`wif token printed no ${TOKEN_LENGTH}-character token`);

  const floor = { label: "node -e 0", argv: [node, "-e", "0"], check: () => {} };
  const rows = [
    {
      key: "warmToken",
      label: "wif token (warm file cache)",
      argv: [node, wif, "token", "--config", config],
      target: TARGET,
      check: (stdout) => {
        if (stdout !== warm) throw new Error("a warm run printed another token than the cached one");
      },
      // Answered from the cache: the emulator sees nothing while these run.
      expectRequests: () => ({}),
    },
    {
      key: "version",
      label: "wif --version",
      argv: [node, wif, "--version"],
      check: (stdout) => {
        if (!/^\d+\.\d+\.\d+/.test(stdout)) throw new Error("wif --version printed no version");
      },
      expectRequests: () => ({}),
    },
    {
      key: "noCache",
      label: "wif token --no-cache",
      argv: [node, wif, "token", "--config", config, "--no-cache"],
      check: (stdout) => {
        if (!isToken(stdout) || stdout === warm) throw new Error("a --no-cache run printed no fresh token");
      },
      expectRequests: (runs) => ({ "sts.token": runs, "iam.generateAccessToken": runs }),
    },
    {
      key: "googleAuthLibrary",
      label: "google-auth-library (same token)",
      argv: [node, galScript, config],
      check: (stdout) => {
        if (!isToken(stdout)) throw new Error("google-auth-library printed no token");
      },
      expectRequests: (runs) => ({ "sts.token": runs, "iam.generateAccessToken": runs }),
    },
  ];
  runOnce(rows[3].argv, env, false); // google-auth-library's first load, off the clock

  const results = {};
  for (const row of rows) {
    const measures = PERF ? ["wall", "cpu"] : ["wall"];
    const figures = {};
    for (const measure of measures) {
      await emulator.resetCounters();
      const pairs = await pairedRounds(ROUNDS, row, floor, (side) => {
        const { ms, stdout } = runOnce(side.argv, env, measure === "cpu");
        side.check(stdout);
        return ms;
      });
      const counters = await emulator.counters();
      for (const [route, count] of Object.entries(row.expectRequests(ROUNDS))) {
        if ((counters[route] ?? 0) !== count)
          throw new Error(`${row.label}: the emulator saw ${counters[route] ?? 0} ${route}, not ${count}`);
      }
      if (row.key === "warmToken" && Object.keys(counters).length > 0)
        throw new Error(`warm runs reached the emulator: ${JSON.stringify(counters)}`);
      figures[measure] = {
        ms: spread(pairs.map((pair) => pair.a)),
        floorMs: spread(pairs.map((pair) => pair.b)),
        ratio: ratioSpread(pairs, (ms) => ms),
      };
    }
    results[row.key] = {
      label: row.label,
      ...figures,
      ...(row.target ? { target: row.target, met: verdict(figures.wall.ratio, row.target) === "met" } : {}),
    };
  }
  const summary = {
    benchmark: "wif start-up vs node -e 0 (ratio per paired round)",
    node: process.version,
    rounds: ROUNDS,
    tokenLength: TOKEN_LENGTH,
    pinned,
    cpuFrom: PERF ? "perf stat task-clock" : "not measured (no perf)",
    nodeExtraCaCerts: "unset",
    load: { before: loadBefore, after: machineLoad() },
    results,
  };
  emit(summary, () => {
    console.log(
      `wif start-up, Node ${process.version}, ${ROUNDS} paired rounds per command against node -e 0 (alternating order), ` +
        `NODE_EXTRA_CA_CERTS unset${pinned ? ", commands on CPU 1, emulator on CPU 0" : ""}; load ${loadBefore.loadavg.join(" ")} on ${loadBefore.cpus} CPUs\n`,
    );
    const width = Math.max(...rows.map((row) => row.label.length));
    console.log(
      `${"command".padEnd(width)}  ${"median wall".padStart(11)}  ratio to node -e 0, wall (min / median / max)${PERF ? "   CPU (task-clock)" : ""}`,
    );
    for (const row of rows) {
      const result = results[row.key];
      console.log(
        `${row.label.padEnd(width)}  ${`${result.wall.ms.median.toFixed(1)} ms`.padStart(11)}  ${formatSpread(result.wall.ratio, 2).padEnd(44)}` +
          `${result.cpu ? `   ${formatSpread(result.cpu.ratio, 2)}` : ""}`,
      );
    }
    const warmRatio = results.warmToken.wall.ratio;
    console.log(
      `\nTarget (DESIGN.md): warm wif token at most ${TARGET}x node -e 0 (median wall ratio): ${warmRatio.median.toFixed(2)}x, ${verdict(warmRatio, TARGET)}`,
    );
    console.log(
      "Checked: every warm run printed the cached token and the emulator saw no request meanwhile; each --no-cache and google-auth-library run made its own exchange.",
    );
  });
} finally {
  await emulator.stop();
  rmSync(work, { recursive: true, force: true });
}
