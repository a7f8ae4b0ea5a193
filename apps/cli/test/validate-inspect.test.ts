import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProcess, runWif, scratch, WIF, writeJson } from "./helpers.js";

let emulator: Emulator;
const dir = scratch();
let awsConfig: string;
let azureConfig: string;
let fileConfig: string;
let allow: Record<string, string>;

const write = (name: string, config: object) => writeJson(dir.dir, name, config);

beforeAll(async () => {
  emulator = await startEmulator();
  allow = { WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(",") };
  awsConfig = write(
    "aws.json",
    emulator.credentialConfig({ source: "aws", imdsv2: true, serviceAccount: "wifkit-reader" }),
  );
  azureConfig = write("azure.json", emulator.credentialConfig({ source: "azure" }));
  fileConfig = write("file.json", emulator.credentialConfig({ source: "file" }));
});
afterAll(async () => {
  await emulator.stop();
  dir.cleanup();
});

describe("wif validate", () => {
  it("passes a good configuration offline: the environment is checked, no request is sent, exit 0", async () => {
    emulator.counters.reset();
    const result = await runWif(["validate", "--config", awsConfig], {
      env: { ...allow, ...emulator.awsEnv() },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      `✔ Configuration ${awsConfig} matches the schema and the endpoint policy (external_account)`,
    );
    expect(result.stderr).toContain(
      "✔ AWS credentials: none in the environment, so the EC2 instance role is read from the instance metadata service",
    );
    expect(result.stderr).toContain("Checked offline. `wif doctor` checks the live setup");
    expect(result.stderr).not.toContain("✖");
    expect(emulator.counters.all()).toEqual({});
  });

  it("checks an Azure and a file source the same way", async () => {
    const azure = await runWif(["validate", "--config", azureConfig], {
      env: { ...allow, ...emulator.azureEnv() },
    });
    expect(azure.code).toBe(0);
    expect(azure.stderr).toContain("✔ Azure managed identity source: VM / VMSS IMDS");
    const file = await runWif(["validate", "--config", fileConfig], { env: allow });
    expect(file.code).toBe(0);
    expect(file.stderr).toMatch(/✔ Subject token file .* is readable/);
    // A token file is read (locally): its expiry, issuer and audience.
    expect(file.stderr).toMatch(/✔ Subject token expires in \d+ min \(iss http:\/\/127\.0\.0\.1:\d+/);
  });

  it("lists the configuration's problems with their JSON paths, exit 1", async () => {
    const bad = write("bad.json", {
      type: "external_account",
      audience:
        "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool-one/providers/provider-one",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: { file: "/tmp/token", format: { type: "json" } },
    });
    const result = await runWif(["validate", "--config", bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^✖ Configuration is invalid \(1 problem\) \[ERR_WIF_CONFIG_INVALID\]\n/);
    expect(result.stderr).toContain("    credential_source.format.subject_token_field_name: ");
    expect(result.stderr).not.toContain("Subject token");
  });

  it("--offline stops after the schema", async () => {
    const result = await runWif(["validate", "--config", awsConfig, "--offline"], {
      env: { ...allow, AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9" },
    });
    expect(result.code).toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("does not reach for the subject credential: an unreachable metadata service is doctor's to find", async () => {
    // Nothing listens on port 9 (discard): the metadata service of this "instance" is unreachable.
    const unreachable = write(
      "aws-unreachable.json",
      JSON.parse(
        JSON.stringify(emulator.credentialConfig({ source: "aws" })).replaceAll(
          emulator.urls.awsImds,
          "http://127.0.0.1:9",
        ),
      ),
    );
    const result = await runWif(["validate", "--config", unreachable], {
      env: { WIF_ALLOW_ORIGINS: `${allow.WIF_ALLOW_ORIGINS},http://127.0.0.1:9`, AWS_REGION: "us-east-1" },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("✔ AWS region us-east-1 (from AWS_REGION)");
    expect(result.stderr).not.toContain("127.0.0.1:9");
  });

  it("names the fix for incomplete AWS keys and a missing token file", async () => {
    const aws = await runWif(["validate", "--config", awsConfig], {
      env: { ...allow, AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" },
    });
    expect(aws.code).toBe(1);
    expect(aws.stderr).toContain(
      "✖ AWS credentials in the environment are incomplete\n    fix: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    );
    const missing = write(
      "missing-file.json",
      emulator.credentialConfig({ source: "file", file: join(dir.dir, "no-token") }),
    );
    const file = await runWif(["validate", "--config", missing], { env: allow });
    expect(file.code).toBe(1);
    expect(file.stderr).toContain(
      `✖ Subject token file ${join(dir.dir, "no-token")} does not exist\n    fix: `,
    );
  });
});

describe("wif inspect", () => {
  it("shows the signed AWS request with the signature and session token elided, and the ARN form", async () => {
    const result = await runWif(["inspect", "--config", awsConfig], {
      env: { ...allow, ...emulator.awsEnv() },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    const instance = emulator.awsCredentials("instance");
    expect(result.stderr).toContain(
      "POST https://sts.us-east-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    );
    expect(result.stderr).toMatch(
      /authorization: AWS4-HMAC-SHA256 Credential=ASIA\w+\/\d{8}\/us-east-1\/sts\/aws4_request, SignedHeaders=[\w;-]+, Signature=<elided>/,
    );
    expect(result.stderr).toMatch(/x-amz-security-token: <elided, \d+ characters>/);
    expect(result.stderr).toContain(
      `x-goog-cloud-target-resource: ${emulator.providerAudience("aws-provider")}`,
    );
    expect(result.stderr).toContain("arn:aws:sts::ACCOUNT_ID:assumed-role/ROLE_NAME/SESSION_NAME");
    expect(result.stderr).not.toContain(instance.sessionToken as string);
    expect(result.stderr).not.toMatch(/Signature=[0-9a-f]{64}/);
  });

  it("shows an Azure token's claims, as JSON on stdout with --format json", async () => {
    const result = await runWif(["inspect", "--config", azureConfig, "--format", "json"], {
      env: { ...allow, ...emulator.azureEnv() },
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      source: "azure",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      jwt: { claims: { aud: "api://wifkit-demo", sub: "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a" } },
    });
    expect(report.subject_token).toBeUndefined();
  });

  it("prints the raw subject token only with --show-token, on stdout", async () => {
    const result = await runWif(["inspect", "--config", fileConfig, "--show-token"], { env: allow });
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split(".")).toHaveLength(3);
    expect(result.stderr).toContain('"iss": "http://127.0.0.1:');
    expect(result.stderr).not.toContain(result.stdout.trim());
  });
});

describe("on a terminal", () => {
  // util-linux `script` gives the child a pseudo-terminal, as an interactive shell would.
  const onTerminal = (command: string, env: Record<string, string>) =>
    runProcess("script", ["-qec", `${process.execPath} ${WIF} ${command}`, "/dev/null"], { env });

  it("colours validate's marks, and shows doctor's spinner while it checks; not with NO_COLOR", async () => {
    const env = { ...allow, ...emulator.awsEnv(), TERM: "xterm" };
    const tty = await onTerminal(`validate --config ${awsConfig}`, env);
    expect(tty.code).toBe(0);
    expect(tty.stdout).toContain("\u001b[32m✔\u001b[39m Configuration");
    const doctor = await onTerminal(`doctor --config ${awsConfig}`, env);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toContain("\r\u001b[2K\u001b[2m⠋\u001b[22m Checking the subject token…\r\u001b[2K");
    expect(doctor.stdout).toContain("\u001b[32m✔\u001b[39m ok      subject token");
    const plain = await onTerminal(`validate --config ${awsConfig}`, { ...env, NO_COLOR: "1" });
    expect(plain.stdout).toContain("✔ Configuration");
    expect(plain.stdout).not.toContain("\u001b[32m");
  });

  it("shows neither when stderr is not a terminal", async () => {
    const result = await runWif(["doctor", "--config", awsConfig], {
      env: { ...allow, ...emulator.awsEnv() },
    });
    expect(result.stderr).not.toContain("⠋");
    expect(result.stderr).not.toContain("\u001b[");
  });
});
