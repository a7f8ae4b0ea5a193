import { chmod } from "node:fs/promises";
import type { WifError } from "@wifkit/core";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors.js";
import { loadCredentialConfig, MAX_CONFIG_BYTES } from "./load.js";
import { scratchDirectory } from "./test-helpers.js";

const valid = {
  type: "external_account",
  audience:
    "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider",
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  token_url: "https://sts.googleapis.com/v1/token",
  credential_source: { file: "/var/run/token" },
};

const scratch = scratchDirectory("wifkit-config-");
const { file } = scratch;

async function failure(options: Parameters<typeof loadCredentialConfig>[0]): Promise<WifError> {
  const error = await loadCredentialConfig(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected loadCredentialConfig to fail").toBeDefined();
  return error as WifError;
}

describe("loadCredentialConfig", () => {
  it("loads a valid file from an explicit path", async () => {
    const path = await file("valid.json", JSON.stringify(valid, null, 2));
    const loaded = await loadCredentialConfig({ path });
    expect(loaded).toEqual({ config: valid, warnings: [], path });
  });

  it("falls back to GOOGLE_APPLICATION_CREDENTIALS, and the explicit path wins over it", async () => {
    const path = await file("from-env.json", JSON.stringify(valid));
    expect((await loadCredentialConfig({ env: { GOOGLE_APPLICATION_CREDENTIALS: path } })).path).toBe(path);
    const missing = scratch.path("missing.json");
    const error = await failure({ path: missing, env: { GOOGLE_APPLICATION_CREDENTIALS: path } });
    expect(error.code).toBe("ERR_WIF_CONFIG_NOT_FOUND");
  });

  it("says how to point at a config when none is given", async () => {
    const error = await failure({ env: {} });
    expect(error.code).toBe("ERR_WIF_CONFIG_NOT_FOUND");
    expect(error.message).toContain("set GOOGLE_APPLICATION_CREDENTIALS");
  });

  it("reports a missing file, naming the variable it came from", async () => {
    const path = scratch.path("nope.json");
    const error = await failure({ env: { GOOGLE_APPLICATION_CREDENTIALS: path } });
    expect(error.code).toBe("ERR_WIF_CONFIG_NOT_FOUND");
    expect(error.message).toBe(
      `Credential configuration ${path} (from GOOGLE_APPLICATION_CREDENTIALS) does not exist.`,
    );
  });

  it("refuses a directory", async () => {
    const error = await failure({ path: scratch.dir });
    expect(error.code).toBe("ERR_WIF_CONFIG_UNREADABLE");
    expect(error.message).toContain("is a directory; point at the JSON file");
  });

  it("refuses a file over 1 MiB without reading it", async () => {
    const path = await file("huge.json", Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x20));
    const error = await failure({ path });
    expect(error.code).toBe("ERR_WIF_CONFIG_TOO_LARGE");
  });

  it("refuses an empty file", async () => {
    const path = await file("empty.json", "  \n");
    const error = await failure({ path });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`Credential configuration ${path} has a problem:\n  - the file is empty`);
  });

  it("reports malformed JSON with its line and column, without quoting the file", async () => {
    const text = '{\n  "type": "external_account",\n  "client_secret": "hunter2"\n  "audience": "x"\n}';
    const path = await file("broken.json", text);
    const error = await failure({ path });
    expect(error.code).toBe("ERR_WIF_CONFIG_INVALID");
    expect((error as ConfigError).issues).toEqual([
      { path: "", message: "not valid JSON: unexpected string at line 4, column 3" },
    ]);
    expect(error.message).not.toContain("hunter2");
  });

  it("reports a truncated file at its end", async () => {
    const path = await file("truncated.json", '{"type": "external_account",\n "audience": "//iam');
    const error = (await failure({ path })) as ConfigError;
    expect(error.issues[0]?.message).toBe("not valid JSON: unexpected end of file at line 2, column 20");
  });

  it("lists every schema problem with its JSON path", async () => {
    const path = await file(
      "wrong.json",
      JSON.stringify({ ...valid, audience: 7, credential_source: { file: 3 } }),
    );
    const error = (await failure({ path })) as ConfigError;
    expect(error.issues).toEqual([
      { path: "audience", message: "must be a string, not a number" },
      { path: "credential_source.file", message: "must be a string, not a number" },
    ]);
    expect(error.message).toContain(`Credential configuration ${path} has 2 problems:`);
  });

  it("reports a file it may not read", async () => {
    if (process.getuid?.() === 0) return; // root reads everything; the permission path cannot be exercised.
    const path = await file("secret.json", JSON.stringify(valid));
    await chmod(path, 0o000);
    const error = await failure({ path });
    expect(error.code).toBe("ERR_WIF_CONFIG_UNREADABLE");
  });

  it("passes the allowlist through to the endpoint policy", async () => {
    const path = await file(
      "emulator.json",
      JSON.stringify({ ...valid, token_url: "http://127.0.0.1:4000/v1/token" }),
    );
    expect((await failure({ path })).code).toBe("ERR_WIF_CONFIG_INVALID");
    const loaded = await loadCredentialConfig({ path, allow: { origins: ["http://127.0.0.1:4000"] } });
    expect(loaded.config).toMatchObject({ token_url: "http://127.0.0.1:4000/v1/token" });
  });
});
