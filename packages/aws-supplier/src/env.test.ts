import { SourceUnavailableError } from "@wifkit/core";
import { describe, expect, it } from "vitest";
import { fromEnv } from "./env.js";

describe("fromEnv", () => {
  it("reads the key pair and the session token", async () => {
    await expect(
      fromEnv({
        env: { AWS_ACCESS_KEY_ID: "ASIAENV", AWS_SECRET_ACCESS_KEY: "secret", AWS_SESSION_TOKEN: "session" },
      })(),
    ).resolves.toEqual({ accessKeyId: "ASIAENV", secretAccessKey: "secret", sessionToken: "session" });
  });

  it("reads the variables on every call", async () => {
    const env: Record<string, string> = { AWS_ACCESS_KEY_ID: "AKIA1", AWS_SECRET_ACCESS_KEY: "s1" };
    const provider = fromEnv({ env });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: "AKIA1" });
    env.AWS_ACCESS_KEY_ID = "AKIA2";
    await expect(provider()).resolves.toMatchObject({ accessKeyId: "AKIA2" });
  });

  it("does not apply when no key is set (blank counts as unset)", async () => {
    await expect(fromEnv({ env: { AWS_ACCESS_KEY_ID: " " } })()).rejects.toBeInstanceOf(
      SourceUnavailableError,
    );
  });

  it("stops with a clear error when only one half of the key pair is set", async () => {
    const error = await fromEnv({ env: { AWS_ACCESS_KEY_ID: "AKIAHALF" } })().catch(
      (caught: unknown) => caught,
    );
    expect(error).not.toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({
      code: "ERR_WIF_AWS_ENV_INCOMPLETE",
      message: expect.stringContaining("AWS_SECRET_ACCESS_KEY is not"),
    });
  });

  it("honours AWS_CREDENTIAL_EXPIRATION and refuses expired credentials", async () => {
    const base = { AWS_ACCESS_KEY_ID: "ASIA", AWS_SECRET_ACCESS_KEY: "s", AWS_SESSION_TOKEN: "t" };
    const clock = { now: () => Date.parse("2030-01-01T00:00:00Z") };
    await expect(
      fromEnv({ env: { ...base, AWS_CREDENTIAL_EXPIRATION: "2030-01-01T01:00:00Z" }, clock })(),
    ).resolves.toMatchObject({ expiration: new Date("2030-01-01T01:00:00Z") });
    await expect(
      fromEnv({ env: { ...base, AWS_CREDENTIAL_EXPIRATION: "2029-12-31T23:00:00Z" }, clock })(),
    ).rejects.toMatchObject({ code: "ERR_WIF_AWS_CREDENTIALS_EXPIRED" });
  });
});
