/**
 * One exchange across processes: concurrent `wif token` runs on one cold cache queue on the key's lock file
 * (apps/cli/src/obtain.ts), so the first one fetches and the others read what it stored. And a holder that
 * dies mid-fetch does not hold the others up: its lock is taken over as soon as its pid is gone.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../../../tooling/test-server.js";
import { baseEnv, runWif, scratch, WIF } from "./helpers.js";

/** As many processes as a loaded 2-core CI machine starts in a few seconds (a cold run is ~0.2 s of CPU). */
const PROCESSES = 24;
/** Longer than the test may run: a waiter that waited for the killed holder's answer would never finish. */
const STUCK_MS = 120_000;

let emulator: Emulator;
let subjectServer: TestServer;
const dir = scratch();
let awsConfig: string;
let urlConfig: string;
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator();
  // A URL source that answers the same Kubernetes token every time: each run fetches its subject token
  // (counted here) before it computes the key and takes the lock, and all of them get the same key.
  const fileSource = emulator.credentialConfig({ source: "file" }).credential_source as { file: string };
  const subject = readFileSync(fileSource.file, "utf8");
  subjectServer = await startServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.end(subject);
  });
  awsConfig = emulator.writeCredentialConfig({
    source: "aws",
    imdsv2: true,
    serviceAccount: "wifkit-reader",
    path: join(dir.dir, "aws-sa.json"),
  });
  urlConfig = emulator.writeCredentialConfig({
    source: "url",
    url: `${subjectServer.origin}/subject`,
    serviceAccount: "wifkit-reader",
    path: join(dir.dir, "url-sa.json"),
  });
});
afterAll(async () => {
  await subjectServer?.close();
  await emulator?.stop();
  dir.cleanup();
});

beforeEach((context) => {
  env = {
    // Static AWS keys rather than IMDS: its 1 s probe timeout is too short for a 2-core machine starting
    // two dozen processes at once while other tests run (the runs would fail, not race).
    ...emulator.awsEnv({ source: "static" }),
    WIF_CACHE_DIR: join(dir.dir, "cache", context.task.id),
    WIF_ALLOW_ORIGINS: [...emulator.allowOrigins, subjectServer.origin].join(","),
  };
  emulator.counters.reset();
  emulator.faults.clear();
  subjectServer.requests.length = 0;
});

/** Polls `condition` on the event loop (no fixed sleeps) until it holds; fails after `limit` checks. */
async function until(condition: () => boolean, what: string, limit = 20_000): Promise<void> {
  for (let check = 0; check < limit; check++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
    if (check % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`gave up waiting until ${what}`);
}

describe("wif token across processes on one cold cache", () => {
  it(`${PROCESSES} concurrent runs make one STS exchange and one impersonation call, and print one token`, async () => {
    const runs = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        runWif(["token", "--config", awsConfig], { env, timeoutMs: 60_000 }),
      ),
    );
    for (const run of runs) expect(run).toMatchObject({ code: 0, stderr: "" });
    const tokens = new Set(runs.map((run) => run.stdout));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toMatch(/^\S+\n$/);
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  }, 90_000);

  it("a holder killed mid-fetch does not block the others: one of them takes the lock over and fetches once", async () => {
    // The holder's STS exchange hangs for longer than this test may run.
    emulator.faults.inject("sts.token", { delayMs: STUCK_MS });
    const holder = spawn(process.execPath, [WIF, "token", "--config", urlConfig], {
      env: { ...baseEnv, ...env },
      stdio: "ignore",
    });
    const holderExit = new Promise((resolve) => holder.once("exit", (_code, signal) => resolve(signal)));
    try {
      await until(() => emulator.counters.get("sts.token") === 1, "the holder's exchange reached STS");

      const waiters = Array.from({ length: PROCESSES - 1 }, () =>
        runWif(["token", "--config", urlConfig], { env, timeoutMs: 60_000 }),
      );
      // Each waiter fetches its subject token just before it looks at the cache and the lock.
      await until(() => subjectServer.requests.length === PROCESSES, "every waiter got its subject token");
      expect(emulator.counters.get("sts.token")).toBe(1);
      holder.kill("SIGKILL");
      expect(await holderExit).toBe("SIGKILL");

      const runs = await Promise.all(waiters);
      for (const run of runs) expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(new Set(runs.map((run) => run.stdout)).size).toBe(1);
      // The dead holder's exchange, and exactly one more: the waiters did not wait out the lock's bound
      // (30 s; then each would have fetched for itself), nor for the holder's answer.
      expect(emulator.counters.get("sts.token")).toBe(2);
      expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
    } finally {
      holder.kill("SIGKILL");
    }
  }, 90_000);
});
