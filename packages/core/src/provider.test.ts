import { describe, expect, it } from "vitest";
import { isSourceUnavailable, SourceUnavailableError, WifError } from "./errors.js";
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

  it("moves past a 'not here' thrown by another copy of this package (no instanceof)", async () => {
    // What a second installed copy of @wifkit/core throws: another class, the same flag.
    class ForeignSourceUnavailableError extends Error {
      readonly code = "ERR_WIF_SOURCE_UNAVAILABLE";
      readonly tryNextLink = true;
    }
    const provider = chain<string>(
      async () => {
        throw new ForeignSourceUnavailableError("Not on EC2 (older copy).");
      },
      async () => "from-file",
    );
    await expect(provider()).resolves.toBe("from-file");
    expect(isSourceUnavailable(new ForeignSourceUnavailableError("x"))).toBe(true);
    expect(isSourceUnavailable(new WifError("x", { code: "ERR_WIF_SOURCE_UNAVAILABLE" }))).toBe(false);
  });

  it("refuses to be built empty, naming the option", () => {
    expect(() => chain()).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "providers" }),
    );
  });
});
