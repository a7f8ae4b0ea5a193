import { describe, expect, it } from "vitest";
import {
  GUIDE_AWS_MAPPING,
  memberString,
  PROJECT_NUMBER_REF,
  planSetup,
  type SetupPlanInit,
} from "../src/index.js";
import { AWS_WORKLOAD, AZURE_WORKLOAD } from "./fixtures.js";

const AWS = AWS_WORKLOAD;
const AZURE = AZURE_WORKLOAD;

describe("planSetup", () => {
  it("follows the guide for AWS: the four APIs, the number, the pool, the provider, the service account", () => {
    const plan = planSetup({ ...AWS, bucket: "my-bucket" });
    expect(plan.steps.map((step) => step.action.kind)).toEqual([
      "enableServices",
      "readProjectNumber",
      "createPool",
      "createProvider",
      "createServiceAccount",
      "grantOnServiceAccount",
      "grantOnBucket",
    ]);
    expect(plan.steps[3]?.action).toMatchObject({
      aws: { accountId: "111122223333" },
      attributeMapping: GUIDE_AWS_MAPPING,
      attributeCondition: "assertion.arn.startsWith('arn:aws:sts::111122223333:assumed-role/')",
    });
    expect(memberString(plan.principal)).toBe(
      `principalSet://iam.googleapis.com/projects/${PROJECT_NUMBER_REF}/locations/global/workloadIdentityPools/wif-pool/attribute.aws_role/app-role`,
    );
    expect(memberString(plan.principal, "42")).toContain("/projects/42/");
    expect(plan.steps[6]?.action).toMatchObject({
      member: { kind: "serviceAccount", email: "app-runner@my-project.iam.gserviceaccount.com" },
    });
    expect(plan.credentialConfigCommand).toEqual([
      "wif",
      "create-cred-config",
      `projects/${PROJECT_NUMBER_REF}/locations/global/workloadIdentityPools/wif-pool/providers/aws-provider`,
      "--aws",
      "--enable-imdsv2",
      "--service-account=app-runner@my-project.iam.gserviceaccount.com",
      "--output-file=wif-config.json",
    ]);
  });

  it("takes the role's account from its ARN, and refuses an ARN in another account", () => {
    const plan = planSetup({
      ...AWS,
      source: { kind: "aws", role: "arn:aws:iam::444455556666:role/path/app-role" },
    });
    expect(plan.steps[3]?.action).toMatchObject({ aws: { accountId: "444455556666" } });
    expect(memberString(plan.principal)).toMatch(/attribute\.aws_role\/app-role$/);
    expect(() =>
      planSetup({
        ...AWS,
        source: { kind: "aws", accountId: "111122223333", role: "arn:aws:iam::444455556666:role/app-role" },
      }),
    ).toThrow(/source.accountId is 111122223333 but the role ARN is in account 444455556666/);
  });

  it("follows the guide for Azure: issuer, allowed audience, sub as subject, the object id as principal", () => {
    const plan = planSetup(AZURE);
    expect(plan.steps.map((step) => step.action.kind)).toEqual([
      "enableServices",
      "createPool",
      "createProvider",
      "grantOnBucket",
    ]);
    expect(plan.steps[0]?.action).toMatchObject({ project: "my-project" });
    expect(plan.steps[2]?.action).toMatchObject({
      oidc: {
        issuerUri: "https://sts.windows.net/7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        allowedAudiences: ["api://my-app"],
      },
      attributeMapping: { "google.subject": "assertion.sub" },
      attributeCondition: undefined,
    });
    expect(plan.steps[3]?.action).toMatchObject({ bucket: "my-bucket", role: "roles/storage.objectViewer" });
    expect(memberString(plan.principal)).toBe(
      "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wif-pool/subject/4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a",
    );
    expect(plan.credentialConfigCommand).toContain("--app-id-uri=api://my-app");
  });

  it.each([
    ["poolId", { ...AWS, poolId: "gcp-pool" }, /reserves/],
    ["providerId", { ...AWS, providerId: "AB" }, /4 to 32 characters/],
    ["projectId", { ...AWS, projectId: "123456789012" }, /project id/],
    [
      "projectId",
      { ...AWS, projectId: undefined as unknown as string },
      /is required: the id of the pool's project/,
    ],
    ["source.accountId", { ...AWS, source: { kind: "aws", accountId: "1111", role: "r" } }, /12-digit/],
    ["source.accountId", { ...AWS, source: { kind: "aws", role: "r" } }, /required/],
    [
      "access.serviceAccount",
      { ...AWS, access: { kind: "impersonation", serviceAccount: "app@gmail.com" } },
      /email/,
    ],
    ["bucket", { ...AWS, access: { kind: "direct" } }, /required with direct access/],
    ["attributeMapping", { ...AWS, attributeMapping: "google.subject=assertion.arn" }, /attribute\.aws_role/],
    ["attributeMapping", { ...AZURE, attributeMapping: "attribute.tid=assertion.tid" }, /google\.subject/],
    ["attributeCondition", { ...AWS, attributeCondition: "assertion.arn.startsWith(" }, /refused/],
    ["role", { ...AWS, bucket: "my-bucket", role: "storage.objectViewer" }, /roles\//],
  ] as [string, SetupPlanInit, RegExp][])("refuses what Google would: %s", (field, init, message) => {
    expect(() => planSetup(init)).toThrow(
      expect.objectContaining({
        code: "ERR_WIF_INVALID_OPTION",
        field,
        message: expect.stringMatching(message),
      }),
    );
  });
});

describe("planSetup for a second workload", () => {
  it("leaves out the APIs, the pool and the provider when the pool exists", () => {
    const plan = planSetup({ ...AZURE, poolExists: true });
    expect(plan.steps.map((step) => step.action.kind)).toEqual(["grantOnBucket"]);
    const aws = planSetup({ ...AWS, poolExists: true });
    expect(aws.steps.map((step) => step.action.kind)).toEqual([
      "readProjectNumber",
      "createServiceAccount",
      "grantOnServiceAccount",
    ]);
  });
});
