import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fromAzure } from "../src/index.js";
import type { FakeServer } from "./helpers/fake-server.js";
import { fakeAzureJwt, sendJson, startFakeServer } from "./helpers/fake-server.js";

const RESOURCE = "api://wifkit-test";
const KEY = "3f9a1c0d5e7b4a2f8c6d0e1f2a3b4c5d";
let server: FakeServer | undefined;
let root: string;
let tokens: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "wifkit-arc-"));
  tokens = path.join(root, "tokens");
  await mkdir(tokens);
  await writeFile(path.join(tokens, "challenge.key"), KEY, { mode: 0o600 });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(root, { recursive: true, force: true });
});

/** The Connected Machine agent: 401 + realm=PATH without the key, a token with it. */
async function startArc(realmPath: () => string, onAuthorized?: (index: number) => [number, unknown]) {
  server = await startFakeServer((request, response, index) => {
    if (request.headers.metadata !== "true") return sendJson(response, 400, { error: "invalid_request" });
    if (request.headers.authorization === undefined) {
      response.writeHead(401, { "www-authenticate": `Basic realm=${realmPath()}` });
      return response.end();
    }
    if (request.headers.authorization !== `Basic ${KEY}`)
      return sendJson(response, 401, { error: "unauthorized" });
    const [status, body] = onAuthorized?.(index) ?? [
      200,
      { access_token: fakeAzureJwt(), expires_in: "3599", expires_on: "1893459600", token_type: "Bearer" },
    ];
    sendJson(response, status, body);
  });
  return server;
}

function arcSupplier(url: string, extra: Partial<Parameters<typeof fromAzure>[0]> = {}) {
  return fromAzure({
    resource: RESOURCE,
    env: { IDENTITY_ENDPOINT: `${url}/metadata/identity/oauth2/token`, IMDS_ENDPOINT: url },
    arcKeyDirectory: tokens,
    ...extra,
  });
}

describe("Azure Arc", () => {
  it("answers the 401 challenge with the key file's content", async () => {
    const fake = await startArc(() => path.join(tokens, "challenge.key"));
    const supplier = arcSupplier(fake.url);
    await expect(supplier()).resolves.toMatchObject({ type: "urn:ietf:params:oauth:token-type:jwt" });
    expect(supplier.lastSource()).toBe("arc");
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual([
      undefined,
      `Basic ${KEY}`,
    ]);
    expect(Object.fromEntries(fake.requests[1]?.query ?? [])).toEqual({
      "api-version": "2019-11-01",
      resource: RESOURCE,
    });
  });

  it.each([
    [
      "outside the token directory",
      async () => {
        await writeFile(path.join(root, "elsewhere.key"), KEY);
        return path.join(root, "elsewhere.key");
      },
      /not directly inside the Arc agent's token directory/,
    ],
    [
      "climbing out with ..",
      async () => path.join(tokens, "..", "tokens-not", "x.key"),
      /not directly inside/,
    ],
    [
      "not a .key file",
      async () => {
        await writeFile(path.join(tokens, "passwd"), "root:x:0:0");
        return path.join(tokens, "passwd");
      },
      /does not end in "\.key"/,
    ],
    [
      "a symbolic link",
      async () => {
        await writeFile(path.join(root, "secret.txt"), "do not send");
        await symlink(path.join(root, "secret.txt"), path.join(tokens, "link.key"));
        return path.join(tokens, "link.key");
      },
      /symbolic link/,
    ],
    [
      "too large",
      async () => {
        await writeFile(path.join(tokens, "big.key"), "x".repeat(5000));
        return path.join(tokens, "big.key");
      },
      /5000 bytes/,
    ],
    [
      "a directory",
      async () => {
        await mkdir(path.join(tokens, "dir.key"));
        return path.join(tokens, "dir.key");
      },
      /not a regular file/,
    ],
    ["relative", async () => "tokens/challenge.key", /not an absolute path/],
    ["missing", async () => path.join(tokens, "gone.key"), /does not exist/],
  ])("refuses a challenge path %s", async (_name, makePath, message) => {
    const realm = await makePath();
    const fake = await startArc(() => realm);
    const error = await arcSupplier(fake.url)().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ERR_WIF_AZURE_ARC_KEY_FILE" });
    expect((error as Error).message).toMatch(message);
    expect(fake.requests).toHaveLength(1);
  });

  it("refuses the real agent directory's files when another directory is configured", async () => {
    const fake = await startArc(() => "/var/opt/azcmagent/tokens/abc.key");
    await expect(arcSupplier(fake.url)()).rejects.toThrow(/not directly inside/);
  });

  it("reports a key the agent does not accept without printing it", async () => {
    await writeFile(path.join(tokens, "stale.key"), "0000stale0000");
    const fake = await startArc(() => path.join(tokens, "stale.key"));
    const error = await arcSupplier(fake.url)().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ERR_WIF_AZURE_ARC_KEY_FILE", status: 401 });
    expect((error as Error).message).not.toContain("0000stale0000");
  });

  it("explains invalid_resource after the challenge", async () => {
    const fake = await startArc(
      () => path.join(tokens, "challenge.key"),
      () => [400, { error: "invalid_resource", error_description: "AADSTS500011: not found" }],
    );
    await expect(arcSupplier(fake.url)()).rejects.toMatchObject({ code: "ERR_WIF_AZURE_INVALID_RESOURCE" });
  });

  it("refuses a user-assigned identity selector, which Arc does not support", async () => {
    const fake = await startArc(() => path.join(tokens, "challenge.key"));
    await expect(arcSupplier(fake.url, { clientId: "c" })()).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_CONFIG_INVALID",
      message: expect.stringContaining("system-assigned"),
    });
    expect(fake.requests).toHaveLength(0);
  });
});
