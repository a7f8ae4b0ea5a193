import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { ExternalAccountClient } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWif, scratch } from "./helpers.js";

const RESOURCE = "projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider";
const AUDIENCE = `//iam.googleapis.com/${RESOURCE}`;
const SA = "app@my-project.iam.gserviceaccount.com";
const IMPERSONATION_URL = `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`;
const JWT = "urn:ietf:params:oauth:token-type:jwt";
const AWS_SOURCE = {
  environment_id: "aws1",
  region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
  url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
  regional_cred_verification_url:
    "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
};

const dir = scratch();
afterAll(() => dir.cleanup());

let counter = 0;
async function create(args: string[]): Promise<{ file: string; config: unknown; stderr: string }> {
  const file = join(dir.dir, `config-${++counter}.json`);
  const result = await runWif(["create-cred-config", RESOURCE, ...args, "--output-file", file]);
  expect(result.stderr).toBe(`Created credential configuration file [${file}].\n`);
  expect(result).toMatchObject({ code: 0, stdout: "" });
  return { file, config: JSON.parse(readFileSync(file, "utf8")), stderr: result.stderr };
}

describe("wif create-cred-config writes what gcloud writes (gcloud-cred-config.test.ts compares with gcloud itself)", () => {
  it("--aws", async () => {
    expect((await create(["--aws"])).config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: AWS_SOURCE,
    });
  });

  it("--aws --enable-imdsv2 --service-account --service-account-token-lifetime-seconds", async () => {
    const { config } = await create([
      "--aws",
      "--enable-imdsv2",
      "--service-account",
      SA,
      "--service-account-token-lifetime-seconds",
      "7200",
    ]);
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      service_account_impersonation_url: IMPERSONATION_URL,
      service_account_impersonation: { token_lifetime_seconds: 7200 },
      credential_source: {
        ...AWS_SOURCE,
        imdsv2_session_token_url: "http://169.254.169.254/latest/api/token",
      },
    });
  });

  it("--azure --app-id-uri --service-account", async () => {
    const { config } = await create(["--azure", "--app-id-uri", "api://my-app", "--service-account", SA]);
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: JWT,
      token_url: "https://sts.googleapis.com/v1/token",
      service_account_impersonation_url: IMPERSONATION_URL,
      credential_source: {
        url: "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://my-app",
        headers: { Metadata: "True" },
        format: { type: "json", subject_token_field_name: "access_token" },
      },
    });
  });

  it("--credential-source-file with a json format", async () => {
    const { config } = await create([
      "--credential-source-file",
      "/var/run/secrets/token.json",
      "--credential-source-type",
      "json",
      "--credential-source-field-name",
      "id_token",
    ]);
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: JWT,
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: {
        file: "/var/run/secrets/token.json",
        format: { type: "json", subject_token_field_name: "id_token" },
      },
    });
  });

  it("--credential-source-url with headers, a text format and a subject token type", async () => {
    const { config } = await create([
      "--credential-source-url",
      "https://token.example.com/token",
      "--credential-source-headers",
      "Authorization=Bearer x,X-Trace=1",
      "--credential-source-type",
      "text",
      "--subject-token-type",
      "urn:ietf:params:oauth:token-type:id_token",
    ]);
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: {
        url: "https://token.example.com/token",
        headers: { Authorization: "Bearer x", "X-Trace": "1" },
        format: { type: "text" },
      },
    });
  });

  it("--executable-command with its timeout and output file", async () => {
    const { config } = await create([
      "--executable-command",
      "/usr/local/bin/token-helper --audience=x",
      "--executable-timeout-millis",
      "10000",
      "--executable-output-file",
      "/tmp/token-cache.json",
    ]);
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: JWT,
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: {
        executable: {
          command: "/usr/local/bin/token-helper --audience=x",
          timeout_millis: 10000,
          output_file: "/tmp/token-cache.json",
        },
      },
    });
  });

  it("--universe-domain writes universe_domain and the endpoints on that universe", async () => {
    const { config } = await create([
      "--aws",
      "--universe-domain",
      "example-universe.test",
      "--service-account",
      SA,
    ]);
    expect(config).toEqual({
      universe_domain: "example-universe.test",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.example-universe.test/v1/token",
      service_account_impersonation_url: `https://iamcredentials.example-universe.test/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      credential_source: AWS_SOURCE,
    });
  });

  it("--azure without --app-id-uri asks Azure for a token for https://iam.googleapis.com/RESOURCE", async () => {
    const { config } = await create(["--azure"]);
    expect(config).toMatchObject({
      credential_source: {
        url: `http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://iam.googleapis.com/${RESOURCE}`,
      },
    });
  });

  it("--sts-location writes the locational STS endpoint; impersonation stays global", async () => {
    const { config } = await create([
      "--credential-source-file",
      "/var/run/token",
      "--sts-location",
      "europe-west3",
      "--service-account",
      SA,
    ]);
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: JWT,
      token_url: "https://sts.europe-west3.rep.googleapis.com/v1/token",
      service_account_impersonation_url: IMPERSONATION_URL,
      credential_source: { file: "/var/run/token" },
    });
    const global = await create(["--aws", "--sts-location", "global"]);
    expect(global.config).toMatchObject({
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
    });
  });

  it("a workforce provider: id_token by default, --workforce-pool-user-project written", async () => {
    const file = join(dir.dir, "workforce.json");
    const result = await runWif([
      "create-cred-config",
      "locations/global/workforcePools/my-pool/providers/my-provider",
      "--executable-command",
      "/usr/bin/login-helper",
      "--executable-output-file",
      "/tmp/login.json",
      "--executable-interactive-timeout-millis",
      "2m",
      "--workforce-pool-user-project",
      "my-project",
      "--output-file",
      file,
    ]);
    // gcloud's interactive timeout is part of the schema: validated, kept, no warning.
    expect(result).toMatchObject({ code: 0, stderr: `Created credential configuration file [${file}].\n` });
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: "//iam.googleapis.com/locations/global/workforcePools/my-pool/providers/my-provider",
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      workforce_pool_user_project: "my-project",
      credential_source: {
        executable: {
          command: "/usr/bin/login-helper",
          timeout_millis: 30000,
          output_file: "/tmp/login.json",
          interactive_timeout_millis: 120000,
        },
      },
    });
  });

  it("reads durations as gcloud does: 90s, 1h30m, 1.5s, or a bare number in the flag's unit", async () => {
    const { config } = await create([
      "--executable-command",
      "/usr/bin/token",
      "--executable-timeout-millis",
      "1m30.5s",
      "--service-account",
      SA,
      "--service-account-token-lifetime-seconds",
      "1h30m",
    ]);
    expect(config).toMatchObject({
      credential_source: { executable: { timeout_millis: 90500 } },
      service_account_impersonation: { token_lifetime_seconds: 5400 },
    });
  });

  it("--sts-url takes a base URL like the other endpoint flags, or the token URL itself", async () => {
    for (const stsUrl of [
      "http://127.0.0.1:8080",
      "http://127.0.0.1:8080/",
      "http://127.0.0.1:8080/v1/token",
    ]) {
      const { config } = await create([
        "--aws",
        "--sts-url",
        stsUrl,
        "--metadata-url",
        "http://127.0.0.1:8081/",
      ]);
      expect(config).toMatchObject({
        token_url: "http://127.0.0.1:8080/v1/token",
        token_info_url: "http://127.0.0.1:8080/v1/introspect",
        credential_source: { url: "http://127.0.0.1:8081/latest/meta-data/iam/security-credentials" },
      });
    }
  });

  it("writes a readable file atomically, replacing an existing one and leaving no temporary file", async () => {
    const first = await create(["--aws"]);
    expect(statSync(first.file).mode & 0o777).toBe(0o644 & ~process.umask());
    const target = join(dir.dir, "replace.json");
    writeFileSync(target, "old");
    const result = await runWif(["create-cred-config", RESOURCE, "--aws", "--output-file", target]);
    expect(result.code).toBe(0);
    expect(JSON.parse(readFileSync(target, "utf8"))).toMatchObject({ audience: AUDIENCE });
    expect(readdirSync(dir.dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses to write over a directory, exit 1", async () => {
    const target = join(dir.dir, "a-directory");
    mkdirSync(target);
    const result = await runWif(["create-cred-config", RESOURCE, "--aws", "--output-file", target]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error [ERR_WIF_OUTPUT_IS_DIRECTORY]: --output-file ${target} is a directory; name the file to write, e.g. ${join(target, "wif-config.json")}.\n`,
    );
  });

  it.each([
    [["--aws"], "missing --output-file PATH"],
    [
      ["--output-file", "x.json"],
      "missing credential source: one of --aws, --azure, --credential-source-file, --credential-source-url, --executable-command, --credential-cert-path",
    ],
    [
      ["--aws", "--azure", "--output-file", "x.json"],
      "only one credential source may be given (got --aws, --azure)",
    ],
    [
      ["--credential-source-file", "f", "--enable-imdsv2", "--output-file", "x.json"],
      "--enable-imdsv2 can only be used with --aws",
    ],
    [
      ["--credential-source-file", "f", "--credential-source-type", "json", "--output-file", "x.json"],
      "--credential-source-type json needs --credential-source-field-name",
    ],
    [
      ["--aws", "--service-account-token-lifetime-seconds", "600", "--output-file", "x.json"],
      "--service-account-token-lifetime-seconds can only be used with --service-account",
    ],
    [
      ["--executable-command", "/bin/x", "--executable-timeout-millis", "soon", "--output-file", "x.json"],
      "--executable-timeout-millis must be a whole number of milliseconds, or a duration such as 90s or 1h (got 'soon')",
    ],
    [
      ["--executable-command", "/bin/x", "--executable-timeout-millis", "1s", "--output-file", "x.json"],
      "--executable-timeout-millis must be from 5000 to 120000 (got '1s')",
    ],
    [
      [
        "--aws",
        "--service-account",
        SA,
        "--service-account-token-lifetime-seconds",
        "700.5",
        "--output-file",
        "x.json",
      ],
      "--service-account-token-lifetime-seconds must be a whole number of seconds, or a duration such as 90s or 1h (got '700.5')",
    ],
    [
      [
        "--aws",
        "--service-account",
        SA,
        "--service-account-token-lifetime-seconds",
        "1500ms",
        "--output-file",
        "x.json",
      ],
      "--service-account-token-lifetime-seconds must be a whole number of seconds, or a duration such as 90s or 1h (got '1500ms')",
    ],
    [
      [
        "--aws",
        "--service-account",
        SA,
        "--service-account-token-lifetime-seconds",
        "13h",
        "--output-file",
        "x.json",
      ],
      "--service-account-token-lifetime-seconds must be from 600 to 43200 (got '13h')",
    ],
    [
      ["--aws", "--sts-location", "us-central1.evil.example", "--output-file", "x.json"],
      '--sts-location us-central1.evil.example: "us-central1.evil.example" is not a location; use a region such as us-central1, or "global"',
    ],
    [
      ["--aws", "--workforce-pool-user-project", "p", "--output-file", "x.json"],
      "--workforce-pool-user-project can only be used with a workforce pool provider (locations/global/workforcePools/POOL/providers/PROVIDER)",
    ],
    [
      [
        "--executable-command",
        "/bin/x",
        "--executable-interactive-timeout-millis",
        "60000",
        "--output-file",
        "x.json",
      ],
      "--executable-interactive-timeout-millis can only be used with --executable-command and a workforce pool provider",
    ],
    [
      ["--aws", "--sts-url", "127.0.0.1:8080", "--output-file", "x.json"],
      "--sts-url must be an http or https base URL such as http://127.0.0.1:8080 (got '127.0.0.1:8080')",
    ],
  ])("usage error %j", async (args, message) => {
    const result = await runWif(["create-cred-config", RESOURCE, ...args], { cwd: dir.dir });
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(`error: wif create-cred-config: ${message}`);
  });

  it("refuses a resource that is not a provider, naming the problem, exit 1", async () => {
    const result = await runWif([
      "create-cred-config",
      "projects/my-project/pools/x",
      "--aws",
      "--output-file",
      join(dir.dir, "bad.json"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error \[ERR_WIF_CONFIG_INVALID\]: The credential configuration has (a problem|\d+ problems):\n {2}- audience: /,
    );
  });
});

describe("wif create-cred-config --credential-cert-path writes what gcloud writes, and the certificate configuration", () => {
  const CERT = fileURLToPath(new URL("fixtures/workload.pem", import.meta.url));
  const KEY = fileURLToPath(new URL("fixtures/workload.key", import.meta.url));
  const MTLS_IMPERSONATION_URL = `https://iamcredentials.mtls.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`;
  const CERTIFICATE_CONFIG = { cert_configs: { workload: { cert_path: CERT, key_path: KEY } } };

  /** A fresh HOME (and its gcloud directory) per test: the default location is under it. */
  function home(): string {
    const path = join(dir.dir, `home-${++counter}`);
    mkdirSync(path);
    return path;
  }

  async function createCertificate(args: string[], env: Record<string, string>) {
    const file = join(dir.dir, `config-${++counter}.json`);
    const result = await runWif(
      [
        "create-cred-config",
        RESOURCE,
        "--credential-cert-path",
        CERT,
        "--credential-cert-private-key-path",
        KEY,
        ...args,
        "--output-file",
        file,
      ],
      { env, cwd: dir.dir },
    );
    expect(result).toMatchObject({ code: 0, stdout: "" });
    return { file, config: JSON.parse(readFileSync(file, "utf8")), stderr: result.stderr };
  }

  it("without --credential-cert-configuration-output-file: certificate_config.json in $CLOUDSDK_CONFIG, use_default_certificate_config", async () => {
    const gcloud = join(home(), "sdk-config");
    const { file, config, stderr } = await createCertificate(["--service-account", SA], {
      CLOUDSDK_CONFIG: gcloud,
    });
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:mtls",
      token_url: "https://sts.mtls.googleapis.com/v1/token",
      service_account_impersonation_url: MTLS_IMPERSONATION_URL,
      credential_source: { certificate: { use_default_certificate_config: true } },
    });
    const written = join(gcloud, "certificate_config.json");
    expect(JSON.parse(readFileSync(written, "utf8"))).toEqual(CERTIFICATE_CONFIG);
    expect(statSync(written).mode & 0o777).toBe(0o600);
    expect(stderr).toBe(
      `Created certificate configuration file [${written}].\nCreated credential configuration file [${file}].\n`,
    );
  });

  it("without $CLOUDSDK_CONFIG: ~/.config/gcloud/certificate_config.json, the directory created", async () => {
    const user = home();
    await createCertificate([], { HOME: user });
    const written = join(user, ".config", "gcloud", "certificate_config.json");
    expect(JSON.parse(readFileSync(written, "utf8"))).toEqual(CERTIFICATE_CONFIG);
    expect(statSync(join(user, ".config", "gcloud")).mode & 0o777).toBe(0o700 & ~process.umask());
  });

  it("--credential-cert-configuration-output-file and --credential-cert-trust-chain-path: the configuration names both", async () => {
    const user = home();
    const { file, config, stderr } = await createCertificate(
      [
        "--credential-cert-configuration-output-file",
        "cert-config.json",
        "--credential-cert-trust-chain-path",
        "/etc/wif/chain.pem",
      ],
      { HOME: user },
    );
    expect(config).toEqual({
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:mtls",
      token_url: "https://sts.mtls.googleapis.com/v1/token",
      token_info_url: "https://sts.mtls.googleapis.com/v1/introspect",
      credential_source: {
        certificate: {
          certificate_config_location: "cert-config.json",
          trust_chain_path: "/etc/wif/chain.pem",
        },
      },
    });
    const written = join(dir.dir, "cert-config.json");
    expect(JSON.parse(readFileSync(written, "utf8"))).toEqual(CERTIFICATE_CONFIG);
    expect(statSync(written).mode & 0o777).toBe(0o600);
    expect(stderr).toBe(
      `Created certificate configuration file [${written}].\nCreated credential configuration file [${file}].\n`,
    );
    expect(existsSync(join(user, ".config"))).toBe(false);
    expect(readdirSync(dir.dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("writes where wif reads: inspect finds the certificate through either configuration", async () => {
    const leaf = new X509Certificate(readFileSync(CERT)).raw.toString("base64");
    const user = home();
    const byDefault = await createCertificate([], { HOME: user });
    const named = await createCertificate(
      ["--credential-cert-configuration-output-file", join(user, "named.json")],
      { HOME: home() },
    );
    for (const file of [byDefault.file, named.file]) {
      const result = await runWif(["inspect", "--config", file, "--format", "json", "--show-token"], {
        env: { HOME: user },
      });
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({
        source: "certificate",
        subject_token_type: "urn:ietf:params:oauth:token-type:mtls",
      });
      expect(JSON.parse(report.subject_token)).toEqual([leaf]);
    }
  });

  it("warns when GOOGLE_API_CERTIFICATE_CONFIG would hide the default location", async () => {
    const user = home();
    const { stderr } = await createCertificate([], {
      HOME: user,
      GOOGLE_API_CERTIFICATE_CONFIG: "/etc/elsewhere.json",
    });
    expect(stderr.split("\n")[0]).toBe(
      `warning: GOOGLE_API_CERTIFICATE_CONFIG is set, so Google's libraries and wif read the certificate configuration at /etc/elsewhere.json, not at ${join(user, ".config", "gcloud", "certificate_config.json")}; unset it, or pass --credential-cert-configuration-output-file /etc/elsewhere.json`,
    );
  });

  it.each([
    [
      ["--credential-cert-path", "c.pem", "--output-file", "x.json"],
      "--credential-cert-path needs --credential-cert-private-key-path (the certificate's key)",
    ],
    [
      ["--aws", "--credential-cert-private-key-path", "k.pem", "--output-file", "x.json"],
      "--credential-cert-private-key-path can only be used with --credential-cert-path",
    ],
    [
      ["--aws", "--credential-cert-trust-chain-path", "chain.pem", "--output-file", "x.json"],
      "--credential-cert-trust-chain-path can only be used with --credential-cert-path",
    ],
    [
      ["--aws", "--credential-cert-configuration-output-file", "c.json", "--output-file", "x.json"],
      "--credential-cert-configuration-output-file can only be used with --credential-cert-path",
    ],
    [
      ["--credential-cert-path", "c.pem", "--aws", "--output-file", "x.json"],
      "only one credential source may be given (got --aws, --credential-cert-path)",
    ],
    [
      [
        "--credential-cert-path",
        "c.pem",
        "--credential-cert-private-key-path",
        "k.pem",
        "--credential-cert-configuration-output-file",
        "same.json",
        "--output-file",
        "same.json",
      ],
      "--credential-cert-configuration-output-file and --output-file name the same file",
    ],
    [
      [
        "--credential-cert-path",
        "c.pem",
        "--credential-cert-private-key-path",
        "k.pem",
        "--sts-location",
        "us-central1",
        "--output-file",
        "x.json",
      ],
      "--sts-location us-central1: a certificate source needs the mTLS endpoint, and there is no locational one; leave the location out",
    ],
  ])("usage error %j", async (args, message) => {
    const result = await runWif(["create-cred-config", RESOURCE, ...args], { cwd: dir.dir });
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(`error: wif create-cred-config: ${message}`);
    expect(existsSync(join(dir.dir, "same.json"))).toBe(false);
  });
});

describe("google-auth-library 10 uses a file wif wrote", () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.stop());

  it("gets a service account token from an --aws --enable-imdsv2 configuration and reads the guarded object", async () => {
    const file = join(dir.dir, "gal-aws.json");
    const result = await runWif([
      "create-cred-config",
      emulator.providerAudience("aws-provider").replace("//iam.googleapis.com/", ""),
      "--aws",
      "--enable-imdsv2",
      "--service-account",
      emulator.serviceAccountEmail("wifkit-reader"),
      "--output-file",
      file,
      "--sts-url",
      `${emulator.urls.sts}/v1/token`,
      "--iam-credentials-url",
      emulator.urls.iamCredentials,
      "--metadata-url",
      emulator.urls.awsImds,
    ]);
    expect(result.code).toBe(0);
    const client = ExternalAccountClient.fromJSON(JSON.parse(readFileSync(file, "utf8")));
    if (!client) throw new Error("google-auth-library refused the configuration");
    const { token } = await client.getAccessToken();
    expect(token).toBeTruthy();
    expect(emulator.counters.get("aws.imds.token")).toBeGreaterThanOrEqual(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
    const response = await client.request<string>({
      url: `${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`,
      responseType: "text",
    });
    expect(response.data).toBe("hello from wifkit\n");
  });

  it("gets a federated token from an --azure configuration", async () => {
    const file = join(dir.dir, "gal-azure.json");
    const result = await runWif([
      "create-cred-config",
      emulator.providerAudience("azure-provider").replace("//iam.googleapis.com/", ""),
      "--azure",
      "--app-id-uri",
      "api://wifkit-demo",
      "--output-file",
      file,
      "--sts-url",
      `${emulator.urls.sts}/v1/token`,
      "--metadata-url",
      emulator.urls.azureImds,
    ]);
    expect(result.code).toBe(0);
    const client = ExternalAccountClient.fromJSON(JSON.parse(readFileSync(file, "utf8")));
    if (!client) throw new Error("google-auth-library refused the configuration");
    const before = emulator.counters.get("sts.token");
    const { token } = await client.getAccessToken();
    expect(token).toBeTruthy();
    expect(emulator.counters.get("sts.token")).toBe(before + 1);
    expect(emulator.counters.get("azure.imds.token")).toBeGreaterThanOrEqual(1);
  });
});
