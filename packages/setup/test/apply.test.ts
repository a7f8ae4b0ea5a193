/**
 * A plan carried out through the admin APIs its gcloud commands call, on an empty emulated project: the
 * workload then gets a token through the credential configuration the plan names and reads the object,
 * for AWS with impersonation and Azure with direct resource access.
 */
import { fromConfig } from "@wifkit/credentials-all";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { httpRequest } from "@wifkit/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySetupPlan, gcloudArgs, planSetup, type SetupPlan } from "../src/index.js";

const AWS_ACCOUNT = "111122223333";
const TENANT = "7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const AZURE_OBJECT_ID = "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a";
const READER = "app-reader@wifkit-demo.iam.gserviceaccount.com";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ empty: true });
});
afterAll(() => emulator.stop());

function apply(plan: SetupPlan, onStep?: (command: string[]) => void) {
  return applySetupPlan(plan, {
    accessToken: emulator.gcloudEnv().CLOUDSDK_AUTH_ACCESS_TOKEN as string,
    endpoints: emulator.urls,
    onStep: (step) => onStep?.(gcloudArgs(step.action)),
  });
}

async function readObject(source: "aws" | "azure", serviceAccount?: string) {
  const config = emulator.credentialConfig({
    source,
    pool: "wif-pool",
    ...(source === "aws" ? { imdsv2: true } : { appIdUri: "api://wifkit-demo" }),
    ...(serviceAccount ? { serviceAccount } : {}),
  });
  const credentials = await fromConfig(config, {
    allow: { origins: emulator.allowOrigins },
    env: source === "aws" ? emulator.awsEnv() : emulator.azureEnv(),
  });
  const { value } = await credentials.getAccessToken();
  const response = await httpRequest({
    url: `${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`,
    headers: { authorization: `Bearer ${value}` },
  });
  return { status: response.status, body: response.body.toString("utf8") };
}

describe("applySetupPlan on an empty emulated project", () => {
  it("sets up AWS with impersonation: the workload reads the object as the service account", async () => {
    expect(emulator.state.services["iamcredentials.googleapis.com"]).toBeFalsy();
    const plan = planSetup({
      projectId: "wifkit-demo",
      source: { kind: "aws", accountId: AWS_ACCOUNT, role: "wifkit-ec2-role" },
      access: { kind: "impersonation", serviceAccount: READER },
      bucket: "wifkit-bucket",
    });
    const commands: string[][] = [];
    const { projectNumber } = await apply(plan, (command) => commands.push(command));
    expect(projectNumber).toBe(emulator.state.projectNumber);
    expect(commands.map((command) => command.slice(1, 5).join(" "))).toEqual([
      "services enable iam.googleapis.com cloudresourcemanager.googleapis.com",
      "projects describe wifkit-demo --format=value(projectNumber)",
      "iam workload-identity-pools create wif-pool",
      "iam workload-identity-pools providers create-aws",
      "iam service-accounts create app-reader",
      "iam service-accounts add-iam-policy-binding app-reader@wifkit-demo.iam.gserviceaccount.com",
      "storage buckets add-iam-policy-binding gs://wifkit-bucket",
    ]);
    expect(emulator.state.serviceAccounts["app-reader"]?.bindings["roles/iam.workloadIdentityUser"]).toEqual([
      `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/wif-pool/attribute.aws_role/wifkit-ec2-role`,
    ]);
    await expect(readObject("aws", READER)).resolves.toEqual({ status: 200, body: "hello from wifkit\n" });
    // Without impersonation the role has no access: the binding went to the service account only.
    await expect(readObject("aws")).resolves.toMatchObject({ status: 403 });
  });

  it("sets up Azure with direct access on the same pool (existing steps are taken as done)", async () => {
    const plan = planSetup({
      projectId: "wifkit-demo",
      projectNumber: emulator.state.projectNumber,
      source: {
        kind: "azure",
        tenantId: TENANT,
        appIdUri: "api://wifkit-demo",
        managedIdentityObjectId: AZURE_OBJECT_ID,
        issuerUri: `${emulator.urls.entra}/${TENANT}`,
      },
      access: { kind: "direct" },
      bucket: "wifkit-bucket",
    });
    await apply(plan);
    await expect(readObject("azure")).resolves.toEqual({ status: 200, body: "hello from wifkit\n" });
  });

  it("names the step an API refuses", async () => {
    const plan = planSetup({
      projectId: "other-project",
      source: { kind: "aws", accountId: AWS_ACCOUNT, role: "wifkit-ec2-role" },
      access: { kind: "direct" },
      bucket: "wifkit-bucket",
    });
    await expect(apply(plan)).rejects.toMatchObject({
      code: "ERR_WIF_SETUP_STEP_FAILED",
      status: 403,
      message: expect.stringMatching(/^Enable the IAM.*failed \(gcloud services enable/),
    });
  });
});
