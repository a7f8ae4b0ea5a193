/**
 * `wif doctor` against the emulator, one failure injected at a time: each run says which step fails and
 * the command that fixes it, and exits 1; a healthy setup passes every step and exits 0.
 */
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GCLOUD, runProcess, runWif, scratch, writeJson } from "./helpers.js";

let emulator: Emulator;
const dir = scratch("wif-doctor-test-");
let awsConfig: string;
let azureConfig: string;
let env: Record<string, string>;
let adminEnv: Record<string, string>;

const EC2_SESSION = "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role/i-0a1b2c3d4e5f60718";
const POOL = "projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool";
const PROVIDER = `${POOL}/providers/aws-provider`;

const write = (name: string, config: object) => writeJson(dir.dir, name, config);

beforeAll(async () => {
  emulator = await startEmulator();
  awsConfig = write(
    "aws.json",
    emulator.credentialConfig({ source: "aws", imdsv2: true, serviceAccount: "wifkit-reader" }),
  );
  azureConfig = write("azure.json", emulator.credentialConfig({ source: "azure" }));
  env = {
    WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
    ...emulator.awsEnv(),
    ...emulator.azureEnv(),
  };
  // What gcloud's environment gives doctor: where the admin APIs are, and an administrator's token.
  const gcloud = emulator.gcloudEnv();
  adminEnv = {
    ...env,
    ...Object.fromEntries(
      Object.entries(gcloud).filter(([name]) =>
        /^CLOUDSDK_(API_ENDPOINT_OVERRIDES_|AUTH_ACCESS_TOKEN)/.test(name),
      ),
    ),
  };
});
afterEach(() => {
  emulator.reconfigure({
    services: { "sts.googleapis.com": true, "iamcredentials.googleapis.com": true },
    pools: {
      "wifkit-pool": {
        disabled: false,
        deleteTime: null,
        providers: { "aws-provider": { disabled: false, attributeCondition: null } },
      },
    },
    serviceAccounts: {
      "wifkit-reader": {
        bindings: {
          "roles/iam.workloadIdentityUser": [`principalSet://iam.googleapis.com/${POOL}/*`],
        },
      },
    },
  } as never);
});
afterAll(async () => {
  await emulator.stop();
  dir.cleanup();
});

if (!GCLOUD)
  console.warn("SKIPPED in part: gcloud is not installed (not on PATH): doctor's fixes were not run");

/**
 * Runs a fix doctor gave with the installed gcloud against the emulator, then doctor again, which must
 * pass: the fix is the command that fixes it. Without gcloud, nothing (the suite says so once).
 */
async function applyFix(fix: string | undefined, config: string): Promise<void> {
  if (!GCLOUD || fix === undefined) return;
  const gcloud = await runProcess("bash", ["-c", fix], {
    env: { ...emulator.gcloudEnv(), CLOUDSDK_CORE_DISABLE_PROMPTS: "1" },
    timeoutMs: 60_000,
  });
  expect(gcloud.code, gcloud.stderr).toBe(0);
  const again = await doctor(config);
  expect(again.report.steps.filter((step) => step.status === "fail")).toEqual([]);
  expect(again.code).toBe(0);
}

/** Runs doctor; returns its exit code and, per step, the status line and the fix. */
async function doctor(config: string, options: { admin?: boolean } = {}) {
  const result = await runWif(["doctor", "--config", config, "--format", "json"], {
    env: options.admin === false ? env : adminEnv,
  });
  expect(result.stderr).toBe("");
  const report = JSON.parse(result.stdout) as {
    ok: boolean;
    steps: { id: string; status: string; summary: string; details?: string[]; fix?: string }[];
  };
  return { code: result.code, report, step: (id: string) => report.steps.find((s) => s.id === id) };
}

describe("wif doctor", () => {
  it("passes a healthy AWS setup step by step, one line per step, exit 0", async () => {
    const result = await runWif(["doctor", "--config", awsConfig], { env: adminEnv });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n").filter((line) => /^[✔✖-] /.test(line));
    expect(lines).toEqual([
      `✔ ok      subject token: AWS signed GetCallerIdentity request; AWS says the caller is ${EC2_SESSION}`,
      expect.stringMatching(
        /^✔ ok {6}STS exchange: STS exchanged it at http:\/\/127\.0\.0\.1:\d+ for a federated token/,
      ),
      `✔ ok      introspection: the federated principal is principal://iam.googleapis.com/${POOL}/subject/${EC2_SESSION}`,
      `✔ ok      provider: provider aws-provider accepts this credential as google.subject ${EC2_SESSION}`,
      expect.stringMatching(
        /^✔ ok {6}APIs: enabled in project 123456789012: sts\.googleapis\.com, iamcredentials/,
      ),
      `✔ ok      impersonation: principal://iam.googleapis.com/${POOL}/subject/${EC2_SESSION} may impersonate wifkit-reader@wifkit-demo.iam.gserviceaccount.com`,
      "✔ ok      project number: project number 123456789012 is project wifkit-demo",
    ]);
    expect(result.stderr).toContain("Every check passed.");
  });

  it("passes a healthy Azure setup (direct access) and shows the token's claims, in JSON too", async () => {
    const { code, report, step } = await doctor(azureConfig);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(step("subject-token")?.summary).toMatch(
      /^JWT from http:\/\/127\.0\.0\.1:\d+\/7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b\/ for "api:\/\/wifkit-demo", sub 4d7c6b2a-/,
    );
    expect(step("subject-token")?.details).toContain('tid: "7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"');
    expect(step("impersonation")).toMatchObject({
      status: "skipped",
      summary: expect.stringContaining("direct"),
    });
  });

  it("wrong audience: STS refuses, and the provider step says the pool has no such provider", async () => {
    const config = emulator.credentialConfig({
      source: "aws",
      imdsv2: true,
      serviceAccount: "wifkit-reader",
    });
    const wrong = write("wrong-audience.json", {
      ...config,
      audience: config.audience.replace("aws-provider", "aws-provder"),
    });
    const { code, step } = await doctor(wrong);
    expect(code).toBe(1);
    expect(step("sts-exchange")).toMatchObject({ status: "fail", fix: "see the provider step" });
    expect(step("sts-exchange")?.details?.[0]).toContain("invalid_target");
    expect(step("provider")).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(
        /^pool wifkit-pool has no provider aws-provder \(it has aws-provider, .*\): the configuration's audience is wrong$/,
      ),
      fix: expect.stringContaining(`wif create-cred-config ${POOL}/providers/aws-provider`),
    });
    expect(step("introspection")?.status).toBe("skipped");
    expect(step("impersonation")?.status).toBe("skipped");
  });

  it("condition false: the provider step evaluates it on this credential", async () => {
    emulator.reconfigure({
      pools: {
        "wifkit-pool": {
          providers: {
            "aws-provider": {
              type: "aws",
              attributeCondition: "attribute.aws_role.endsWith('/ci-deployer')",
            },
          },
        },
      },
    });
    const { code, step } = await doctor(awsConfig);
    expect(code).toBe(1);
    expect(step("sts-exchange")?.details?.[0]).toContain("ERR_WIF_STS_REJECTED_BY_CONDITION");
    expect(step("provider")).toMatchObject({
      status: "fail",
      summary:
        "the provider's condition is false for this credential: attribute.aws_role.endsWith('/ci-deployer')",
      fix: `run the workload as an identity the condition admits, or change the condition: gcloud iam workload-identity-pools providers update-aws ${PROVIDER} --attribute-condition=CONDITION`,
    });
    expect(step("provider")?.details).toContain(
      `mapped: google.subject=${EC2_SESSION}, attribute.aws_role="arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role"`,
    );
  });

  it("API disabled: told apart from a missing binding, with the enable command", async () => {
    emulator.reconfigure({ services: { "iamcredentials.googleapis.com": false } });
    const { code, step } = await doctor(awsConfig);
    expect(code).toBe(1);
    const enable = "gcloud services enable iamcredentials.googleapis.com --project=123456789012";
    expect(step("apis")).toMatchObject({ status: "fail", fix: enable });
    expect(step("impersonation")).toMatchObject({ status: "fail", fix: enable });
    expect(step("impersonation")?.details?.[0]).toContain("ERR_WIF_SERVICE_DISABLED");
    expect(step("sts-exchange")?.status).toBe("ok");
    await applyFix(step("apis")?.fix, awsConfig);
  });

  it("binding missing: the fix grants the real principal, read from introspection", async () => {
    emulator.reconfigure({
      serviceAccounts: { "wifkit-reader": { bindings: { "roles/iam.workloadIdentityUser": [] } } },
    });
    const { code, step } = await doctor(awsConfig);
    expect(code).toBe(1);
    expect(step("apis")?.status).toBe("ok");
    expect(step("impersonation")).toMatchObject({
      status: "fail",
      fix: `gcloud iam service-accounts add-iam-policy-binding wifkit-reader@wifkit-demo.iam.gserviceaccount.com --role=roles/iam.workloadIdentityUser --member="principal://iam.googleapis.com/${POOL}/subject/${EC2_SESSION}"`,
    });
    await applyFix(step("impersonation")?.fix, awsConfig);
  });

  it("binding missing, seen by wif token: the real project number and pool, not placeholders", async () => {
    emulator.reconfigure({
      serviceAccounts: { "wifkit-reader": { bindings: { "roles/iam.workloadIdentityUser": [] } } },
    });
    const result = await runWif(["token", "--config", awsConfig, "--no-cache"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `gcloud iam service-accounts add-iam-policy-binding wifkit-reader@wifkit-demo.iam.gserviceaccount.com --role=roles/iam.workloadIdentityUser --member="principalSet://iam.googleapis.com/${POOL}/*"`,
    );
    expect(result.stderr).not.toMatch(/PROJECT_NUMBER|POOL_ID/);
  });

  it("provider disabled: the fix enables it", async () => {
    emulator.reconfigure({
      pools: { "wifkit-pool": { providers: { "aws-provider": { type: "aws", disabled: true } } } },
    });
    const { code, step } = await doctor(awsConfig);
    expect(code).toBe(1);
    expect(step("sts-exchange")?.status).toBe("fail");
    expect(step("provider")).toMatchObject({
      status: "fail",
      summary: "provider aws-provider is disabled",
      fix: `gcloud iam workload-identity-pools providers update-aws ${PROVIDER} --no-disabled`,
    });
    await applyFix(step("provider")?.fix, awsConfig);
  });

  it("pool deleted: the fix undeletes it; without an administrator's token the provider step is skipped", async () => {
    emulator.reconfigure({
      pools: { "wifkit-pool": { deleteTime: new Date(emulator.clock.now()).toISOString() } },
    });
    const { code, step } = await doctor(awsConfig);
    expect(code).toBe(1);
    expect(step("provider")).toMatchObject({
      status: "fail",
      summary: "pool wifkit-pool was deleted: STS refuses every provider in it",
      fix: `gcloud iam workload-identity-pools undelete ${POOL}`,
    });
    const unread = await doctor(awsConfig, { admin: false });
    expect(unread.code).toBe(1);
    expect(unread.step("provider")).toMatchObject({
      status: "skipped",
      summary: expect.stringContaining(
        "with an administrator's token (CLOUDSDK_AUTH_ACCESS_TOKEN=$(gcloud auth print-access-token))",
      ),
    });
    expect(unread.step("sts-exchange")?.details?.[0]).toContain(
      `gcloud iam workload-identity-pools providers describe ${PROVIDER}`,
    );
    await applyFix(step("provider")?.fix, awsConfig);
  });

  it("a subject token that cannot be had fails the first step and skips what needs it", async () => {
    // Nothing listens on port 9 (discard): the metadata service of this "instance" is unreachable.
    const config = emulator.credentialConfig({ source: "aws", serviceAccount: "wifkit-reader" });
    const unreachable = write(
      "aws-unreachable.json",
      JSON.parse(JSON.stringify(config).replaceAll(emulator.urls.awsImds, "http://127.0.0.1:9")),
    );
    const result = await runWif(["doctor", "--config", unreachable], {
      env: {
        ...adminEnv,
        WIF_ALLOW_ORIGINS: `${adminEnv.WIF_ALLOW_ORIGINS},http://127.0.0.1:9`,
        AWS_REGION: "us-east-1",
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^✖ fail {4}subject token: the subject token could not be had\n {4}\[ERR_WIF_[A-Z_]+\] .*127\.0\.0\.1:9/m,
    );
    expect(result.stderr).toContain("- skipped STS exchange: no subject token to exchange");
    expect(result.stderr).toMatch(/1 check failed: subject token/);
  });
});
