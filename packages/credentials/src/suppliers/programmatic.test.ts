import { chain, SourceUnavailableError, SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { describe, expect, it } from "vitest";
import { fromSupplier } from "./programmatic.js";

describe("fromSupplier", () => {
  it("wraps a function returning a string or a token with an expiry", async () => {
    const expiresAt = new Date("2030-01-01T00:00:00Z");
    await expect(
      fromSupplier({ type: SUBJECT_TOKEN_TYPES.jwt, getSubjectToken: () => "abc" })(),
    ).resolves.toEqual({
      token: "abc",
      type: SUBJECT_TOKEN_TYPES.jwt,
      expiresAt: undefined,
    });
    await expect(
      fromSupplier({
        type: SUBJECT_TOKEN_TYPES.saml2,
        getSubjectToken: async () => ({ token: "s", expiresAt }),
      })(),
    ).resolves.toEqual({ token: "s", type: SUBJECT_TOKEN_TYPES.saml2, expiresAt });
  });

  it("passes the caller's signal to the user's code", async () => {
    const controller = new AbortController();
    let received: AbortSignal | undefined;
    await fromSupplier({
      type: SUBJECT_TOKEN_TYPES.jwt,
      getSubjectToken: ({ signal }) => {
        received = signal;
        return "t";
      },
    })({ signal: controller.signal });
    expect(received).toBe(controller.signal);
  });

  it("wraps what the user's code throws, keeping it as the cause", async () => {
    const thrown = new Error("vault sealed");
    const error = await fromSupplier({
      type: SUBJECT_TOKEN_TYPES.jwt,
      name: "the vault supplier",
      getSubjectToken: () => {
        throw thrown;
      },
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_SUPPLIER_FAILED", cause: thrown });
    expect((error as Error).message).toContain("The vault supplier failed");
  });

  it("lets SourceUnavailableError through so a chain moves on", async () => {
    const supplier = chain(
      fromSupplier({
        type: SUBJECT_TOKEN_TYPES.jwt,
        getSubjectToken: () => {
          throw new SourceUnavailableError("Not in CI.");
        },
      }),
      fromSupplier({ type: SUBJECT_TOKEN_TYPES.jwt, getSubjectToken: () => "second" }),
    );
    await expect(supplier()).resolves.toMatchObject({ token: "second" });
  });

  it("rejects an empty token", async () => {
    const error = await fromSupplier({ type: SUBJECT_TOKEN_TYPES.jwt, getSubjectToken: () => " " })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_SUBJECT_TOKEN_EMPTY" });
  });
});
