import { describe, expect, it } from "vitest";
import type { TestToken } from "../../../tooling/test-providers.js";
import { controlledProvider, fakeClock, MINUTE, settle } from "../../../tooling/test-providers.js";
import { virtualTime } from "../../../tooling/virtual-time.js";
import { isWifError } from "./errors.js";
import type { RefreshErrorEvent, RefreshEvent } from "./memoize.js";
import { DEFAULT_REFRESH_BEFORE_MS, memoize } from "./memoize.js";
import type { ProviderOptions } from "./provider.js";

function tokenAt(value: string, expiresAtMs: number): TestToken {
  return { value, expiresAt: new Date(expiresAtMs) };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isWifError(error) ? error.code : `not a WifError: ${String(error)}`;
  }
}

describe("memoize: single flight", () => {
  it("serves 1,000 concurrent callers on a cold cache with one fetch", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock });

    const calls = Array.from({ length: 1000 }, () => cached());
    await settle();
    expect(fetches).toHaveLength(1);
    last().resolve(tokenAt("t1", clock.now() + 60 * MINUTE));

    const tokens = await Promise.all(calls);
    expect(new Set(tokens.map((token) => token.value))).toEqual(new Set(["t1"]));
    expect(fetches).toHaveLength(1);

    // Later calls are answered from memory.
    await Promise.all(Array.from({ length: 100 }, () => cached()));
    expect(fetches).toHaveLength(1);
  });

  it("remembers a failure for the backoff: callers get the error at once, and the next call after it fetches", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock, retryBackoffMs: 1_000 });

    const calls = Array.from({ length: 10 }, () => cached());
    await settle();
    last().reject(new Error("upstream down"));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.every((outcome) => outcome.status === "rejected")).toBe(true);
    expect(fetches).toHaveLength(1);

    // An outage costs the upstream one attempt per backoff step, however many callers poll.
    for (let i = 0; i < 50; i++) await expect(cached()).rejects.toThrow("upstream down");
    expect(fetches).toHaveLength(1);

    clock.advance(1_000);
    const retry = cached();
    await settle();
    expect(fetches).toHaveLength(2);
    last().resolve(tokenAt("t2", clock.now() + 60 * MINUTE));
    expect((await retry).value).toBe("t2");
  });
});

describe("memoize: refresh ahead of expiry", () => {
  it("refreshes once in the background after the refresh point while callers keep the old token", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock });
    const first = cached();
    await settle();
    const expiresAt = clock.now() + 60 * MINUTE;
    last().resolve(tokenAt("old", expiresAt));
    await first;

    // Just before the refresh point: no fetch.
    clock.set(expiresAt - DEFAULT_REFRESH_BEFORE_MS - 1);
    expect((await cached()).value).toBe("old");
    expect(fetches).toHaveLength(1);

    // Past it: callers get the old token at once although the new fetch has not answered.
    clock.set(expiresAt - DEFAULT_REFRESH_BEFORE_MS + 1);
    const herd = await Promise.all(Array.from({ length: 1000 }, () => cached()));
    expect(herd.every((token) => token.value === "old")).toBe(true);
    expect(fetches).toHaveLength(2);

    last().resolve(tokenAt("new", clock.now() + 60 * MINUTE));
    await settle();
    expect((await cached()).value).toBe("new");
    expect(fetches).toHaveLength(2);
  });

  it("refreshes short-lived tokens at half their lifetime instead of on every call", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock });
    const first = cached();
    await settle();
    const fetchedAt = clock.now();
    last().resolve(tokenAt("short", fetchedAt + 4 * MINUTE));
    await first;

    clock.set(fetchedAt + 2 * MINUTE - 1);
    await cached();
    expect(fetches).toHaveLength(1);
    clock.set(fetchedAt + 2 * MINUTE);
    expect((await cached()).value).toBe("short");
    expect(fetches).toHaveLength(2);
  });

  it("honours refreshBeforeMs", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock, refreshBeforeMs: 10 * MINUTE });
    const first = cached();
    await settle();
    const expiresAt = clock.now() + 60 * MINUTE;
    last().resolve(tokenAt("t", expiresAt));
    await first;

    clock.set(expiresAt - 10 * MINUTE - 1);
    await cached();
    expect(fetches).toHaveLength(1);
    clock.set(expiresAt - 10 * MINUTE);
    await cached();
    expect(fetches).toHaveLength(2);
  });

  it("blocks on a fresh fetch once the token has expired", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock });
    const first = cached();
    await settle();
    const expiresAt = clock.now() + 60 * MINUTE;
    last().resolve(tokenAt("old", expiresAt));
    await first;

    clock.set(expiresAt);
    expect(cached.peek()).toBeUndefined();
    let answered = false;
    const blocked = cached().then((token) => {
      answered = true;
      return token;
    });
    await settle();
    expect(answered).toBe(false);
    expect(fetches).toHaveLength(2);
    last().resolve(tokenAt("new", clock.now() + 60 * MINUTE));
    expect((await blocked).value).toBe("new");
  });
});

describe("memoize: failures during background refresh", () => {
  it("keeps serving the valid token, reports the failure, and never returns it once expired", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const errors: RefreshErrorEvent[] = [];
    const cached = memoize(provider, {
      clock,
      retryBackoffMs: 1_000,
      onError: (event) => errors.push(event),
    });
    const first = cached();
    await settle();
    const expiresAt = clock.now() + 60 * MINUTE;
    last().resolve(tokenAt("valid", expiresAt));
    await first;

    clock.set(expiresAt - 4 * MINUTE);
    expect((await cached()).value).toBe("valid");
    expect(fetches).toHaveLength(2);
    last().reject(new Error("503 from upstream"));
    await settle();

    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: "background", consecutiveFailures: 1, servingCachedToken: true });
    expect(errors[0]?.retryAt.getTime()).toBe(clock.now() + 1_000);
    // Still served, and no new attempt before the backoff has passed.
    expect((await cached()).value).toBe("valid");
    expect(cached.peek()?.value).toBe("valid");
    expect(fetches).toHaveLength(2);

    // After expiry: callers block, get the fetch's error, and never the expired token.
    clock.set(expiresAt + 1);
    const afterExpiry = cached();
    await settle();
    expect(fetches).toHaveLength(3);
    last().reject(new Error("still down"));
    await expect(afterExpiry).rejects.toThrow("still down");
    expect(cached.peek()).toBeUndefined();
    expect(errors.at(-1)).toMatchObject({ kind: "blocking", servingCachedToken: false });

    // Within the backoff the error is repeated without a fetch; a forced refresh goes through at once.
    await expect(cached()).rejects.toThrow("still down");
    expect(fetches).toHaveLength(3);
    clock.set(errors.at(-1)?.retryAt.getTime() ?? 0);
    const recovered = cached();
    await settle();
    last().resolve(tokenAt("fresh", clock.now() + 60 * MINUTE));
    expect((await recovered).value).toBe("fresh");
  });

  it("spaces background retries with doubling, bounded backoff and resets it after a success", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, {
      clock,
      retryBackoffMs: 1_000,
      maxRetryBackoffMs: 8_000,
      refreshBeforeMs: 5 * MINUTE,
    });
    const first = cached();
    await settle();
    const expiresAt = clock.now() + 60 * MINUTE;
    last().resolve(tokenAt("valid", expiresAt));
    await first;

    // Call every 250 ms through the first 60 s of the refresh window; every attempt fails.
    const attemptTimes: number[] = [];
    const windowStart = expiresAt - 5 * MINUTE;
    for (let step = 0; step <= 240; step++) {
      clock.set(windowStart + step * 250);
      const before = fetches.length;
      expect((await cached()).value).toBe("valid");
      if (fetches.length > before) {
        attemptTimes.push(clock.now() - windowStart);
        last().reject(new Error("down"));
        await settle();
      }
    }
    const gaps = attemptTimes.slice(1).map((time, i) => time - (attemptTimes[i] ?? 0));
    expect(gaps.slice(0, 4)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(gaps.length).toBeGreaterThanOrEqual(8);
    expect(gaps.slice(3).every((gap) => gap === 8_000)).toBe(true);

    // A success resets the backoff: the next failure waits the initial 1 s again.
    const lastAttempt = attemptTimes.at(-1) ?? 0;
    clock.set(windowStart + lastAttempt + 8_000);
    await cached();
    last().resolve(tokenAt("renewed", clock.now() + 6 * MINUTE));
    await settle();
    expect((await cached()).value).toBe("renewed");
    const renewedAt = clock.now();
    clock.set(renewedAt + 3 * MINUTE);
    await cached();
    last().reject(new Error("down again"));
    await settle();
    const count = fetches.length;
    clock.set(renewedAt + 3 * MINUTE + 999);
    await cached();
    expect(fetches).toHaveLength(count);
    clock.set(renewedAt + 3 * MINUTE + 1_000);
    await cached();
    expect(fetches).toHaveLength(count + 1);
  });
});

describe("memoize: forceRefresh", () => {
  it("fetches a new token even when one is cached, coalescing concurrent forced calls", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock });
    const first = cached();
    await settle();
    last().resolve(tokenAt("old", clock.now() + 60 * MINUTE));
    await first;

    const forced = Array.from({ length: 20 }, () => cached({ forceRefresh: true }));
    await settle();
    expect(fetches).toHaveLength(2);
    expect(last().options.forceRefresh).toBe(true);
    // Plain callers are not held up by the forced fetch.
    expect((await cached()).value).toBe("old");
    last().resolve(tokenAt("forced", clock.now() + 60 * MINUTE));
    expect((await Promise.all(forced)).every((token) => token.value === "forced")).toBe(true);
    expect((await cached()).value).toBe("forced");
  });

  it("does not join a background refresh that started before it", async () => {
    const clock = fakeClock();
    const { provider, fetches } = controlledProvider();
    const cached = memoize(provider, { clock });
    const first = cached();
    await settle();
    const expiresAt = clock.now() + 60 * MINUTE;
    fetches[0]?.resolve(tokenAt("old", expiresAt));
    await first;

    clock.set(expiresAt - MINUTE);
    await cached(); // starts the background refresh
    const forced = cached({ forceRefresh: true });
    await settle();
    expect(fetches).toHaveLength(3);
    expect(fetches[1]?.options.forceRefresh).toBeUndefined();
    expect(fetches[2]?.options.forceRefresh).toBe(true);

    fetches[2]?.resolve(tokenAt("forced", clock.now() + 60 * MINUTE));
    expect((await forced).value).toBe("forced");
    // The older background fetch answering later does not overwrite the newer forced token.
    fetches[1]?.resolve(tokenAt("background", clock.now() + 60 * MINUTE));
    await settle();
    expect((await cached()).value).toBe("forced");
  });

  it("keeps the cached token when a forced refresh fails", async () => {
    const clock = fakeClock();
    const { provider, last } = controlledProvider();
    const cached = memoize(provider, { clock });
    const first = cached();
    await settle();
    last().resolve(tokenAt("old", clock.now() + 60 * MINUTE));
    await first;

    const forced = cached({ forceRefresh: true });
    await settle();
    last().reject(new Error("denied"));
    await expect(forced).rejects.toThrow("denied");
    expect((await cached()).value).toBe("old");
  });
});

describe("memoize: cancellation and timeouts", () => {
  it("ends only the aborted caller's wait; the shared fetch continues for the others", async () => {
    const clock = fakeClock();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock });
    const controller = new AbortController();
    const aborted = cached({ signal: controller.signal });
    const other = cached();
    await settle();
    expect(fetches).toHaveLength(1);

    controller.abort(new Error("caller went away"));
    expect(await codeOf(aborted)).toBe("ERR_WIF_ABORTED");
    expect(last().options.signal?.aborted).toBe(false);

    last().resolve(tokenAt("shared", clock.now() + 60 * MINUTE));
    expect((await other).value).toBe("shared");
    expect(fetches).toHaveLength(1);
  });

  it("rejects an already aborted call without fetching", async () => {
    const { provider, fetches } = controlledProvider();
    const cached = memoize(provider, { clock: fakeClock() });
    expect(await codeOf(cached({ signal: AbortSignal.abort() }))).toBe("ERR_WIF_ABORTED");
    expect(fetches).toHaveLength(0);
  });

  it("abandons a fetch that never answers after timeoutMs and aborts the provider's signal", async () => {
    const time = virtualTime();
    const { provider, fetches, last } = controlledProvider();
    const cached = memoize(provider, { clock: time.clock, sleep: time.sleep, timeoutMs: 30_000 });
    const first = codeOf(cached());
    await time.advance(29_999);
    expect(last().options.signal?.aborted).toBe(false);
    await time.advance(1);
    expect(await first).toBe("ERR_WIF_TIMEOUT");
    expect(last().options.signal?.aborted).toBe(true);

    const next = cached({ forceRefresh: true });
    await settle();
    expect(fetches).toHaveLength(2);
    last().resolve(tokenAt("t", time.now() + 60 * MINUTE));
    expect((await next).value).toBe("t");
  });
});

describe("memoize: validation, invalidate and hooks", () => {
  it("refuses a token that is already expired or has no expiry", async () => {
    const clock = fakeClock();
    const expired = memoize(async () => tokenAt("stale", clock.now() - 1), { clock });
    expect(await codeOf(expired())).toBe("ERR_WIF_TOKEN_EXPIRED");
    const undated = memoize(async () => ({ value: "x" }) as unknown as TestToken, { clock });
    expect(await codeOf(undated())).toBe("ERR_WIF_TOKEN_INVALID");
  });

  it("invalidate() drops the token so the next call fetches", async () => {
    const clock = fakeClock();
    let count = 0;
    const cached = memoize(async () => tokenAt(`t${++count}`, clock.now() + 60 * MINUTE), { clock });
    expect((await cached()).value).toBe("t1");
    cached.invalidate();
    expect(cached.peek()).toBeUndefined();
    expect((await cached()).value).toBe("t2");
  });

  it("passes events to hooks and survives hooks that throw", async () => {
    const clock = fakeClock();
    const events: RefreshEvent<TestToken>[] = [];
    let fail = false;
    const provider = async (_options?: ProviderOptions) => {
      if (fail) throw new Error("boom");
      return tokenAt("t", clock.now() + 60 * MINUTE);
    };
    const cached = memoize(provider, {
      clock,
      onRefresh: (event) => {
        events.push(event);
        throw new Error("broken metrics");
      },
      onError: () => {
        throw new Error("broken metrics");
      },
    });
    expect((await cached()).value).toBe("t");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "blocking", durationMs: 0 });
    expect(events[0]?.refreshAt.getTime()).toBe(clock.now() + 55 * MINUTE);
    fail = true;
    await expect(cached({ forceRefresh: true })).rejects.toThrow("boom");
    expect((await cached()).value).toBe("t");
  });

  it("rejects nonsensical options when it is created", () => {
    const provider = async () => tokenAt("t", 0);
    for (const [options, field] of [
      [{ refreshBeforeMs: -1 }, "refreshBeforeMs"],
      [{ timeoutMs: 0 }, "timeoutMs"],
      [{ retryBackoffMs: Number.NaN }, "retryBackoffMs"],
    ] as const) {
      expect(() => memoize(provider, options)).toThrow(
        expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field }),
      );
    }
  });

  it("caches a value that never expires (static keys) until a forced refresh", async () => {
    const clock = fakeClock();
    let fetched = 0;
    const keys = memoize(async () => ({ accessKeyId: `AKID${++fetched}` }), {
      clock,
      expiresAt: () => undefined,
    });
    expect((await keys()).accessKeyId).toBe("AKID1");
    clock.advance(365 * 24 * 60 * MINUTE);
    expect((await keys()).accessKeyId).toBe("AKID1");
    expect((await keys({ forceRefresh: true })).accessKeyId).toBe("AKID2");
    expect(fetched).toBe(2);
  });
});
