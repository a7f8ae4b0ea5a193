// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform and shell references, on purpose.
/**
 * The renderings are checked by the programs that read them: bash runs the script (with a stand-in gcloud
 * that records its arguments), and HashiCorp's HCL parser (@cdktf/hcl2json, WebAssembly, offline) reads
 * the Terraform.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  gcloudArgs,
  hclString,
  memberString,
  planSetup,
  renderGcloudScript,
  renderTerraform,
  type SetupPlanInit,
  shellQuote,
} from "../src/index.js";
import { AWS_WORKLOAD, AZURE_WORKLOAD } from "./fixtures.js";

/**
 * @cdktf/hcl2json, typed here: its own declarations pull in the DOM library, which changes Node's types for
 * the rest of the compilation.
 */
const HCL2JSON = "@cdktf/hcl2json";
const { parse, getReferencesInExpression } = (await import(HCL2JSON)) as {
  parse(file: string, text: string): Promise<Record<string, unknown>>;
  getReferencesInExpression(file: string, expression: string): Promise<unknown[]>;
};

const dir = mkdtempSync(join(tmpdir(), "wif-setup-render-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AWS: SetupPlanInit = { ...AWS_WORKLOAD, bucket: "my-bucket" };
const AZURE: SetupPlanInit = {
  ...AZURE_WORKLOAD,
  attributeCondition:
    "assertion.tid == '7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b' && assertion.sub != \"${x}%{y} $HOME\"",
};

/** Runs `script` with bash, a gcloud on PATH that records its arguments and answers `describe` with a number. */
function runScript(script: string): { calls: string[][]; stdout: string } {
  const log = join(dir, "calls.jsonl");
  writeFileSync(log, "");
  const fake = join(dir, "gcloud");
  writeFileSync(
    fake,
    `#!/usr/bin/env node\nrequire("fs").appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + "\\n");\nif (process.argv[3] === "describe") console.log("424242424242");\n`,
  );
  chmodSync(fake, 0o755);
  const path = join(dir, "plan.sh");
  writeFileSync(path, script);
  const stdout = execFileSync("bash", [path], {
    env: { PATH: `${dir}:${process.env.PATH}` },
    encoding: "utf8",
  });
  const calls = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as string[]);
  return { calls, stdout };
}

describe("renderGcloudScript", () => {
  it("quotes every argument so that bash passes it on unchanged", () => {
    const tricky = ["plain", "it's", 'say "hi"', "$HOME `x` \\n", "a b", "", "--flag=it's $y", "!bang"];
    const echoed = execFileSync("bash", ["-c", `printf '%s\\0' ${tricky.map(shellQuote).join(" ")}`], {
      encoding: "utf8",
    });
    expect(echoed.split("\0").slice(0, -1)).toEqual(tricky);
  });

  it.each([
    ["AWS with impersonation", AWS],
    ["Azure with direct access", AZURE],
  ])(
    "runs, for %s, each step's gcloud command with the project number read into PROJECT_NUMBER",
    (_, init) => {
      const plan = planSetup(init);
      const { calls, stdout } = runScript(renderGcloudScript(plan));
      const number = plan.projectNumber.startsWith("$") ? "424242424242" : plan.projectNumber;
      const substitute = (args: string[]) => args.map((arg) => arg.replaceAll("${PROJECT_NUMBER}", number));
      expect(calls).toEqual(plan.steps.map((step) => substitute(gcloudArgs(step.action)).slice(1)));
      expect(stdout.trim()).toBe(substitute(plan.credentialConfigCommand).map(shellQuote).join(" "));
    },
  );

  it("names the principal with the project number and the condition as written", () => {
    const plan = planSetup(AZURE);
    const script = renderGcloudScript(plan);
    expect(script).toContain(`--member=${memberString(plan.principal)}`);
    expect(script).toContain("gcloud iam workload-identity-pools providers create-oidc azure-provider");
    expect(script).not.toContain("PROJECT_NUMBER=");
  });
});

/** hcl2json's shape: `resource.TYPE.NAME[0]`, `output.NAME[0]`. */
type Blocks = {
  resource?: Record<string, Record<string, Record<string, unknown>[]>>;
  output?: Record<string, Record<string, unknown>[]>;
};

describe("renderTerraform", () => {
  it("is HCL with the google provider's pool, provider, service account and IAM member resources (AWS)", async () => {
    const plan = planSetup(AWS);
    const { resource, output } = (await parse("main.tf", renderTerraform(plan))) as Blocks;
    expect(Object.keys(resource ?? {}).sort()).toEqual([
      "google_iam_workload_identity_pool",
      "google_iam_workload_identity_pool_provider",
      "google_project_service",
      "google_service_account",
      "google_service_account_iam_member",
      "google_storage_bucket_iam_member",
    ]);
    expect(resource?.google_iam_workload_identity_pool?.pool?.[0]).toMatchObject({
      project: "my-project",
      workload_identity_pool_id: "wif-pool",
    });
    const provider = resource?.google_iam_workload_identity_pool_provider?.provider?.[0];
    expect(provider).toMatchObject({
      workload_identity_pool_provider_id: "aws-provider",
      attribute_condition: "assertion.arn.startsWith('arn:aws:sts::111122223333:assumed-role/')",
      attribute_mapping: {
        "google.subject": "assertion.arn",
        "attribute.aws_role": "assertion.arn.extract('assumed-role/{role}/')",
      },
      aws: [{ account_id: "111122223333" }],
    });
    expect(resource?.google_service_account_iam_member?.workload_identity_user?.[0]).toMatchObject({
      service_account_id: "${google_service_account.workload.name}",
      role: "roles/iam.workloadIdentityUser",
      member:
        "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.pool.name}/attribute.aws_role/app-role",
    });
    expect(resource?.google_storage_bucket_iam_member?.resource?.[0]).toMatchObject({
      bucket: "my-bucket",
      member: "serviceAccount:${google_service_account.workload.email}",
    });
    expect(output?.credential_config_command?.[0]?.value).toBe(
      "wif create-cred-config ${google_iam_workload_identity_pool_provider.provider.name} --aws --enable-imdsv2 --service-account=app-runner@my-project.iam.gserviceaccount.com --output-file=wif-config.json",
    );
  });

  it("is HCL for Azure, and no character of a condition becomes a template", async () => {
    const text = renderTerraform(planSetup(AZURE));
    const { resource } = (await parse("main.tf", text)) as Blocks;
    const provider = resource?.google_iam_workload_identity_pool_provider?.provider?.[0];
    // HCL reads `${...}` and `%{...}` in a string as templates: hclString escapes them.
    expect(text).toContain(hclString(AZURE.attributeCondition as string));
    expect(await getReferencesInExpression("main.tf", hclString("${x}%{y} $HOME"))).toEqual([]);
    expect(await getReferencesInExpression("main.tf", '"${x}"')).not.toEqual([]);
    expect(provider).toMatchObject({
      oidc: [
        {
          issuer_uri: "https://sts.windows.net/7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
          allowed_audiences: ["api://my-app"],
        },
      ],
    });
    expect(resource?.google_storage_bucket_iam_member?.resource?.[0]?.member).toBe(
      "principal://iam.googleapis.com/${google_iam_workload_identity_pool.pool.name}/subject/4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a",
    );
    expect(resource?.google_service_account).toBeUndefined();
  });

  it("names an existing service account by its project", async () => {
    const plan = planSetup({
      ...AWS,
      access: { ...AWS.access, createServiceAccount: false } as SetupPlanInit["access"],
    });
    const { resource } = (await parse("main.tf", renderTerraform(plan))) as Blocks;
    expect(resource?.google_service_account).toBeUndefined();
    expect(resource?.google_service_account_iam_member?.workload_identity_user?.[0]?.service_account_id).toBe(
      "projects/my-project/serviceAccounts/app-runner@my-project.iam.gserviceaccount.com",
    );
  });
});
