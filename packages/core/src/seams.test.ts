import { describe, expect, it } from "vitest";
import { durationOption, systemSleep } from "./seams.js";

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
