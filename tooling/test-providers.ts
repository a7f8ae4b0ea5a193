/**
 * Test-only seams shared by the packages' tests (imported by relative path; not published): a clock the test
 * moves by hand, and a provider whose fetches the test settles one by one.
 */
import type { ProviderOptions } from "@wifkit/core";

export interface FakeClock {
  now(): number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function fakeClock(start = Date.UTC(2030, 0, 1)): FakeClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
    set: (ms) => {
      time = ms;
    },
  };
}

export interface TestToken {
  value: string;
  expiresAt: Date;
}

export interface PendingFetch {
  options: ProviderOptions;
  resolve(token: TestToken): void;
  reject(error: unknown): void;
}

/** A provider that records every call and leaves it pending until the test settles it. */
export function controlledProvider() {
  const fetches: PendingFetch[] = [];
  const provider = (options: ProviderOptions = {}) =>
    new Promise<TestToken>((resolve, reject) => {
      fetches.push({ options, resolve, reject });
    });
  const last = (): PendingFetch => {
    const fetch = fetches.at(-1);
    if (!fetch) throw new Error("no fetch has started");
    return fetch;
  };
  return { provider, fetches, last };
}

/** Lets queued promise callbacks run (the memoized provider starts fetches a microtask after a call). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export const MINUTE = 60_000;
