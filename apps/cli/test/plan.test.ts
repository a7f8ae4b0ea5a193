// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the printed script names the shell variable PROJECT_NUMBER.
/** `wif plan`: flags to the printed plan, and usage errors that name the flag. */
import { describe, expect, it } from "vitest";
import { runWif } from "./helpers.js";

const AWS = ["--project", "my-project", "--aws-role", "arn:aws:iam::111122223333:role/app-role"];
const AZURE = [
  "--project",
  "my-project",
  "--azure-tenant",
  "7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
  "--app-id-uri",
  "api://my-app",
  "--managed-identity-object-id",
  "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a",
];
const SA = ["--service-account", "app-runner@my-project.iam.gserviceaccount.com"];

describe("wif plan", () => {
  it("prints the guide's gcloud commands for AWS with impersonation, as a bash script on stdout", async () => {
    const result = await runWif(["plan", ...AWS, ...SA, "--bucket", "my-bucket"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const commands = result.stdout
      .split("\n")
      .filter((line) => /^(PROJECT_NUMBER=|gcloud |wif )/.test(line))
      .map((line) => line.replace(/ \\$/, ""));
    expect(commands).toEqual([
      "gcloud services enable iam.googleapis.com cloudresourcemanager.googleapis.com iamcredentials.googleapis.com sts.googleapis.com",
      'PROJECT_NUMBER="$(gcloud projects describe my-project',
      "gcloud iam workload-identity-pools create wif-pool",
      "gcloud iam workload-identity-pools providers create-aws aws-provider",
      "gcloud iam service-accounts create app-runner",
      "gcloud iam service-accounts add-iam-policy-binding app-runner@my-project.iam.gserviceaccount.com",
      "gcloud storage buckets add-iam-policy-binding gs://my-bucket",
      "wif create-cred-config projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/wif-pool/providers/aws-provider --aws --enable-imdsv2 --service-account=app-runner@my-project.iam.gserviceaccount.com --output-file=wif-config.json",
    ]);
    expect(result.stdout).toContain(
      `    --attribute-condition="assertion.arn.startsWith('arn:aws:sts::111122223333:assumed-role/')"`,
    );
    expect(result.stdout).toContain(
      '    --member="principalSet://iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/wif-pool/attribute.aws_role/app-role"',
    );
  });

  it("prints Terraform for Azure with direct access", async () => {
    const result = await runWif([
      "plan",
      ...AZURE,
      "--direct",
      "--bucket",
      "my-bucket",
      "--format",
      "terraform",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# wif plan: Workload Identity Federation for an Azure workload/);
    for (const type of [
      "google_project_service",
      "google_iam_workload_identity_pool",
      "google_iam_workload_identity_pool_provider",
      "google_storage_bucket_iam_member",
    ]) {
      expect(result.stdout).toContain(`resource "${type}"`);
    }
    expect(result.stdout).toContain(
      'issuer_uri        = "https://sts.windows.net/7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"',
    );
  });

  it.each([
    [["--aws-role", "r", ...SA], "--project is required: the id of the pool's project (gcloud takes the id)"],
    [["--project", "my-project", ...SA], "say who runs the workload: --aws-role ROLE"],
    [[...AWS, "--azure-tenant", "x", ...SA], "give either the AWS flags"],
    [
      AWS,
      "say how the workload reaches Google: --service-account EMAIL (impersonation) or --direct --bucket NAME",
    ],
    [[...AWS, ...SA, "--direct"], "--service-account and --direct exclude each other"],
    [[...AWS, "--direct"], "--bucket is required with direct access"],
    [
      ["--project", "my-project", "--aws-role", "r", "--aws-account", "12", ...SA],
      "--aws-account must be a 12-digit AWS account id (got '12')",
    ],
    [[...AWS, ...SA, "--pool", "gcp-pool"], "--pool must not start with 'gcp-'"],
    [
      [...AWS, ...SA, "--attribute-condition", "assertion.arn ==="],
      "--attribute-condition is refused by Google's rules",
    ],
    [[...AWS, ...SA, "--format", "yaml"], "--format must be one of gcloud, terraform"],
  ])("refuses %j with a usage error naming the flag", async (args, message) => {
    const result = await runWif(["plan", ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`error: wif plan: ${message}`);
    expect(result.stderr).toContain("Usage: wif plan");
  });
});
