/**
 * fromConfig against configurations and token files chosen by someone else: the universe is the caller's
 * to approve, a loaded configuration is taken as it is (one read), and the subject token file is read
 * within bounds whatever the path names.
 */
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCredentialConfig } from "@wifkit/config";
import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fakeGoogle, fakeJwt, tempDir } from "../test/helpers.js";
import { fromConfig } from "./from-config.js";
import { fromFile } from "./suppliers/file.js";

afterEach(cleanup);

const AUDIENCE =
  "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/oidc";
const SA = "app@proj.iam.gserviceaccount.com";

function config(extra: Record<string, unknown> = {}) {
  return {
    type: "external_account",
    audience: AUDIENCE,
    subject_token_type: SUBJECT_TOKEN_TYPES.jwt,
    credential_source: { file: "/var/run/token" },
    ...extra,
  };
}

const attackerUniverse = config({
  universe_domain: "attacker.example",
  token_url: "https://sts.attacker.example/v1/token",
  service_account_impersonation_url: `https://iamcredentials.attacker.example/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
});

describe("fromConfig and universe_domain", () => {
  it("refuses a universe the caller did not approve, from an object or a file", async () => {
    await expect(fromConfig(attackerUniverse, { env: {} })).rejects.toMatchObject({
      code: "ERR_WIF_CONFIG_INVALID",
      message: expect.stringContaining('universe_domain: "attacker.example" is not an approved universe'),
    });
    const dir = await tempDir();
    const path = join(dir, "universe.json");
    await writeFile(path, JSON.stringify(attackerUniverse));
    await expect(fromConfig(path, { env: {} })).rejects.toMatchObject({ code: "ERR_WIF_CONFIG_INVALID" });
  });

  it("accepts it when the caller approves it, by option or by WIF_UNIVERSE_DOMAIN", async () => {
    const byOption = await fromConfig(attackerUniverse, {
      env: {},
      allow: { universeDomains: ["attacker.example"] },
    });
    expect(byOption.universeDomain).toBe("attacker.example");
    const byEnv = await fromConfig(attackerUniverse, { env: { WIF_UNIVERSE_DOMAIN: "attacker.example" } });
    expect(byEnv.universeDomain).toBe("attacker.example");
  });
});

describe("one config load path", () => {
  it("takes what loadCredentialConfig returned without reading or validating it again", async () => {
    const google = await fakeGoogle();
    const dir = await tempDir();
    const tokenPath = join(dir, "token");
    await writeFile(tokenPath, fakeJwt({ sub: "job" }));
    const reads: string[] = [];
    const readFile = async (path: string) => {
      reads.push(path);
      return path === "/etc/wif/config.json"
        ? JSON.stringify(
            config({ token_url: `${google.origin}/v1/token`, credential_source: { file: tokenPath } }),
          )
        : (await import("node:fs/promises")).readFile(path);
    };
    const loaded = await loadCredentialConfig({
      path: "/etc/wif/config.json",
      env: {},
      allow: { origins: [google.origin] },
      readFile,
    });
    // No allow.origins here: a second validation would refuse the fake Google's origin.
    const credentials = await fromConfig(loaded, { env: {}, readFile });
    expect(credentials.configPath).toBe("/etc/wif/config.json");
    expect((await fromConfig(loaded.config, { env: {} })).configPath).toBe("/etc/wif/config.json");
    await credentials.getAccessToken();
    expect(reads).toEqual(["/etc/wif/config.json", tokenPath]);
  });

  it("validates a look-alike of a loaded result like any object", async () => {
    const lookalike = JSON.parse(JSON.stringify({ config: attackerUniverse, warnings: [], path: "/x" }));
    await expect(fromConfig(lookalike, { env: {} })).rejects.toMatchObject({
      code: "ERR_WIF_CONFIG_INVALID",
    });
  });

  it("reports the source kind a replacing supplier stands for in the metrics header", async () => {
    const google = await fakeGoogle();
    const credentials = await fromConfig(config({ token_url: `${google.origin}/v1/token` }), {
      env: {},
      allow: { origins: [google.origin] },
      supplier: async () => ({ token: fakeJwt(), type: SUBJECT_TOKEN_TYPES.jwt }),
      sourceKind: "file",
    });
    await credentials.getAccessToken();
    expect(google.calls("/v1/token")[0]?.headers["x-goog-api-client"]).toContain("source/file ");
  });
});

describe("the subject token file is read within bounds", () => {
  const unreadable = (path: string) =>
    fromFile({ path })().then(
      () => {
        throw new Error("expected the read to fail");
      },
      (error: Error & { code?: string }) => error,
    );

  it("refuses devices, and symlinks into /proc, before reading them", async () => {
    expect(await unreadable("/dev/zero")).toMatchObject({
      code: "ERR_WIF_SUBJECT_TOKEN_FILE_UNREADABLE",
      message: expect.stringContaining("resolves to /dev/zero, a kernel or device file"),
    });
    const dir = await tempDir();
    const environ = join(dir, "token");
    await symlink("/proc/self/environ", environ);
    const error = await unreadable(environ);
    expect(error.code).toBe("ERR_WIF_SUBJECT_TOKEN_FILE_UNREADABLE");
    expect(error.message).toMatch(/resolves to \/proc\/\d+\/environ, a kernel or device file/);
  });

  it("refuses a FIFO at once, even while a writer holds it open", async () => {
    const dir = await tempDir();
    const fifo = join(dir, "token");
    execFileSync("mkfifo", [fifo]);
    const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      expect(await unreadable(fifo)).toMatchObject({
        code: "ERR_WIF_SUBJECT_TOKEN_FILE_UNREADABLE",
        message: expect.stringContaining("it is a pipe, not a file"),
      });
    } finally {
      closeSync(writer);
    }
  });

  it("refuses a huge file by its size, and follows symlinks to regular files (projected tokens)", async () => {
    const dir = await tempDir();
    const huge = join(dir, "huge");
    await writeFile(huge, "");
    await truncate(huge, 8 * 1024 * 1024 * 1024);
    expect((await unreadable(huge)).code).toBe("ERR_WIF_SUBJECT_TOKEN_TOO_LARGE");
    const real = join(dir, "..data-token");
    const token = fakeJwt();
    await writeFile(real, token);
    const link = join(dir, "projected");
    await symlink(real, link);
    await expect(fromFile({ path: link })()).resolves.toMatchObject({ token });
  });
});
