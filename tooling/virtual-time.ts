/**
 * Virtual time for tests: a clock and a sleep that only move when the test says so, passed through the
 * `clock` and `sleep` seams of @wifkit/core. Retry, backoff, Retry-After and deadline tests run on it:
 * no test waits on real seconds and none asserts on elapsed wall time. Shared by the packages' tests
 * (imported by relative path; it is not published).
 */
import type { Clock, Sleep } from "@wifkit/core";

interface Timer {
  at: number;
  ms: number;
  resolve(): void;
}

export interface VirtualTime {
  clock: Clock;
  sleep: Sleep;
  /** Current virtual time, ms since the epoch. */
  now(): number;
  /** Every sleep ever requested, in ms, in order: what a retry schedule looked like. */
  readonly sleeps: number[];
  /** The durations (ms) of the sleeps still waiting. */
  pending(): number[];
  /** Moves time forward by `ms`, waking every sleep that falls due on the way, in order. */
  advance(ms: number): Promise<void>;
  /** Moves time to the earliest pending sleep (shorter than `below`, if given) and wakes it; false when none. */
  next(below?: number): Promise<boolean>;
  /**
   * Wakes sleeps one after another until `promise` settles, letting real I/O run in between, and returns
   * its outcome. With `below`, only sleeps shorter than that are woken (backoff waits, never a 10 s attempt
   * timeout while a real server is answering). Bounded: at most `maxSteps` steps.
   */
  run<T>(promise: Promise<T>, options?: { below?: number; maxSteps?: number }): Promise<T>;
  /** Sets the clock without waking anything: a jump of the system clock. */
  set(ms: number): void;
}

/** Lets queued callbacks and ready I/O run: a few turns of the real event loop. */
export async function tick(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function virtualTime(start = Date.UTC(2030, 0, 1)): VirtualTime {
  let time = start;
  const timers: Timer[] = [];
  const sleeps: number[] = [];

  const sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      sleeps.push(ms);
      const timer: Timer = {
        at: time + Math.max(0, ms),
        ms,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        timers.splice(timers.indexOf(timer), 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      timers.push(timer);
    });

  async function wakeDue(): Promise<void> {
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const first = timers[0];
      if (!first || first.at > time) return;
      timers.shift();
      first.resolve();
      await tick();
    }
  }

  const vt: VirtualTime = {
    clock: { now: () => time },
    sleep,
    now: () => time,
    sleeps,
    pending: () => timers.map((timer) => timer.ms),
    async advance(ms) {
      const target = time + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const first = timers[0];
        if (!first || first.at > target) break;
        time = Math.max(time, first.at);
        await wakeDue();
      }
      time = target;
      await tick();
    },
    async next(below = Number.POSITIVE_INFINITY) {
      await tick();
      timers.sort((a, b) => a.at - b.at);
      const first = timers[0];
      if (!first || first.ms >= below) return false;
      time = Math.max(time, first.at);
      await wakeDue();
      return true;
    },
    async run(promise, { below, maxSteps = 1_000 } = {}) {
      let settled = false;
      const watched = promise.finally(() => {
        settled = true;
      });
      watched.catch(() => {});
      for (let step = 0; step < maxSteps && !settled; step++) {
        await tick();
        if (settled) break;
        if (!(await vt.next(below))) {
          // Nothing to wake: real I/O is in flight. Give it real (bounded) time.
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      if (!settled) throw new Error(`virtualTime.run: still pending after ${maxSteps} steps`);
      return watched;
    },
    set(ms) {
      time = ms;
    },
  };
  return vt;
}
