import { describe, expect, it } from "vitest";
import { isSourceUnavailable, SourceUnavailableError, WifError } from "./errors.js";
import { chain, DEFAULT_UNAVAILABLE_FOR_MS, rememberUnavailable } from "./provider.js";

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

describe("rememberUnavailable", () => {
  function clockAt(start: number) {
    let now = start;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  }

  it("answers 'not here' from memory until the verdict expires, then looks again", async () => {
    const clock = clockAt(0);
    let probes = 0;
    const probe = rememberUnavailable<string>(
      async () => {
        probes++;
        throw new SourceUnavailableError("Not on EC2.");
      },
      { clock },
    );
    const first = await probe().catch((e: unknown) => e);
    expect(isSourceUnavailable(first)).toBe(true);
    clock.advance(DEFAULT_UNAVAILABLE_FOR_MS - 1);
    expect(await probe({ forceRefresh: true }).catch((e: unknown) => e)).toBe(first);
    expect(probes).toBe(1);
    clock.advance(1);
    await expect(probe()).rejects.toThrow("Not on EC2.");
    expect(probes).toBe(2);
  });

  it("lets a chain move past the remembered source to the next one without probing it again", async () => {
    let probes = 0;
    const notHere = rememberUnavailable<string>(async () => {
      probes++;
      throw new SourceUnavailableError("Not on Azure.");
    });
    const provider = chain(notHere, async () => "from-file");
    for (let call = 0; call < 3; call++) await expect(provider()).resolves.toBe("from-file");
    expect(probes).toBe(1);
  });

  it("remembers neither values nor failures of a source that applies", async () => {
    const clock = clockAt(0);
    const answers: Array<() => string> = [
      () => {
        throw new WifError("IMDS answered 500.", { code: "ERR_WIF_IMDS" });
      },
      () => "second",
      () => "third",
    ];
    const provider = rememberUnavailable(async () => (answers.shift() as () => string)(), { clock });
    await expect(provider()).rejects.toMatchObject({ code: "ERR_WIF_IMDS" });
    await expect(provider()).resolves.toBe("second");
    await expect(provider()).resolves.toBe("third");
  });

  it("refuses a negative lifetime, naming the option", () => {
    expect(() => rememberUnavailable(async () => 1, { forMs: -1 })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "forMs" }),
    );
  });
});
