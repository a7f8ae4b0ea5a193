/** The workloads the plan tests use: an AWS role with impersonation, an Azure managed identity with direct access. */
import type { SetupPlanInit } from "../src/index.js";

export const AWS_WORKLOAD: SetupPlanInit = {
  projectId: "my-project",
  source: { kind: "aws", accountId: "111122223333", role: "app-role" },
  access: { kind: "impersonation", serviceAccount: "app-runner@my-project.iam.gserviceaccount.com" },
};

export const AZURE_WORKLOAD: SetupPlanInit = {
  projectId: "my-project",
  projectNumber: "123456789012",
  source: {
    kind: "azure",
    tenantId: "7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    appIdUri: "api://my-app",
    managedIdentityObjectId: "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a",
  },
  access: { kind: "direct" },
  bucket: "gs://my-bucket",
};
