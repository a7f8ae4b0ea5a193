/**
 * A plan as Terraform for the google provider: `google_project_service`, `google_iam_workload_identity_pool`,
 * `google_iam_workload_identity_pool_provider`, `google_service_account`, and the IAM member resources
 * `google_service_account_iam_member` / `google_storage_bucket_iam_member`. Principals are built from the
 * pool's `name` attribute (`projects/NUMBER/locations/global/workloadIdentityPools/POOL`), so the project
 * number never has to be looked up.
 */
import { shellQuote } from "./gcloud.js";
import type { Member, SetupAction, SetupPlan } from "./plan.js";

/** An HCL string literal: escapes, and `${` / `%{` doubled so that nothing in it is a template. */
export function hclString(value: string): string {
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(/\$\{/g, () => "$${")
    .replace(/%\{/g, "%%{");
  return `"${escaped}"`;
}

type Value = string | { expression: string } | readonly Value[] | { map: Readonly<Record<string, string>> };

/** A reference or function call, written as is. */
const expr = (expression: string) => ({ expression });

function valueText(value: Value, indent: string): string {
  if (typeof value === "string") return hclString(value);
  if (Array.isArray(value)) return `[${value.map((item) => valueText(item, indent)).join(", ")}]`;
  if ("expression" in value) return value.expression;
  const { map } = value;
  const width = Math.max(...Object.keys(map).map((key) => hclString(key).length));
  const lines = Object.entries(map).map(
    ([key, item]) => `${indent}  ${hclString(key).padEnd(width)} = ${hclString(item)}`,
  );
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** An argument (`name = value`) or a nested block (`name { ... }`). */
type Entry = { name: string; value: Value } | { name: string; block: Entry[] };

function bodyText(body: readonly Entry[], indent: string): string[] {
  const width = Math.max(0, ...body.map((entry) => ("value" in entry ? entry.name.length : 0)));
  return body.flatMap((entry) =>
    "value" in entry
      ? [`${indent}${entry.name.padEnd(width)} = ${valueText(entry.value, indent)}`]
      : [`${indent}${entry.name} {`, ...bodyText(entry.block, `${indent}  `), `${indent}}`],
  );
}

/** `[name, value]` pairs as arguments. */
const args = (...pairs: [string, Value][]): Entry[] => pairs.map(([name, value]) => ({ name, value }));

function resource(type: string, name: string, body: readonly Entry[]): string {
  return [`resource "${type}" "${name}" {`, ...bodyText(body, "  "), "}"].join("\n");
}

const POOL = "google_iam_workload_identity_pool.pool";
const PROVIDER = "google_iam_workload_identity_pool_provider.provider";
const SERVICE_ACCOUNT = "google_service_account.workload";

/** A member as a Terraform string: the pool's `name` interpolated into federated principals. */
function memberValue(member: Member, createdAccount: string | undefined): Value {
  if (member.kind === "serviceAccount") {
    return member.email === createdAccount
      ? expr(`"serviceAccount:\${${SERVICE_ACCOUNT}.email}"`)
      : `serviceAccount:${member.email}`;
  }
  return expr(
    `"${member.kind}://iam.googleapis.com/\${${POOL}.name}/${hclString(member.path).slice(1, -1)}"`,
  );
}

function blockOf(action: SetupAction, createdAccount: string | undefined): string | undefined {
  switch (action.kind) {
    case "enableServices":
      return resource(
        "google_project_service",
        "wif",
        args(
          ["for_each", expr(`toset([${action.services.map(hclString).join(", ")}])`)],
          ["project", action.project],
          ["service", expr("each.value")],
          ["disable_on_destroy", expr("false")],
        ),
      );
    case "readProjectNumber":
      return undefined;
    case "createPool":
      return resource(
        "google_iam_workload_identity_pool",
        "pool",
        args(
          ["project", action.project],
          ["workload_identity_pool_id", action.poolId],
          ["depends_on", [expr("google_project_service.wif")]],
        ),
      );
    case "createProvider":
      return resource("google_iam_workload_identity_pool_provider", "provider", [
        ...args(
          ["project", action.project],
          ["workload_identity_pool_id", expr(`${POOL}.workload_identity_pool_id`)],
          ["workload_identity_pool_provider_id", action.providerId],
          ["attribute_mapping", { map: action.attributeMapping }],
        ),
        ...(action.attributeCondition ? args(["attribute_condition", action.attributeCondition]) : []),
        action.oidc
          ? {
              name: "oidc",
              block: args(
                ["issuer_uri", action.oidc.issuerUri],
                ["allowed_audiences", action.oidc.allowedAudiences],
              ),
            }
          : { name: "aws", block: args(["account_id", action.aws?.accountId ?? ""]) },
      ]);
    case "createServiceAccount":
      return resource(
        "google_service_account",
        "workload",
        args(["project", action.project], ["account_id", action.accountId]),
      );
    case "grantOnServiceAccount":
      return resource(
        "google_service_account_iam_member",
        "workload_identity_user",
        args(
          [
            "service_account_id",
            action.serviceAccount === createdAccount
              ? expr(`${SERVICE_ACCOUNT}.name`)
              : // NAME@PROJECT.iam.gserviceaccount.com lives in PROJECT.
                `projects/${action.serviceAccount.split("@")[1]?.split(".")[0]}/serviceAccounts/${action.serviceAccount}`,
          ],
          ["role", action.role],
          ["member", memberValue(action.member, createdAccount)],
        ),
      );
    case "grantOnBucket":
      return resource(
        "google_storage_bucket_iam_member",
        "resource",
        args(
          ["bucket", action.bucket],
          ["role", action.role],
          ["member", memberValue(action.member, createdAccount)],
        ),
      );
  }
}

/**
 * The plan as Terraform (google provider 4.x or later): one resource per step, the federated principal built
 * from the pool's `name`, and an output with the workload's `wif create-cred-config` command.
 */
export function renderTerraform(plan: SetupPlan): string {
  const created = plan.steps.find((step) => step.action.kind === "createServiceAccount");
  const createdAccount =
    created && plan.access.kind === "impersonation" ? plan.access.serviceAccount : undefined;
  const blocks = plan.steps.flatMap((step) => {
    const block = blockOf(step.action, createdAccount);
    return block === undefined ? [] : [`# ${step.title}\n${block}`];
  });
  const [, , , ...flags] = plan.credentialConfigCommand;
  const command = `"wif create-cred-config \${${PROVIDER}.name} ${hclString(flags.map(shellQuote).join(" ")).slice(1, -1)}"`;
  return [
    `# wif plan: Workload Identity Federation for ${plan.summary}.`,
    ...blocks,
    [
      "# On the workload: write its credential configuration with this command",
      'output "credential_config_command" {',
      `  value = ${command}`,
      "}",
    ].join("\n"),
    "",
  ].join("\n\n");
}
