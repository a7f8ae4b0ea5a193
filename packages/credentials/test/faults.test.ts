/**
 * Upstream faults, injected in the emulator: transient failures are retried and succeed, a 400 is not
 * retried, a hang hits the timeout, and an outage during a background refresh keeps the still-valid token
 * in service but never hands out an expired one. Retries, Retry-After and timeouts run on virtual time
 * (`tooling/virtual-time.ts`): no test waits real seconds or reads the wall clock.
 */

import type { RefreshErrorEvent } from "@wifkit/core";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { type HttpTraceEvent, subscribeHttpTrace } from "@wifkit/http";
import { afterEach, beforeEach, expect, it } from "vitest";
import { type VirtualTime, virtualTime } from "../../../tooling/virtual-time.js";
import { type FromConfigOptions, fromConfig } from "../src/index.js";
import { emulatorClock } from "./emulator-helpers.js";

let emulator: Emulator;
let time: VirtualTime;
let retries: Array<Extract<HttpTraceEvent, { phase: "retry" }>>;
let stopTrace: () => void;
beforeEach(async () => {
  emulator = await startEmulator();
  time = virtualTime(emulator.clock.now());
  retries = [];
  stopTrace = subscribeHttpTrace((event) => {
    if (event.phase === "retry") retries.push(event);
  });
});
afterEach(async () => {
  stopTrace();
  await emulator.stop();
});

/** Backoff and Retry-After waits are woken at once; a 10 s attempt timeout never is. */
const run = <T>(promise: Promise<T>) => time.run(promise, { below: 10_000 });

async function credentialsFor(options: Partial<FromConfigOptions> = {}) {
  return fromConfig(emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" }), {
    allow: { origins: emulator.allowOrigins },
    clock: time.clock,
    sleep: time.sleep,
    ...options,
  });
}

it("retries 503s from STS and succeeds", async () => {
  emulator.faults.inject("sts.token", { status: 503, times: 2 });
  const credentials = await credentialsFor();
  await expect(run(credentials.getAccessToken())).resolves.toMatchObject({ type: "access_token" });
  expect(emulator.counters.get("sts.token")).toBe(3);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  expect(retries.map((event) => event.reason)).toEqual(["HTTP 503", "HTTP 503"]);
});

it("retries a 429 with Retry-After from IAM Credentials, waiting as told, and succeeds", async () => {
  emulator.faults.inject("iam.generateAccessToken", { retryAfterSeconds: 7 });
  const credentials = await credentialsFor();
  await expect(run(credentials.getAccessToken())).resolves.toMatchObject({ type: "access_token" });
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(2);
  // The one wait before the second attempt is Retry-After's 7 s, not the ~100 ms backoff.
  expect(retries).toEqual([
    expect.objectContaining({
      operation: "IAM Credentials generateAccessToken",
      reason: "HTTP 429",
      delayMs: 7_000,
    }),
  ]);
  expect(time.sleeps).toContain(7_000);
});

it("retries a 429 with Retry-After from STS and succeeds", async () => {
  emulator.faults.inject("sts.token", { retryAfterSeconds: 3, times: 1 });
  const credentials = await credentialsFor();
  await expect(run(credentials.getIdToken({ audience: "https://svc" }))).resolves.toMatchObject({
    type: "id_token",
  });
  expect(emulator.counters.get("sts.token")).toBe(2);
  expect(retries).toEqual([
    expect.objectContaining({ operation: "Google STS token exchange", reason: "HTTP 429", delayMs: 3_000 }),
  ]);
});

it("gives up when Retry-After asks for more than the call's 30 s budget, without waiting", async () => {
  emulator.faults.inject("sts.token", { retryAfterSeconds: 120 });
  const credentials = await credentialsFor();
  const error = await run(credentials.getAccessToken()).catch((e: unknown) => e);
  expect(error).toMatchObject({ status: 429 });
  expect(emulator.counters.get("sts.token")).toBe(1);
  expect(time.sleeps.filter((ms) => ms !== 10_000)).toEqual([]);
});

it("does not retry a 400 and reports the upstream error", async () => {
  emulator.faults.inject("sts.token", {
    status: 400,
    body: { error: "invalid_grant", error_description: "The subject token is expired." },
  });
  const credentials = await credentialsFor();
  const error = await run(credentials.getAccessToken()).catch((e: unknown) => e);
  expect(error).toMatchObject({
    code: "ERR_WIF_STS_INVALID_SUBJECT_TOKEN",
    status: 400,
    upstreamError: "invalid_grant",
  });
  expect(emulator.counters.get("sts.token")).toBe(1);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(0);
  expect(retries).toEqual([]);
});

it("gives up on a hanging STS at the per-attempt timeout, after one retry", async () => {
  // An hour of emulator time: STS never answers within the test.
  emulator.faults.inject("sts.token", { delayMs: 3_600_000, times: 5 });
  const credentials = await credentialsFor({ timeoutMs: 2_000, retry: { retries: 1 } });
  const pending = credentials.getAccessToken();
  pending.catch(() => {});
  await expect.poll(() => emulator.counters.get("sts.token")).toBe(1);
  await time.advance(1_999);
  expect(emulator.counters.get("sts.token")).toBe(1);
  await time.advance(1); // the first attempt times out
  expect(retries).toEqual([expect.objectContaining({ reason: "ERR_WIF_TIMEOUT", attempt: 1 })]);
  await time.advance(retries[0]?.delayMs ?? 0); // the backoff
  await expect.poll(() => emulator.counters.get("sts.token")).toBe(2);
  await time.advance(2_000);
  const error = await pending.catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
  expect((error as Error).message).toMatch(
    /Google STS token exchange at .*\/v1\/token timed out after 2000 ms/,
  );
  expect(emulator.counters.get("sts.token")).toBe(2);
});

it("bounds a whole call by its own timeoutMs", async () => {
  emulator.faults.inject("iam.generateAccessToken", { delayMs: 3_600_000 });
  const credentials = await credentialsFor();
  const pending = credentials.getAccessToken({ timeoutMs: 3_000 });
  pending.catch(() => {});
  await expect.poll(() => emulator.counters.get("iam.generateAccessToken")).toBe(1);
  await time.advance(2_999);
  await time.advance(1);
  const error = await pending.catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
  expect((error as Error).message).toBe("Getting a Google access token did not finish within 3000 ms.");
  // The IAM attempt (10 s timeout) was cut short by the call's deadline, not retried.
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
});

it("serves the still-valid token through an outage during background refresh, and never an expired one", async () => {
  const errors: RefreshErrorEvent[] = [];
  const credentials = await credentialsFor({
    clock: emulatorClock(emulator),
    retry: false,
    retryBackoffMs: 1,
    onError: (event) => errors.push(event),
  });
  const original = await credentials.getAccessToken();
  const lifetimeMs = original.expiresAt.getTime() - emulator.clock.now();

  // STS and IAM go down for 20 minutes (emulator time) just after the refresh point.
  emulator.clock.advance(lifetimeMs - 4 * 60_000);
  emulator.faults.inject("sts.token", { status: 503, forMs: 20 * 60_000 });
  emulator.faults.inject("iam.generateAccessToken", { status: 503, forMs: 20 * 60_000 });
  for (let i = 0; i < 5; i++) {
    // Past the (1 ms, doubling) backoff of the last failure, so this call starts another background refresh.
    emulator.clock.advance(1_000);
    expect((await credentials.getAccessToken()).value).toBe(original.value);
    await expect.poll(() => errors.length).toBeGreaterThan(i);
  }
  expect(errors.every((event) => event.servingCachedToken && event.kind === "background")).toBe(true);

  // The token has expired and the outage goes on: callers get the error, not the expired token.
  emulator.clock.advance(5 * 60_000);
  expect(emulator.clock.now()).toBeGreaterThan(original.expiresAt.getTime());
  const error = await credentials.getAccessToken().catch((e: unknown) => e);
  expect(error).toMatchObject({ code: expect.stringMatching(/^ERR_WIF_(STS|IAM)_UNAVAILABLE$/) });
  expect(credentials.peekAccessToken()).toBeUndefined();

  // Within the backoff, callers get the same error without another exchange: an outage costs STS one
  // attempt per backoff step, not one per caller.
  const exchanges = emulator.counters.get("sts.token");
  await expect(credentials.getAccessToken()).rejects.toBe(error);
  expect(emulator.counters.get("sts.token")).toBe(exchanges);

  // Service is back: after the backoff, a fresh token.
  emulator.faults.clear();
  emulator.clock.advance(60_000);
  const fresh = await credentials.getAccessToken();
  expect(fresh.value).not.toBe(original.value);
  expect(fresh.expiresAt.getTime()).toBeGreaterThan(emulator.clock.now());
});

it("drops a connection reset and retries it", async () => {
  emulator.faults.inject("iam.generateAccessToken", { drop: true });
  const credentials = await credentialsFor();
  await expect(run(credentials.getAccessToken())).resolves.toMatchObject({ type: "access_token" });
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(2);
  expect(retries).toEqual([expect.objectContaining({ reason: "ERR_WIF_NETWORK" })]);
});
