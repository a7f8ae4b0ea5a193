/**
 * The thundering herd: a cold cache under 1,000 concurrent callers makes exactly one STS exchange and one
 * impersonation call, and once the clock passes the refresh point exactly one more of each.
 */
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterEach, beforeEach, expect, it } from "vitest";
import { fromConfig } from "../src/index.js";
import { emulatorClock } from "./emulator-helpers.js";

let emulator: Emulator;
beforeEach(async () => {
  emulator = await startEmulator();
});
afterEach(async () => {
  await emulator.stop();
});

const CALLERS = 1_000;

it("1,000 concurrent getAccessToken calls share one STS exchange and one impersonation call", async () => {
  const credentials = await fromConfig(
    emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" }),
    {
      allow: { origins: emulator.allowOrigins },
      clock: emulatorClock(emulator),
    },
  );
  const tokens = await Promise.all(Array.from({ length: CALLERS }, () => credentials.getAccessToken()));
  expect(new Set(tokens.map((token) => token.value)).size).toBe(1);
  expect(emulator.counters.get("sts.token")).toBe(1);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  expect(emulator.counters.get("kubernetes.token")).toBe(1);

  // Still fresh: another herd is served from memory.
  emulator.clock.advance(30 * 60_000);
  await Promise.all(Array.from({ length: CALLERS }, () => credentials.getAccessToken()));
  expect(emulator.counters.get("sts.token")).toBe(1);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);

  // Past the refresh point (5 minutes before the 1 h expiry) but still valid: the herd gets the old token at
  // once while exactly one background refresh runs.
  emulator.clock.advance(26 * 60_000);
  const during = await Promise.all(Array.from({ length: CALLERS }, () => credentials.getAccessToken()));
  expect(new Set(during.map((token) => token.value))).toEqual(new Set([tokens[0]?.value]));
  await expect.poll(() => credentials.peekAccessToken()?.value).not.toBe(tokens[0]?.value);
  const after = await Promise.all(Array.from({ length: CALLERS }, () => credentials.getAccessToken()));
  expect(new Set(after.map((token) => token.value)).size).toBe(1);
  expect(after[0]?.value).not.toBe(tokens[0]?.value);
  // The federated token is refreshed in the background too, racing the impersonation call that used the old one.
  await expect.poll(() => emulator.counters.get("sts.token")).toBe(2);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(2);
});

it("1,000 concurrent getIdToken calls for one audience make one generateIdToken call", async () => {
  const credentials = await fromConfig(
    emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" }),
    {
      allow: { origins: emulator.allowOrigins },
      clock: emulatorClock(emulator),
    },
  );
  const tokens = await Promise.all(
    Array.from({ length: CALLERS }, () => credentials.getIdToken({ audience: "https://svc.example.com" })),
  );
  expect(new Set(tokens.map((token) => token.value)).size).toBe(1);
  expect(emulator.counters.get("sts.token")).toBe(1);
  expect(emulator.counters.get("iam.generateIdToken")).toBe(1);
});

it("without impersonation, 1,000 callers make one STS exchange", async () => {
  const credentials = await fromConfig(emulator.credentialConfig({ source: "file" }), {
    allow: { origins: emulator.allowOrigins },
    clock: emulatorClock(emulator),
  });
  await Promise.all(Array.from({ length: CALLERS }, () => credentials.getRequestHeaders()));
  expect(emulator.counters.get("sts.token")).toBe(1);
  expect(emulator.counters.get("iam.generateAccessToken")).toBe(0);
});
