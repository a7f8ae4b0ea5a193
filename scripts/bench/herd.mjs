#!/usr/bin/env node
// Herd: thousands of concurrent callers on a cold cache. Counts the upstream calls each client makes (the
// emulator, in its own process, counts them) and the time until every caller has a token.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { isolateProcessEnv, startEmulatorProcess } from "./emulator-client.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { ExternalAccountClient } = createRequire(`${root}packages/credentials/package.json`)(
  "google-auth-library",
);
const { fromConfig } = await import(`${root}packages/credentials-all/dist/index.js`);

const CALLERS = Number(process.env.BENCH_CALLERS ?? 5000);

isolateProcessEnv();
const emulator = await startEmulatorProcess();
try {
  const contenders = {
    "@wifkit/credentials": async () => {
      const credentials = await fromConfig(emulator.config, {
        allow: { origins: emulator.allowOrigins },
        env: {},
      });
      return () => credentials.getAccessToken();
    },
    "google-auth-library": async () => {
      const client = ExternalAccountClient.fromJSON(emulator.config);
      return () => client.getAccessToken();
    },
  };
  console.log(`Herd: ${CALLERS} concurrent callers on a cold cache, AWS flow with impersonation\n`);
  for (const [name, create] of Object.entries(contenders)) {
    const getToken = await create();
    await emulator.resetCounters();
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: CALLERS }, () => getToken()));
    const elapsed = performance.now() - started;
    const failed = results.filter((result) => result.status === "rejected").length;
    const counters = await emulator.counters();
    console.log(
      `  ${name.padEnd(22)} ${String(counters["sts.token"] ?? 0).padStart(5)} STS exchanges  ${String(counters["iam.generateAccessToken"] ?? 0).padStart(5)} impersonations  ${String(counters["aws.imds.credentials"] ?? 0).padStart(5)} IMDS credential reads  ${elapsed.toFixed(0).padStart(6)} ms  ${failed} failed`,
    );
  }
  console.log("  target: exactly one STS exchange and one impersonation call");
} finally {
  await emulator.stop();
}
