import { describe, expect, it } from "vitest";
import { cacheCredentials } from "./cache.js";
import type { AwsCredentials } from "./types.js";

function movableClock(start: number) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const HOUR = 3600_000;

describe("cacheCredentials", () => {
  it("keeps temporary credentials until 5 minutes before they expire", async () => {
    const clock = movableClock(0);
    let calls = 0;
    const provider = cacheCredentials(
      async () => ({
        accessKeyId: `K${++calls}`,
        secretAccessKey: "s",
        expiration: new Date(clock.now() + HOUR),
      }),
      { clock },
    );
    expect((await provider()).accessKeyId).toBe("K1");
    clock.advance(HOUR - 5 * 60_000 - 1);
    expect((await provider()).accessKeyId).toBe("K1");
    clock.advance(1);
    expect((await provider()).accessKeyId).toBe("K2");
  });

  it("refreshes short-lived credentials at half their remaining life, not immediately", async () => {
    const clock = movableClock(0);
    let calls = 0;
    const provider = cacheCredentials(
      async () => ({
        accessKeyId: `K${++calls}`,
        secretAccessKey: "s",
        expiration: new Date(clock.now() + 4 * 60_000),
      }),
      { clock },
    );
    await provider();
    clock.advance(60_000);
    expect((await provider()).accessKeyId).toBe("K1");
    clock.advance(60_000);
    expect((await provider()).accessKeyId).toBe("K2");
  });

  it("merges concurrent fetches into one and honours forceRefresh", async () => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const provider = cacheCredentials(async (): Promise<AwsCredentials> => {
      calls++;
      await gate;
      return { accessKeyId: `K${calls}`, secretAccessKey: "s" };
    });
    const all = Promise.all([provider(), provider(), provider()]);
    release();
    expect((await all).map((credentials) => credentials.accessKeyId)).toEqual(["K1", "K1", "K1"]);
    expect(calls).toBe(1);
    expect((await provider()).accessKeyId).toBe("K1");
    expect((await provider({ forceRefresh: true })).accessKeyId).toBe("K2");
  });

  it("does not cache a failure", async () => {
    let calls = 0;
    const provider = cacheCredentials(async () => {
      calls++;
      if (calls === 1) throw new Error("boom");
      return { accessKeyId: "K", secretAccessKey: "s" };
    });
    await expect(provider()).rejects.toThrow("boom");
    await expect(provider()).resolves.toMatchObject({ accessKeyId: "K" });
  });

  it("lets one caller abort its wait without failing the others", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const provider = cacheCredentials(async () => {
      await gate;
      return { accessKeyId: "K", secretAccessKey: "s" };
    });
    const controller = new AbortController();
    const aborted = provider({ signal: controller.signal });
    const patient = provider();
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "ERR_WIF_ABORTED" });
    release();
    await expect(patient).resolves.toMatchObject({ accessKeyId: "K" });
  });
});
