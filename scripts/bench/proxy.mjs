#!/usr/bin/env node
// The proxied path against the direct one: the same token flow (AWS credentials from the emulator's IMDS, then
// STS and IAM Credentials over TLS) once straight to TLS fronts on 127.0.0.1, once to https://sts.googleapis.com
// and https://iamcredentials.googleapis.com through a real CONNECT proxy on loopback (tooling/test-proxy.ts)
// that tunnels those two hosts to the same fronts (scripts/bench/proxy-process.mjs). Both sides speak TLS to
// the same servers and make the same requests; the only difference is the tunnel. Two figures, each a ratio
// proxied / direct in paired alternating rounds (see paired.mjs):
//
// - client CPU per fresh token, one client reused (in this process; the proxy and servers run elsewhere);
// - start-up of `wif token --no-cache` with HTTPS_PROXY set against the same command without it (the tunnel
//   is Node's own http, nothing extra to load), wall clock and task-clock (with perf).
//
// Checked: every token; the emulator's requests per token on both sides; the proxy tunnelled two connections
// per proxied `wif` run and none for direct ones. Both sides trust the fixture CA (NODE_EXTRA_CA_CERTS), so
// this script runs itself again with it set.
//
//   node scripts/bench/proxy.mjs [--json]     BENCH_ROUNDS (default 10), BENCH_PER_ROUND (20)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  isolateProcessEnv,
  loadFromConfig,
  startBenchProcess,
  startEmulatorProcess,
} from "./emulator-client.mjs";
import {
  emit,
  formatSpread,
  machineLoad,
  pairedRounds,
  pinProcess,
  ratioSpread,
  roundsFrom,
  spread,
} from "./paired.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CA = join(root, "tooling/fixtures/tls/ca.pem");
// Node reads NODE_EXTRA_CA_CERTS at start only: run again with it (the flag says this is that run).
const AGAIN = "--trusting-fixture-ca";
if (!process.argv.includes(AGAIN)) {
  const again = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), AGAIN],
    { stdio: "inherit", env: { ...process.env, NODE_EXTRA_CA_CERTS: CA } },
  );
  process.exit(again.status ?? 1);
}

const fromConfig = await loadFromConfig();
const { createTransport } = await import(`${root}packages/http/dist/index.js`);
const ROUNDS = roundsFrom(10);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 20);
const TOKEN_LENGTH = 1024;
const wif = join(root, "apps/cli/dist/main.js");
const PERF = ["/usr/bin/perf", "/usr/local/bin/perf"].find(
  (path) =>
    existsSync(path) &&
    spawnSync(path, ["stat", "-e", "task-clock", "true"], { stdio: "ignore" }).status === 0,
);

isolateProcessEnv();
const loadBefore = machineLoad();
const emulator = await startEmulatorProcess({ accessTokenLength: TOKEN_LENGTH });
const servers = await startBenchProcess("proxy-process.mjs", {
  sts: Number(new URL(emulator.urls.sts).port),
  iamCredentials: Number(new URL(emulator.urls.iamCredentials).port),
});
const tunnels = async () => (await servers.ask("connects")).connects;
const pinned = pinProcess(emulator.pid, 0) && pinProcess(servers.pid, 0) && pinProcess(process.pid, 1);
const work = mkdtempSync(join(tmpdir(), "wif-bench-proxy-"));
const isToken = (value) =>
  typeof value === "string" && value.length === TOKEN_LENGTH && value.startsWith("ya29.c.");

try {
  const impersonationPath = new URL(emulator.config.service_account_impersonation_url).pathname;
  const direct = {
    ...emulator.config,
    token_url: `${servers.sts}/v1/token`,
    service_account_impersonation_url: `${servers.iamCredentials}${impersonationPath}`,
  };
  const proxied = {
    ...emulator.config,
    token_url: "https://sts.googleapis.com/v1/token",
    service_account_impersonation_url: `https://iamcredentials.googleapis.com${impersonationPath}`,
  };
  const allow = { origins: [...emulator.allowOrigins, servers.sts, servers.iamCredentials] };

  // Client CPU per fresh token, one client reused on each side.
  const clients = {
    direct: await fromConfig(direct, { allow, env: {} }),
    proxied: await fromConfig(proxied, {
      allow,
      env: {},
      transport: createTransport({ proxy: servers.proxy }),
    }),
  };
  const fetchToken = async (side) => (await clients[side].getAccessToken({ forceRefresh: true })).value;
  for (const side of Object.keys(clients))
    for (let i = 0; i < 10; i++) if (!isToken(await fetchToken(side))) throw new Error(`${side}: no token`);
  if ((await tunnels()) === 0) throw new Error("the proxied client did not go through the proxy");
  const requests = {};
  const cpuPairs = await pairedRounds(ROUNDS, "proxied", "direct", async (side) => {
    await emulator.resetCounters();
    globalThis.gc?.();
    const tokens = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < PER_ROUND; i++) tokens.push(await fetchToken(side));
    const used = process.cpuUsage(cpu);
    if (!tokens.every(isToken)) throw new Error(`${side}: a call returned no token`);
    const counters = await emulator.counters();
    requests[side] ??= JSON.stringify(counters);
    if (requests[side] !== JSON.stringify(counters)) throw new Error(`${side}: other requests this round`);
    return (used.user + used.system) / PER_ROUND;
  });
  if (requests.direct !== requests.proxied)
    throw new Error(`unequal work: ${requests.direct} / ${requests.proxied}`);

  // Start-up of `wif token --no-cache`, with and without HTTPS_PROXY.
  const paths = { direct: join(work, "direct.json"), proxied: join(work, "proxied.json") };
  writeFileSync(paths.direct, JSON.stringify(direct), { mode: 0o600 });
  writeFileSync(paths.proxied, JSON.stringify(proxied), { mode: 0o600 });
  const baseEnv = {
    PATH: process.env.PATH,
    HOME: work,
    NODE_EXTRA_CA_CERTS: CA,
    NO_PROXY: "127.0.0.1,localhost",
    WIF_ALLOW_ORIGINS: allow.origins.join(","),
    ...emulator.awsEnv,
  };
  const cli = {
    direct: { argv: [process.execPath, wif, "token", "--no-cache", "--config", paths.direct], env: baseEnv },
    proxied: {
      argv: [process.execPath, wif, "token", "--no-cache", "--config", paths.proxied],
      env: { ...baseEnv, HTTPS_PROXY: servers.proxy },
    },
  };
  const runCli = async (side, cpu) => {
    const before = await tunnels();
    const { argv, env } = cli[side];
    const out = join(work, "perf.csv");
    const started = process.hrtime.bigint();
    const result = cpu
      ? spawnSync(PERF, ["stat", "-x,", "-o", out, "-e", "task-clock", "--", ...argv], {
          env,
          encoding: "utf8",
        })
      : spawnSync(argv[0], argv.slice(1), { env, encoding: "utf8" });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0 || !isToken(result.stdout.trim()))
      throw new Error(`wif (${side}) failed: ${result.stderr}`);
    const made = (await tunnels()) - before;
    if (made !== (side === "proxied" ? 2 : 0))
      throw new Error(`wif (${side}) made ${made} tunnels through the proxy`);
    if (!cpu) return wallMs;
    return Number(
      readFileSync(out, "utf8")
        .split("\n")
        .find((line) => line.includes("task-clock"))
        .split(",")[0],
    );
  };
  for (const side of Object.keys(cli)) await runCli(side, false); // page cache, first loads
  const wallPairs = await pairedRounds(ROUNDS, "proxied", "direct", (side) => runCli(side, false));
  const cpuStartPairs = PERF
    ? await pairedRounds(ROUNDS, "proxied", "direct", (side) => runCli(side, true))
    : undefined;

  const summary = {
    benchmark: "proxied path / direct path (CONNECT proxy on loopback, TLS on both sides)",
    node: process.version,
    rounds: ROUNDS,
    tokensPerRound: PER_ROUND,
    tokenLength: TOKEN_LENGTH,
    pinned,
    load: { before: loadBefore, after: machineLoad() },
    clientCpuPerToken: {
      requestsPerToken: requests.direct,
      proxiedUs: spread(cpuPairs.map((pair) => pair.a)),
      directUs: spread(cpuPairs.map((pair) => pair.b)),
      ratio: ratioSpread(cpuPairs, (us) => us),
    },
    cliNoCacheStartup: {
      proxiedWallMs: spread(wallPairs.map((pair) => pair.a)),
      directWallMs: spread(wallPairs.map((pair) => pair.b)),
      wallRatio: ratioSpread(wallPairs, (ms) => ms),
      ...(cpuStartPairs ? { cpuRatio: ratioSpread(cpuStartPairs, (ms) => ms) } : {}),
    },
  };
  emit(summary, (s) => {
    console.log(
      `Proxied path / direct path, TLS on both sides, CONNECT proxy on loopback; ${ROUNDS} paired rounds (alternating order); load ${loadBefore.loadavg.join(" ")} on ${loadBefore.cpus} CPUs\n`,
    );
    console.log(
      `  client CPU per fresh token (reused client, ${PER_ROUND} tokens a side per round): proxied ${s.clientCpuPerToken.proxiedUs.median.toFixed(0)} µs, direct ${s.clientCpuPerToken.directUs.median.toFixed(0)} µs (medians); ratio ${formatSpread(s.clientCpuPerToken.ratio)}`,
    );
    console.log(
      `  wif token --no-cache, HTTPS_PROXY set / not: wall ${formatSpread(s.cliNoCacheStartup.wallRatio)}` +
        `${s.cliNoCacheStartup.cpuRatio ? `, CPU (task-clock) ${formatSpread(s.cliNoCacheStartup.cpuRatio)}` : ""}` +
        `; medians ${s.cliNoCacheStartup.proxiedWallMs.median.toFixed(0)} / ${s.cliNoCacheStartup.directWallMs.median.toFixed(0)} ms`,
    );
    console.log("  (min / median / max of the per-round ratio; informational, no target)");
  });
} finally {
  await servers.stop();
  await emulator.stop();
  rmSync(work, { recursive: true, force: true });
}
