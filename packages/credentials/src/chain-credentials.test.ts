import { SourceUnavailableError, type Token, WifError } from "@wifkit/core";
import { describe, expect, it } from "vitest";
import { chainCredentials } from "./chain-credentials.js";
import type { Credentials } from "./credentials.js";

/** A credential whose answers the test scripts: a value, "not here", or a hard failure. */
function scripted(name: string, answers: Array<"token" | "not here" | "fails">) {
  const calls: string[] = [];
  const next = async (): Promise<Token> => {
    calls.push(name);
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (answer === "not here") throw new SourceUnavailableError(`${name}: not here.`);
    if (answer === "fails") throw new WifError(`${name} failed.`, { code: "ERR_WIF_TEST_FAILED" });
    return { value: `${name}-token`, expiresAt: new Date(Date.now() + 3_600_000), type: "access_token" };
  };
  const credential: Credentials = {
    type: "external_account",
    principal: { kind: "federated", audience: name, description: `federated identity from ${name}` },
    quotaProjectId: `${name}-project`,
    universeDomain: "googleapis.com",
    getAccessToken: next,
    getIdToken: next,
    getRequestHeaders: async () => ({ Authorization: `Bearer ${(await next()).value}` }),
    peekAccessToken: () => ({
      value: `${name}-peeked`,
      expiresAt: new Date(Date.now() + 1),
      type: "access_token",
    }),
  };
  return { credential, calls };
}

describe("chainCredentials", () => {
  it("settles on the first link that applies and goes straight to it afterwards", async () => {
    const aws = scripted("aws", ["not here"]);
    const azure = scripted("azure", ["token"]);
    const file = scripted("file", ["token"]);
    const chained = chainCredentials(aws.credential, azure.credential, file.credential);
    expect(chained.activeLink()).toBeUndefined();
    expect(chained.peekAccessToken()).toBeUndefined();
    expect(chained.principal.description).toBe(
      "the first that applies of: federated identity from aws; federated identity from azure; federated identity from file",
    );
    await expect(chained.getAccessToken()).resolves.toMatchObject({ value: "azure-token" });
    expect(await chained.getRequestHeaders()).toEqual({ Authorization: "Bearer azure-token" });
    await expect(chained.getIdToken({ audience: "https://svc" })).resolves.toMatchObject({
      value: "azure-token",
    });
    expect(aws.calls).toEqual(["aws"]);
    expect(file.calls).toEqual([]);
    expect(chained.activeLink()).toBe(azure.credential);
    expect(chained.principal.audience).toBe("azure");
    expect(chained.quotaProjectId).toBe("azure-project");
    expect(chained.peekAccessToken()?.value).toBe("azure-peeked");
  });

  it("stops at a link that applies and fails, without trying the next", async () => {
    const aws = scripted("aws", ["fails"]);
    const file = scripted("file", ["token"]);
    await expect(chainCredentials(aws.credential, file.credential).getAccessToken()).rejects.toMatchObject({
      code: "ERR_WIF_TEST_FAILED",
    });
    expect(file.calls).toEqual([]);
  });

  it("looks again from the first link when the remembered one stops applying", async () => {
    const aws = scripted("aws", ["not here", "token"]);
    const file = scripted("file", ["token", "not here"]);
    const chained = chainCredentials(aws.credential, file.credential);
    await expect(chained.getAccessToken()).resolves.toMatchObject({ value: "file-token" });
    await expect(chained.getAccessToken()).resolves.toMatchObject({ value: "aws-token" });
    expect(chained.activeLink()).toBe(aws.credential);
  });

  it("says 'not here' itself when no link applies, listing each, so chains nest", async () => {
    const error = await chainCredentials(
      scripted("aws", ["not here"]).credential,
      scripted("azure", ["not here"]).credential,
    )
      .getAccessToken()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({
      code: "ERR_WIF_NO_SOURCE",
      message: expect.stringContaining("aws: not here. azure: not here."),
    });
  });

  it("refuses an empty chain, naming the option", () => {
    expect(() => chainCredentials()).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "links" }),
    );
  });
});
