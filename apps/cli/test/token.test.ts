import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runWif, scratch } from "./helpers.js";

let emulator: Emulator;
const dir = scratch();
let awsConfig: string;
let directConfig: string;
let azureConfig: string;
let awsEnv: Record<string, string>;
let azureEnv: Record<string, string>;

function write(name: string, config: object): string {
  const path = join(dir.dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A fresh cache per test, and the emulator's origins allowed. */
let env: Record<string, string>;
beforeEach((context) => {
  env = {
    WIF_CACHE_DIR: join(dir.dir, "cache", context.task.id),
    WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
  };
  emulator.counters.reset();
});

beforeAll(async () => {
  emulator = await startEmulator();
  awsEnv = emulator.awsEnv();
  azureEnv = emulator.azureEnv();
  awsConfig = write(
    "aws-sa.json",
    emulator.credentialConfig({ source: "aws", imdsv2: true, serviceAccount: "wifkit-reader" }),
  );
  directConfig = write("aws.json", emulator.credentialConfig({ source: "aws" }));
  azureConfig = write("azure.json", emulator.credentialConfig({ source: "azure" }));
});
afterAll(async () => {
  await emulator.stop();
  dir.cleanup();
});

describe("wif token", () => {
  it("prints a service account token for an AWS configuration, and reuses it from the cache", async () => {
    const first = await runWif(["token", "--config", awsConfig], { env: { ...env, ...awsEnv } });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^\S+\n$/);
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);

    const second = await runWif(["token", "--config", awsConfig], { env: { ...env, ...awsEnv } });
    expect(second).toMatchObject({ code: 0, stdout: first.stdout, stderr: "" });
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
    expect(emulator.counters.get("aws.imds.credentials")).toBe(1);

    const cacheFiles = readdirSync(env.WIF_CACHE_DIR as string);
    expect(cacheFiles).toHaveLength(1);
    expect(statSync(join(env.WIF_CACHE_DIR as string, cacheFiles[0] as string)).mode & 0o777).toBe(0o600);
  });

  it("fetches again with --no-cache, for other scopes, and when the configuration's bytes change", async () => {
    const run = (args: string[], config = awsConfig) =>
      runWif(["token", "--config", config, ...args], { env: { ...env, ...awsEnv } });
    expect((await run([])).code).toBe(0);
    expect((await run(["--no-cache"])).code).toBe(0);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(2);
    expect((await run(["--scopes", "devstorage.read_only"])).code).toBe(0);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(3);
    const reformatted = join(dir.dir, "aws-sa-compact.json");
    writeFileSync(reformatted, JSON.stringify(JSON.parse(readFileSync(awsConfig, "utf8"))));
    expect((await run([], reformatted)).code).toBe(0);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(4);
  });

  it("does not hand one identity's cached token to another: the AWS keys in the environment are part of the key", async () => {
    const instance = await runWif(["token", "--config", directConfig], { env: { ...env, ...awsEnv } });
    const user = await runWif(["token", "--config", directConfig], {
      env: { ...env, ...emulator.awsEnv({ source: "static" }) },
    });
    expect(instance.code).toBe(0);
    expect(user.code).toBe(0);
    expect(user.stdout).not.toBe(instance.stdout);
    expect(emulator.counters.get("sts.token")).toBe(2);
  });

  it("--format json and env, warm and cold alike", async () => {
    for (let round = 0; round < 2; round++) {
      const json = await runWif(["token", "--config", awsConfig, "--format", "json"], {
        env: { ...env, ...awsEnv },
      });
      expect(json.code).toBe(0);
      const body = JSON.parse(json.stdout);
      expect(body).toEqual({
        access_token: expect.any(String),
        expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        token_type: "Bearer",
        principal: { type: "service_account", email: emulator.serviceAccountEmail("wifkit-reader") },
      });
      expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
      const shell = await runWif(["token", "--config", awsConfig, "--format", "env"], {
        env: { ...env, ...awsEnv },
      });
      expect(shell.stdout).toBe(
        `export CLOUDSDK_AUTH_ACCESS_TOKEN=${body.access_token}\nexport GOOGLE_OAUTH_ACCESS_TOKEN=${body.access_token}\n`,
      );
    }
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  });

  it("prints a federated token for an Azure configuration, with the principal", async () => {
    const result = await runWif(["token", "--config", azureConfig, "--format", "json"], {
      env: { ...env, ...azureEnv },
    });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout).principal).toEqual({
      type: "federated",
      audience: emulator.providerAudience("azure-provider"),
    });
    expect(emulator.counters.get("azure.imds.token")).toBeGreaterThanOrEqual(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(0);
  });

  it("reads GOOGLE_APPLICATION_CREDENTIALS when --config is absent", async () => {
    const result = await runWif(["token"], {
      env: { ...env, ...awsEnv, GOOGLE_APPLICATION_CREDENTIALS: awsConfig },
    });
    expect(result.code).toBe(0);
    expect(emulator.counters.get("sts.token")).toBe(1);
  });

  it("refuses a configuration whose endpoints are not Google's unless their origin is allowed, exit 1", async () => {
    const result = await runWif(["token", "--config", awsConfig], {
      env: { ...env, ...awsEnv, WIF_ALLOW_ORIGINS: "" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error \[ERR_WIF_CONFIG_INVALID\]: Credential configuration .*aws-sa\.json has \d+ problems:\n {2}- token_url: /,
    );
    expect(result.stdout).toBe("");
    expect(emulator.counters.get("sts.token")).toBe(0);

    const flagged = await runWif(
      ["token", "--config", awsConfig, ...emulator.allowOrigins.flatMap((o) => ["--allow-origin", o])],
      {
        env: { ...env, ...awsEnv, WIF_ALLOW_ORIGINS: "" },
      },
    );
    expect(flagged.code).toBe(0);
  });

  it("reports an upstream refusal with its code, exit 1, and caches nothing", async () => {
    emulator.reconfigure({
      pools: {
        "wifkit-pool": {
          providers: {
            "aws-strict": {
              type: "aws",
              awsAccountId: "{awsAccountId}",
              attributeCondition: "assertion.account == '999999999999'",
            },
          },
        },
      },
    });
    const strict = write(
      "aws-strict.json",
      emulator.credentialConfig({ source: "aws", provider: "aws-strict" }),
    );
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await runWif(["token", "--config", strict], { env: { ...env, ...awsEnv } });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error \[ERR_WIF_STS_REJECTED_BY_CONDITION\]: .*The given credential is rejected by the attribute condition/,
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe("");
    }
    expect(emulator.counters.get("sts.token")).toBe(2);
  });

  it("reports an unreachable instance metadata service, exit 1", async () => {
    // The configuration's URLs name the metadata service (as gcloud writes them); nothing listens on port 9.
    const config = JSON.parse(readFileSync(directConfig, "utf8"));
    for (const field of ["url", "region_url", "imdsv2_session_token_url"] as const) {
      if (config.credential_source[field] === undefined) continue;
      const url = new URL(config.credential_source[field]);
      url.port = "9";
      config.credential_source[field] = url.href;
    }
    const unreachable = write("aws-unreachable.json", config);
    const result = await runWif(["token", "--config", unreachable, "--no-cache"], {
      env: { ...env, WIF_ALLOW_ORIGINS: `${env.WIF_ALLOW_ORIGINS},http://127.0.0.1:9` },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[ERR_WIF_AWS_/);
  });
});

describe("wif id-token", () => {
  it("prints a Google-signed ID token for the audience, with the email when asked, cached", async () => {
    const audience = "https://hello-abc123-uc.a.run.app";
    const result = await runWif(
      ["id-token", "--config", awsConfig, "--audience", audience, "--include-email"],
      {
        env: { ...env, ...awsEnv },
      },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const [, payload] = result.stdout.trim().split(".");
    const claims = JSON.parse(Buffer.from(payload as string, "base64url").toString("utf8"));
    expect(claims).toMatchObject({
      aud: audience,
      email: emulator.serviceAccountEmail("wifkit-reader"),
      email_verified: true,
    });
    const again = await runWif(
      ["id-token", "--config", awsConfig, "--audience", audience, "--include-email", "--format", "json"],
      {
        env: { ...env, ...awsEnv },
      },
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ id_token: result.stdout.trim() });
    expect(emulator.counters.get("iam.generateIdToken")).toBe(1);
  });

  it("explains that ID tokens need impersonation, exit 1", async () => {
    const result = await runWif(["id-token", "--config", directConfig, "--audience", "https://x.example"], {
      env: { ...env, ...awsEnv },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error \[ERR_WIF_ID_TOKEN_NEEDS_IMPERSONATION\]: ID tokens need a service account to impersonate/,
    );
  });
});
