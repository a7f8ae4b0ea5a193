/**
 * `--allow-origin` and `WIF_ALLOW_ORIGINS`, one reading for every command (@wifkit/config's
 * parseAllowedOrigins): comma lists everywhere, a malformed origin is a usage error, and the endpoint policy's
 * refusal names the flag and the variable a wif user can set.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runWif, scratch } from "./helpers.js";

const dir = scratch();
afterAll(() => dir.cleanup());

/** A configuration whose STS and metadata endpoints are two loopback origins (nothing listens there). */
function emulatorLikeConfig(): string {
  const path = join(dir.dir, "loopback.json");
  writeFileSync(
    path,
    JSON.stringify({
      type: "external_account",
      audience:
        "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider",
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "http://127.0.0.1:9/v1/token",
      credential_source: {
        environment_id: "aws1",
        region_url: "http://127.0.0.1:7/latest/meta-data/placement/availability-zone",
        url: "http://127.0.0.1:7/latest/meta-data/iam/security-credentials",
        regional_cred_verification_url:
          "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
      },
    }),
  );
  return path;
}

const config = emulatorLikeConfig();
const NO_ENV_ORIGINS = { WIF_ALLOW_ORIGINS: "" };

describe("--allow-origin and WIF_ALLOW_ORIGINS", () => {
  it("accept comma (or space) separated lists, in the flag and in the environment", async () => {
    const flag = await runWif(
      [
        "validate",
        "--offline",
        "--config",
        config,
        "--allow-origin",
        "http://127.0.0.1:9/, http://127.0.0.1:7",
      ],
      { env: NO_ENV_ORIGINS },
    );
    expect(flag.stderr).toContain("matches the schema and the endpoint policy");
    expect(flag.code).toBe(0);
    const repeated = await runWif(
      [
        "validate",
        "--offline",
        "--config",
        config,
        "--allow-origin",
        "http://127.0.0.1:9",
        "--allow-origin",
        "http://127.0.0.1:7",
      ],
      { env: NO_ENV_ORIGINS },
    );
    expect(repeated.code).toBe(0);
    const env = await runWif(["validate", "--offline", "--config", config], {
      env: { WIF_ALLOW_ORIGINS: "http://127.0.0.1:9 http://127.0.0.1:7" },
    });
    expect(env.code).toBe(0);
  });

  it.each([
    ["validate", "--offline", "--config", "CONFIG"],
    ["token", "--no-cache", "--config", "CONFIG"],
    ["inspect", "--config", "CONFIG"],
    [
      "create-cred-config",
      "projects/1/locations/global/workloadIdentityPools/my-pool/providers/my-provider",
      "--aws",
      "--output-file",
      "OUT",
    ],
  ])("a malformed origin in the flag is a usage error of %s, exit 2", async (...args) => {
    const argv = args.map((arg) =>
      arg === "CONFIG" ? config : arg === "OUT" ? join(dir.dir, "out.json") : arg,
    );
    const result = await runWif([...argv, "--allow-origin", "http://127.0.0.1:9,127.0.0.1:7"], {
      env: NO_ENV_ORIGINS,
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    const command = `wif ${args[0]}: `;
    expect(result.stderr.split("\n")[0]).toBe(
      `error: ${command}--allow-origin: '127.0.0.1:7' is not an origin; give scheme, host and port only, e.g. http://127.0.0.1:8080`,
    );
    expect(result.stderr.split("\n")[1]).toMatch(new RegExp(`^Usage: wif ${args[0]} `));
  });

  it("a malformed origin in WIF_ALLOW_ORIGINS is a usage error naming the variable, exit 2", async () => {
    const result = await runWif(["token", "--no-cache", "--config", config], {
      env: { WIF_ALLOW_ORIGINS: "http://127.0.0.1:9/v1/token" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(
      "error: wif token: WIF_ALLOW_ORIGINS: 'http://127.0.0.1:9/v1/token' is not an origin; give scheme, host and port only, e.g. http://127.0.0.1:8080",
    );
  });

  it("the endpoint policy's refusal names --allow-origin and WIF_ALLOW_ORIGINS, not the library option", async () => {
    const token = await runWif(["token", "--no-cache", "--config", config], { env: NO_ENV_ORIGINS });
    expect(token.code).toBe(1);
    expect(token.stderr).toContain(
      "token_url: http://127.0.0.1:9 is not a Google STS endpoint of universe googleapis.com (expected https://sts.googleapis.com/...).",
    );
    expect(token.stderr).toContain(
      "to use another endpoint (an emulator or a test server), allow its origin: --allow-origin ORIGIN or WIF_ALLOW_ORIGINS (wif, wif-sidecar), allow.origins (library).",
    );

    const validate = await runWif(["validate", "--offline", "--config", config], { env: NO_ENV_ORIGINS });
    expect(validate.code).toBe(1);
    expect(validate.stderr).toContain("--allow-origin ORIGIN or WIF_ALLOW_ORIGINS (wif, wif-sidecar)");
  });
});
