/**
 * "Try the next source" survives two installed copies of @wifkit/core (normal while packages are upgraded
 * one at a time): a supplier built against one copy says "not here" with that copy's error class, and a
 * chain from another copy must still move on. Core is built twice from source into temporary directories,
 * so the test holds two genuinely separate module instances without any published package.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "tsup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Credentials, chain, chainCredentials, fromFile, SourceUnavailableError } from "../src/index.js";

type Core = typeof import("@wifkit/core");

const coreSource = fileURLToPath(new URL("../../core/src/index.ts", import.meta.url));
let work: string;
let copyA: Core;
let copyB: Core;

async function buildCore(name: string): Promise<Core> {
  const outDir = join(work, name);
  await build({
    config: false,
    entry: { core: coreSource },
    outDir,
    format: ["esm"],
    platform: "node",
    target: "node20",
    dts: false,
    sourcemap: false,
    silent: true,
  });
  return (await import(pathToFileURL(join(outDir, "core.js")).href)) as Core;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "wifkit-two-cores-"));
  [copyA, copyB] = await Promise.all([buildCore("a"), buildCore("b")]);
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("two copies of @wifkit/core", () => {
  it("are separate: a copy's error is no instance of the other copy's class", () => {
    const notHere = new copyA.SourceUnavailableError("Not on EC2 (copy A).");
    expect(notHere).not.toBeInstanceOf(copyB.SourceUnavailableError);
    expect(notHere).not.toBeInstanceOf(SourceUnavailableError);
  });

  it("chain(notHereFromCopyA, fileProvider) reaches the file provider, whichever copy's chain runs", async () => {
    const tokenFile = join(work, "token.jwt");
    await writeFile(tokenFile, "subject-token-from-file");
    const notHereFromCopyA = async (): Promise<never> => {
      throw new copyA.SourceUnavailableError("Not on EC2 (copy A).");
    };
    const file = fromFile({ path: tokenFile, type: "urn:ietf:params:oauth:token-type:jwt" });
    for (const chainOf of [copyB.chain, chain]) {
      await expect(chainOf(notHereFromCopyA, file)()).resolves.toMatchObject({
        token: "subject-token-from-file",
      });
    }
    // A hard error from copy A still stops the chain.
    const failsInCopyA = async (): Promise<never> => {
      throw new copyA.WifError("IMDS answered 500.", { code: "ERR_WIF_AWS_IMDS_FAILED" });
    };
    await expect(copyB.chain(failsInCopyA, file)()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_FAILED",
    });
  });

  it("chainCredentials moves past a link whose 'not here' comes from another copy", async () => {
    const fromCopyA = async (): Promise<never> => {
      throw new copyA.SourceUnavailableError("Not on Azure (copy A).");
    };
    const token = {
      value: "ya29.file",
      expiresAt: new Date(Date.now() + 3_600_000),
      type: "access_token" as const,
    };
    const link = (getAccessToken: () => Promise<typeof token>): Credentials => ({
      type: "external_account",
      principal: { kind: "federated", description: "a link" },
      quotaProjectId: undefined,
      universeDomain: "googleapis.com",
      getAccessToken,
      getIdToken: getAccessToken,
      getRequestHeaders: async () => ({ Authorization: `Bearer ${(await getAccessToken()).value}` }),
      peekAccessToken: () => undefined,
    });
    await expect(
      chainCredentials(
        link(fromCopyA),
        link(async () => token),
      ).getAccessToken(),
    ).resolves.toEqual(token);
  });
});
