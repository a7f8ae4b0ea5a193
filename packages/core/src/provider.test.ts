import { describe, expect, it } from "vitest";
import { SourceUnavailableError, WifError } from "./errors.js";
import { chain } from "./provider.js";

describe("chain", () => {
  it("moves past sources that do not apply and returns the first value", async () => {
    const calls: string[] = [];
    const provider = chain<string>(
      async () => {
        calls.push("env");
        throw new SourceUnavailableError("AWS_ACCESS_KEY_ID is not set.");
      },
      async () => {
        calls.push("imds");
        return "from-imds";
      },
      async () => {
        calls.push("never");
        return "unused";
      },
    );
    await expect(provider()).resolves.toBe("from-imds");
    expect(calls).toEqual(["env", "imds"]);
  });

  it("stops at a source that applies and fails", async () => {
    const provider = chain<string>(
      async () => {
        throw new WifError("IMDS answered 500.", { code: "ERR_WIF_IMDS" });
      },
      async () => "unreached",
    );
    await expect(provider()).rejects.toMatchObject({ code: "ERR_WIF_IMDS" });
  });

  it("lists every skipped source when none applies", async () => {
    const provider = chain<string>(
      async () => {
        throw new SourceUnavailableError("No env vars.");
      },
      async () => {
        throw new SourceUnavailableError("Not on EC2.");
      },
    );
    const error = await provider().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect((error as WifError).code).toBe("ERR_WIF_NO_SOURCE");
    expect((error as WifError).message).toContain("No env vars. Not on EC2.");
  });
});
