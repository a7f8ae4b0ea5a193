/**
 * Upstream faults, injected in the emulator: transient failures are retried and succeed, a 400 is not
 * retried, a hang hits the timeout, and an outage during a background refresh keeps the still-valid token
 * in service but never hands out an expired one.
 */

import type { RefreshErrorEvent } from "@wifkit/core";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterEach, beforeEach, expect, it } from "vitest";
import { type FromConfigOptions, fromConfig } from "../src/index.js";
import { emulatorClock } from "./emulator-helpers.js";

let emulator: Emulator;
beforeEach(async () => {
  emulator = await startEmulator();
});
afterEach(async () => {
  await emulator.stop();
});

const fast = { baseDelayMs: 5, maxDelayMs: 20 };

async function credentialsFor(options: Partial<FromConfigOptions> = {}) {
  return fromConfig(emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" }), {
    allow: { origins: emulator.allowOrigins },
    clock: emulatorClock(emulator),
    retry: fast,
    ...options,
  });
}

it("retries 503s from STS and succeeds", async () => {
  emulator.faults.inject("sts.token", { status: 503, times: 2 });
  const credentials = await credentialsFor();
  await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
  expect(emulator.counters.get("sts.token")).toBe(3);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
});

it("retries a 429 with Retry-After from IAM Credentials, waiting as told, and succeeds", async () => {
  emulator.faults.inject("iam.generateAccessToken", { retryAfterSeconds: 1 });
  const credentials = await credentialsFor();
  const started = Date.now();
  await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(2);
});

it("retries a 429 with Retry-After from STS and succeeds", async () => {
  emulator.faults.inject("sts.token", { retryAfterSeconds: 1, times: 1 });
  const credentials = await credentialsFor();
  await expect(credentials.getIdToken({ audience: "https://svc" })).resolves.toMatchObject({
    type: "id_token",
  });
  expect(emulator.counters.get("sts.token")).toBe(2);
});

it("does not retry a 400 and reports the upstream error", async () => {
  emulator.faults.inject("sts.token", {
    status: 400,
    body: { error: "invalid_grant", error_description: "The subject token is expired." },
  });
  const credentials = await credentialsFor();
  const error = await credentials.getAccessToken().catch((e: unknown) => e);
  expect(error).toMatchObject({
    code: "ERR_WIF_STS_INVALID_SUBJECT_TOKEN",
    status: 400,
    upstreamError: "invalid_grant",
  });
  expect(emulator.counters.get("sts.token")).toBe(1);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(0);
});

it("gives up on a hanging STS at the per-request timeout", async () => {
  emulator.faults.inject("sts.token", { delayMs: 3_000, times: 5 });
  const credentials = await credentialsFor({ timeoutMs: 200, retry: { ...fast, retries: 1 } });
  const started = Date.now();
  const error = await credentials.getAccessToken().catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
  expect(Date.now() - started).toBeLessThan(2_500);
  expect(emulator.counters.get("sts.token")).toBe(2);
});

it("bounds a whole call by its own timeoutMs", async () => {
  emulator.faults.inject("iam.generateAccessToken", { delayMs: 3_000 });
  const credentials = await credentialsFor();
  const error = await credentials.getAccessToken({ timeoutMs: 300 }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
});

it("serves the still-valid token through an outage during background refresh, and never an expired one", async () => {
  const errors: RefreshErrorEvent[] = [];
  const credentials = await credentialsFor({
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
  await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(2);
});
