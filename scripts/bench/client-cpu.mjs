#!/usr/bin/env node
// Client CPU per fresh token, full AWS flow (instance metadata role credentials, SigV4-signed
// GetCallerIdentity, STS exchange, service account impersonation) against the emulator running in another
// process: wifkit's @wifkit/credentials next to google-auth-library's ExternalAccountClient (AwsClient).
//
// - Equal work: the configuration reads credentials from IMDS without a session token URL, where both
//   clients make the same requests per token (the emulator counts them for every batch, and the benchmark
//   fails if the two differ). Two client policies: one client reused with its token dropped before each call
//   (the region is looked up once), and a new client per token (configuration parsed, region looked up).
// - Realistic payloads: the emulator issues 1 KB access tokens (STS and IAM Credentials answers of ~1.1 KB),
//   and every token returned is checked.
// - Paired rounds in alternating order (see paired.mjs), a full garbage collection before every batch when
//   run with --expose-gc (bench.mjs does), the emulator pinned to one CPU and this process to the other.
//
//   node --expose-gc scripts/bench/client-cpu.mjs [--json]     BENCH_ROUNDS (default 10), BENCH_PER_ROUND (20)
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import {
  describeCounters,
  isolateProcessEnv,
  loadFromConfig,
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
  verdict,
} from "./paired.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { ExternalAccountClient } = createRequire(`${root}packages/credentials/package.json`)(
  "google-auth-library",
);
const fromConfig = await loadFromConfig();

const ROUNDS = roundsFrom(10);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 20);
const TOKEN_LENGTH = 1024;
const TARGET = 0.35;

isolateProcessEnv();
const loadBefore = machineLoad();
const emulator = await startEmulatorProcess({ accessTokenLength: TOKEN_LENGTH });
const pinned = pinProcess(emulator.pid, 0) && pinProcess(process.pid, 1);
try {
  const wifkitOptions = { allow: { origins: emulator.allowOrigins }, env: {} };
  const check = (token) => {
    if (typeof token !== "string" || token.length !== TOKEN_LENGTH || !token.startsWith("ya29.c."))
      throw new Error(
        `not a ${TOKEN_LENGTH}-character service account token: ${String(token).slice(0, 12)}…`,
      );
  };
  const reusedWifkit = await fromConfig(emulator.config, wifkitOptions);
  const reusedGal = ExternalAccountClient.fromJSON(emulator.config);
  const policies = {
    "reused client": {
      wifkit: async () => (await reusedWifkit.getAccessToken({ forceRefresh: true })).value,
      gal: async () => {
        reusedGal.cachedAccessToken = null; // what expiry does: the next call runs the whole flow again
        return (await reusedGal.getAccessToken()).token;
      },
    },
    "new client per token": {
      wifkit: async () => (await (await fromConfig(emulator.config, wifkitOptions)).getAccessToken()).value,
      gal: async () => (await ExternalAccountClient.fromJSON(emulator.config).getAccessToken()).token,
    },
  };

  const results = {};
  for (const [policy, sides] of Object.entries(policies)) {
    // Warm-up (JIT, keep-alive connections), and proof that each side gets a token at all.
    for (const fetchToken of Object.values(sides)) for (let i = 0; i < 10; i++) check(await fetchToken());
    const requests = {};
    const pairs = await pairedRounds(ROUNDS, "wifkit", "gal", async (side) => {
      await emulator.resetCounters();
      globalThis.gc?.();
      const tokens = [];
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) tokens.push(await sides[side]());
      const used = process.cpuUsage(cpu);
      const wallMs = performance.now() - started;
      for (const token of tokens) check(token);
      if (new Set(tokens).size !== PER_ROUND) throw new Error(`${side} returned a token twice`);
      const counters = await emulator.counters();
      const perToken = Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, v / PER_ROUND]));
      const seen = describeCounters(perToken);
      requests[side] ??= seen;
      if (requests[side] !== seen) throw new Error(`${side} made other requests this round: ${seen}`);
      return { cpuUsPerToken: (used.user + used.system) / PER_ROUND, wallMsPerToken: wallMs / PER_ROUND };
    });
    if (requests.wifkit !== requests.gal) {
      throw new Error(`unequal work: wifkit ${requests.wifkit}; google-auth-library ${requests.gal}`);
    }
    const ratio = ratioSpread(pairs, (side) => side.cpuUsPerToken);
    results[policy] = {
      requestsPerToken: requests.wifkit,
      cpuUsPerToken: {
        wifkit: spread(pairs.map((pair) => pair.a.cpuUsPerToken)),
        googleAuthLibrary: spread(pairs.map((pair) => pair.b.cpuUsPerToken)),
      },
      wallMsPerToken: {
        wifkit: spread(pairs.map((pair) => pair.a.wallMsPerToken)),
        googleAuthLibrary: spread(pairs.map((pair) => pair.b.wallMsPerToken)),
      },
      ratio,
      target: TARGET,
      met: verdict(ratio, TARGET) === "met",
    };
  }
  const summary = {
    benchmark: "client CPU per fresh token (wifkit / google-auth-library)",
    node: process.version,
    rounds: ROUNDS,
    tokensPerRound: PER_ROUND,
    tokenLength: TOKEN_LENGTH,
    pinned,
    gcBetweenBatches: typeof globalThis.gc === "function",
    load: { before: loadBefore, after: machineLoad() },
    policies: results,
  };
  emit(summary, () => {
    console.log(
      `Client CPU per fresh token, full AWS flow with impersonation, ${TOKEN_LENGTH}-character tokens, ` +
        `${ROUNDS} paired rounds of ${PER_ROUND} tokens a side (alternating order)` +
        `${pinned ? ", client on CPU 1, emulator on CPU 0" : ""}; load ${loadBefore.loadavg.join(" ")} on ${loadBefore.cpus} CPUs`,
    );
    for (const [policy, result] of Object.entries(results)) {
      console.log(`\n  ${policy}: ${result.requestsPerToken} requests per token, both sides`);
      console.log(
        `    CPU µs/token  wifkit ${formatSpread(result.cpuUsPerToken.wifkit, 0)}   google-auth-library ${formatSpread(result.cpuUsPerToken.googleAuthLibrary, 0)}  (min / median / max)`,
      );
      console.log(
        `    ratio wifkit / google-auth-library  ${formatSpread(result.ratio)}   target at most ${TARGET}: ${verdict(result.ratio, TARGET)}`,
      );
    }
  });
} finally {
  await emulator.stop();
}
