import type { ProviderOptions, RefreshEvent } from "@wifkit/core";
import { describe, expect, it } from "vitest";
import type { TestToken } from "../../../tooling/test-providers.js";
import { fakeClock, MINUTE, settle } from "../../../tooling/test-providers.js";
import { canonicalKey, createKeyedCache } from "./keyed-cache.js";

/** A loader that counts fetches per key and answers after a microtask. */
function countingLoader(clock: { now(): number }) {
  const loads = new Map<string, number>();
  const load = async (key: string, _options: ProviderOptions): Promise<TestToken> => {
    const count = (loads.get(key) ?? 0) + 1;
    loads.set(key, count);
    await Promise.resolve();
    return { value: `${key}#${count}`, expiresAt: new Date(clock.now() + 60 * MINUTE) };
  };
  return { load, loads };
}

describe("createKeyedCache", () => {
  it("keeps one single-flight token per key", async () => {
    const clock = fakeClock();
    const { load, loads } = countingLoader(clock);
    const cache = createKeyedCache({ load, clock });

    const herd = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => cache.get(i % 2 === 0 ? "aud-a" : "aud-b")),
    );
    expect(loads).toEqual(
      new Map([
        ["aud-a", 1],
        ["aud-b", 1],
      ]),
    );
    expect(herd[0]?.value).toBe("aud-a#1");
    expect(herd[1]?.value).toBe("aud-b#1");
    expect(cache.size).toBe(2);
    expect(cache.peek("aud-a")?.value).toBe("aud-a#1");
    expect(cache.peek("unknown")).toBeUndefined();
  });

  it("evicts the least recently used key beyond maxEntries", async () => {
    const clock = fakeClock();
    const { load, loads } = countingLoader(clock);
    const cache = createKeyedCache({ load, clock, maxEntries: 2 });

    await cache.get("a");
    await cache.get("b");
    await cache.get("a"); // "b" is now the least recently used
    await cache.get("c");
    expect(cache.size).toBe(2);
    expect(cache.peek("b")).toBeUndefined();

    await cache.get("a");
    await cache.get("c");
    expect(loads.get("a")).toBe(1);
    expect(loads.get("c")).toBe(1);
    expect((await cache.get("b")).value).toBe("b#2");
  });

  it("normalises keys through keyOf, so a scope set matches in any order", async () => {
    const clock = fakeClock();
    let loadCount = 0;
    const cache = createKeyedCache({
      clock,
      load: async (scopes: Set<string>) => {
        loadCount += 1;
        return { value: [...scopes].join(" "), expiresAt: new Date(clock.now() + 60 * MINUTE) };
      },
    });
    const first = await cache.get(new Set(["email", "cloud-platform"]));
    const second = await cache.get(new Set(["cloud-platform", "email"]));
    expect(second).toBe(first);
    expect(loadCount).toBe(1);

    const byLowercase = createKeyedCache({
      clock,
      keyOf: (audience: string) => audience.toLowerCase(),
      load: async (audience: string) => ({ value: audience, expiresAt: new Date(clock.now() + MINUTE) }),
    });
    await byLowercase.get("HTTPS://Example.com");
    expect(byLowercase.peek("https://example.com")?.value).toBe("HTTPS://Example.com");
  });

  it("delete() and clear() forget keys so the next get loads again", async () => {
    const clock = fakeClock();
    const { load, loads } = countingLoader(clock);
    const cache = createKeyedCache({ load, clock });
    await cache.get("a");
    await cache.get("b");
    expect(cache.delete("a")).toBe(true);
    expect(cache.delete("a")).toBe(false);
    await cache.get("a");
    expect(loads.get("a")).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
    await cache.get("b");
    expect(loads.get("b")).toBe(2);
  });

  it("refreshes each key ahead of its own expiry and tells hooks which key", async () => {
    const clock = fakeClock();
    const { load, loads } = countingLoader(clock);
    const events: RefreshEvent<TestToken>[] = [];
    const cache = createKeyedCache({ load, clock, onRefresh: (event) => events.push(event) });
    await cache.get("a");
    clock.advance(56 * MINUTE);
    expect((await cache.get("a")).value).toBe("a#1");
    await settle();
    expect(loads.get("a")).toBe(2);
    expect((await cache.get("a")).value).toBe("a#2");
    expect(events.map((event) => [event.key, event.kind])).toEqual([
      [canonicalKey("a"), "blocking"],
      [canonicalKey("a"), "background"],
    ]);
  });

  it("passes forceRefresh and the fetch's signal to load", async () => {
    const clock = fakeClock();
    const seen: ProviderOptions[] = [];
    const cache = createKeyedCache({
      clock,
      load: async (_key: string, options: ProviderOptions) => {
        seen.push(options);
        return { value: "v", expiresAt: new Date(clock.now() + MINUTE) };
      },
    });
    await cache.get("k");
    await cache.get("k", { forceRefresh: true });
    expect(seen.map((options) => options.forceRefresh === true)).toEqual([false, true]);
    expect(seen.every((options) => options.signal instanceof AbortSignal)).toBe(true);
  });

  it("rejects a maxEntries below one", () => {
    expect(() => createKeyedCache({ load: async () => ({ expiresAt: new Date() }), maxEntries: 0 })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "maxEntries" }),
    );
  });
});

describe("canonicalKey", () => {
  it("ignores property order and Set order but keeps array order", () => {
    expect(canonicalKey({ b: 1, a: [1, 2] })).toBe(canonicalKey({ a: [1, 2], b: 1, c: undefined }));
    expect(canonicalKey(new Set(["x", "y"]))).toBe(canonicalKey(new Set(["y", "x"])));
    expect(canonicalKey(["x", "y"])).not.toBe(canonicalKey(["y", "x"]));
    expect(canonicalKey("1")).not.toBe(canonicalKey(1));
    expect(canonicalKey({ a: "b" })).not.toBe(canonicalKey(new Map([["a", "b"]])));
  });

  it("refuses keys it cannot describe stably", () => {
    expect(() => canonicalKey(() => 1)).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "key" }),
    );
    expect(() => canonicalKey(new (class Custom {})())).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "key" }),
    );
    const deep: unknown[] = [];
    let cursor = deep;
    for (let i = 0; i < 40; i++) {
      const next: unknown[] = [];
      cursor.push(next);
      cursor = next;
    }
    expect(() => canonicalKey(deep)).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "key" }),
    );
  });
});
