#!/usr/bin/env node
// Client CPU per fresh token, full AWS flow (IMDSv2 session token, role credentials, SigV4-signed
// GetCallerIdentity, STS exchange, service account impersonation) against the emulator running in another
// process: wifkit's @wifkit/credentials next to google-auth-library's AwsClient, in the same run, interleaved.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { isolateProcessEnv, startEmulatorProcess } from "./emulator-client.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const requireFromCredentials = createRequire(`${root}packages/credentials/package.json`);
const { ExternalAccountClient } = requireFromCredentials("google-auth-library");
const { fromConfig } = await import(`${root}packages/credentials-all/dist/index.js`);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 20);
const TARGET_RATIO = 0.5;

isolateProcessEnv();
const emulator = await startEmulatorProcess();
try {
  const wifkit = await fromConfig(emulator.config, { allow: { origins: emulator.allowOrigins }, env: {} });
  const gal = ExternalAccountClient.fromJSON(emulator.config);

  const contenders = {
    "@wifkit/credentials": async () => (await wifkit.getAccessToken({ forceRefresh: true })).value,
    "google-auth-library": async () => {
      gal.cachedAccessToken = null; // what expiry does: the next call runs the whole flow again
      return (await gal.getAccessToken()).token;
    },
  };
  const totals = Object.fromEntries(
    Object.keys(contenders).map((name) => [name, { cpuUs: 0, wallMs: 0, n: 0 }]),
  );

  // Warm up both (JIT, keep-alive connections), and check that each really gets a token.
  for (const [name, fetchToken] of Object.entries(contenders)) {
    for (let i = 0; i < 5; i++) if (!(await fetchToken())) throw new Error(`${name} returned no token`);
  }
  await emulator.resetCounters();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fetchToken] of Object.entries(contenders)) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) await fetchToken();
      const used = process.cpuUsage(cpu);
      totals[name].cpuUs += used.user + used.system;
      totals[name].wallMs += performance.now() - started;
      totals[name].n += PER_ROUND;
    }
  }
  const counters = await emulator.counters();

  console.log(
    `Client CPU per fresh token, full AWS flow with impersonation (${ROUNDS * PER_ROUND} tokens each)\n`,
  );
  for (const [name, total] of Object.entries(totals)) {
    console.log(
      `  ${name.padEnd(22)} ${(total.cpuUs / total.n).toFixed(0).padStart(6)} µs CPU/token  ${(total.wallMs / total.n).toFixed(2).padStart(6)} ms wall/token`,
    );
  }
  const ratio =
    totals["@wifkit/credentials"].cpuUs /
    totals["@wifkit/credentials"].n /
    (totals["google-auth-library"].cpuUs / totals["google-auth-library"].n);
  console.log(
    `  ratio ${ratio.toFixed(2)} (target at most ${TARGET_RATIO}) ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`,
  );
  console.log(
    `  emulator saw ${counters["sts.token"] ?? 0} STS exchanges and ${counters["iam.generateAccessToken"] ?? 0} impersonations (expected ${2 * ROUNDS * PER_ROUND} each)`,
  );
} finally {
  await emulator.stop();
}
