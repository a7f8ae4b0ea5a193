import { describe, expect, it } from "vitest";
import { durationOption, systemSleep, timeoutSignal } from "./seams.js";

describe("systemSleep", () => {
  it("rejects with the signal's reason as soon as it aborts", async () => {
    const controller = new AbortController();
    const sleeping = systemSleep(60_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow("stop");
  });

  it("rejects at once for a signal that has already aborted", async () => {
    await expect(systemSleep(60_000, AbortSignal.abort(new Error("gone")))).rejects.toThrow("gone");
  });
});

describe("durationOption", () => {
  it("names the option in an ERR_WIF_INVALID_OPTION for a value no timer can hold", () => {
    expect(() => durationOption(2 ** 31, 1, "timeoutMs")).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "timeoutMs" }),
    );
    expect(durationOption(undefined, 5, "timeoutMs")).toBe(5);
  });
});

describe("timeoutSignal", () => {
  it("aborts on its own timer, and on the caller's signal, and clear() stops both", async () => {
    const timed = timeoutSignal(5);
    await new Promise((resolve) => timed.signal.addEventListener("abort", resolve, { once: true }));
    expect(timed.timedOut()).toBe(true);
    expect((timed.signal.reason as Error).name).toBe("TimeoutError");

    const caller = new AbortController();
    const linked = timeoutSignal(60_000, caller.signal);
    caller.abort(new Error("stop"));
    expect(linked.signal.aborted).toBe(true);
    expect(linked.timedOut()).toBe(false);
    linked.clear();

    const cleared = timeoutSignal(60_000, caller.signal);
    cleared.clear();
    expect(cleared.signal.aborted).toBe(true); // the caller had already aborted
  });
});
