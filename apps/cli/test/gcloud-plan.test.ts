/**
 * `wif plan`'s gcloud commands, run by bash with the installed gcloud against an empty emulated project,
 * then the printed `wif create-cred-config`, then `wif token`, whose token reads the guarded object: for
 * AWS and Azure, with impersonation and with direct resource access. Two scripts per cloud: the first sets
 * up the pool and provider, the second (`--pool-exists`) only another workload's access.
 */
import { execFile } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GCLOUD, runWif, scratch, WIF } from "./helpers.js";

if (!GCLOUD) console.warn("SKIPPED: gcloud is not installed (not on PATH): wif plan's commands were not run");

const TENANT = "7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const AZURE_OBJECT_ID = "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a";
const dir = scratch("wif-gcloud-plan-");
/** What reading gs://wifkit-bucket/hello.txt answers when the setup works. */
const READ = { status: 200, body: "hello from wifkit\n" };
let emulator: Emulator;

/** Runs `script` with bash; `wif` on PATH is the built CLI. Resolves with stdout, rejects with stderr. */
function bash(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      ["-c", script],
      { env: { ...env, PATH: `${dir.dir}${delimiter}${process.env.PATH}` }, timeout: 180_000, cwd: dir.dir },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

beforeAll(async () => {
  emulator = await startEmulator({ empty: true });
  const shim = join(dir.dir, "wif");
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${WIF}" "$@"\n`);
  chmodSync(shim, 0o755);
});
afterAll(async () => {
  await emulator.stop();
  dir.cleanup();
});

interface Workload {
  cloud: "aws" | "azure";
  pool: string;
  flags: string[];
}

/** `wif plan` for a workload, its script run with gcloud; returns the create-cred-config line it printed. */
async function setUp(workload: Workload, access: string[]): Promise<string> {
  const metadata = workload.cloud === "aws" ? emulator.urls.awsImds : emulator.urls.azureImds;
  const plan = await runWif([
    "plan",
    "--project=wifkit-demo",
    `--pool=${workload.pool}`,
    ...workload.flags,
    ...access,
    "--bucket=wifkit-bucket",
    `--sts-url=${emulator.urls.sts}`,
    `--iam-credentials-url=${emulator.urls.iamCredentials}`,
    `--metadata-url=${metadata}`,
  ]);
  expect(plan.stderr).toBe("");
  expect(plan.code).toBe(0);
  const printed = await bash(plan.stdout, { ...emulator.gcloudEnv(), CLOUDSDK_CORE_DISABLE_PROMPTS: "1" });
  // gcloud prints each policy it sets; the script's last line is the workload's command.
  const command = printed.trim().split("\n").pop() ?? "";
  expect(command).toMatch(
    /^wif create-cred-config projects\/123456789012\/locations\/global\/workloadIdentityPools\//,
  );
  return command;
}

/** Runs the printed create-cred-config in a directory of its own, then `wif token`, then reads the object. */
async function readObject(workload: Workload, command: string, name: string) {
  const config = join(dir.dir, `${name}.json`);
  await bash(command.replace("--output-file=wif-config.json", `--output-file=${config}`), {});
  const token = await runWif(["token", "--config", config, "--no-cache"], {
    env: {
      WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
      ...(workload.cloud === "aws" ? emulator.awsEnv() : emulator.azureEnv()),
    },
  });
  expect(token.stderr).toBe("");
  const response = await fetch(`${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`, {
    headers: { authorization: `Bearer ${token.stdout.trim()}` },
  });
  return { status: response.status, body: await response.text() };
}

describe.skipIf(!GCLOUD)(
  "wif plan's commands against the emulator, run by gcloud",
  { timeout: 300_000 },
  () => {
    it("set up AWS and Azure, with impersonation and direct access; wif token then reads the object", async () => {
      const aws: Workload = {
        cloud: "aws",
        pool: "aws-pool",
        flags: ["--aws-account=111122223333", "--aws-role=wifkit-ec2-role"],
      };
      const azure: Workload = {
        cloud: "azure",
        pool: "azure-pool",
        flags: [
          `--azure-tenant=${TENANT}`,
          "--app-id-uri=api://wifkit-demo",
          `--managed-identity-object-id=${AZURE_OBJECT_ID}`,
          `--issuer-uri=${emulator.urls.entra}/${TENANT}`,
        ],
      };
      // Each cloud's first workload creates its pool and provider: the two scripts run side by side.
      const [awsImpersonation, azureDirect] = await Promise.all([
        setUp(aws, ["--service-account=aws-reader@wifkit-demo.iam.gserviceaccount.com"]),
        setUp(azure, ["--direct"]),
      ]);
      expect(awsImpersonation).toContain("--aws --enable-imdsv2 --service-account=aws-reader@");
      await expect(readObject(aws, awsImpersonation, "aws-sa")).resolves.toEqual(READ);
      await expect(readObject(azure, azureDirect, "azure-direct")).resolves.toEqual(READ);

      // The second workload of each pool: only its access is granted.
      const [awsDirect, azureImpersonation] = await Promise.all([
        setUp(aws, ["--pool-exists", "--direct"]),
        setUp(azure, ["--pool-exists", "--service-account=azure-reader@wifkit-demo.iam.gserviceaccount.com"]),
      ]);
      await expect(readObject(aws, awsDirect, "aws-direct")).resolves.toEqual(READ);
      await expect(readObject(azure, azureImpersonation, "azure-sa")).resolves.toEqual(READ);
      expect(emulator.state.pools["aws-pool"]?.providers["aws-provider"]?.attributeCondition).toBe(
        "assertion.arn.startsWith('arn:aws:sts::111122223333:assumed-role/')",
      );
      expect(emulator.state.storage.buckets["wifkit-bucket"]?.bindings["roles/storage.objectViewer"]).toEqual(
        expect.arrayContaining([
          "serviceAccount:aws-reader@wifkit-demo.iam.gserviceaccount.com",
          "serviceAccount:azure-reader@wifkit-demo.iam.gserviceaccount.com",
          "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/wifkit-ec2-role",
          `principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/azure-pool/subject/${AZURE_OBJECT_ID}`,
        ]),
      );
    });
  },
);
