/** A plan as gcloud commands: one argument vector per step, and the whole as a bash script to read or run. */
import { formatMappingString } from "@wifkit/attribute-mapping";
import { memberString, PROJECT_NUMBER_REF, type SetupAction, type SetupPlan } from "./plan.js";

/** gcloud's dictionary flags split on commas; a value with one needs gcloud's `^DELIM^` form. */
function mappingFlag(mapping: Readonly<Record<string, string>>): string {
  const text = formatMappingString(mapping);
  if (!Object.values(mapping).some((expression) => expression.includes(","))) return text;
  const delimiter = ["|", ";", "#", "~"].find((candidate) => !text.includes(candidate)) ?? "|";
  return `^${delimiter}^${Object.entries(mapping)
    .map(([key, expression]) => `${key}=${expression}`)
    .join(delimiter)}`;
}

/**
 * The gcloud command of one step, one argument per element (`gcloud` first). Members name the project
 * number as `PROJECT_NUMBER_REF` when the plan reads it.
 */
export function gcloudArgs(action: SetupAction): string[] {
  switch (action.kind) {
    case "enableServices":
      return ["gcloud", "services", "enable", ...action.services, `--project=${action.project}`];
    case "readProjectNumber":
      return ["gcloud", "projects", "describe", action.project, "--format=value(projectNumber)"];
    case "createPool":
      return [
        "gcloud",
        "iam",
        "workload-identity-pools",
        "create",
        action.poolId,
        `--project=${action.project}`,
        "--location=global",
      ];
    case "createProvider":
      return [
        "gcloud",
        "iam",
        "workload-identity-pools",
        "providers",
        action.aws ? "create-aws" : "create-oidc",
        action.providerId,
        `--project=${action.project}`,
        "--location=global",
        `--workload-identity-pool=${action.poolId}`,
        ...(action.aws
          ? [`--account-id=${action.aws.accountId}`]
          : [
              `--issuer-uri=${action.oidc?.issuerUri}`,
              `--allowed-audiences=${action.oidc?.allowedAudiences.join(",")}`,
            ]),
        `--attribute-mapping=${mappingFlag(action.attributeMapping)}`,
        ...(action.attributeCondition ? [`--attribute-condition=${action.attributeCondition}`] : []),
      ];
    case "createServiceAccount":
      return ["gcloud", "iam", "service-accounts", "create", action.accountId, `--project=${action.project}`];
    case "grantOnServiceAccount":
      return [
        "gcloud",
        "iam",
        "service-accounts",
        "add-iam-policy-binding",
        action.serviceAccount,
        `--role=${action.role}`,
        `--member=${memberString(action.member)}`,
      ];
    case "grantOnBucket":
      return [
        "gcloud",
        "storage",
        "buckets",
        "add-iam-policy-binding",
        `gs://${action.bucket}`,
        `--role=${action.role}`,
        `--member=${memberString(action.member)}`,
      ];
  }
}

const BARE = /^[\w@%+=:,./-]+$/;

/** Characters special in double quotes, and in an unquoted here-document. */
const IN_DOUBLE_QUOTES = /["$`\\]/g;
const IN_HERE_DOCUMENT = /[$`\\]/g;

/** `text` with `special` characters escaped for bash, except the project number's reference (expanded). */
function escapeExpansions(text: string, special: RegExp): string {
  return text
    .split(PROJECT_NUMBER_REF)
    .map((part) => part.replace(special, "\\$&"))
    .join(PROJECT_NUMBER_REF);
}
/** Characters double quotes leave special (`!` only matters in an interactive shell). */
const DOUBLE_QUOTE_SPECIAL = /["$`\\]/;

/**
 * One argument for bash: bare when it can be; in double quotes when it names `PROJECT_NUMBER_REF` (so the
 * shell fills it in) or holds single quotes (CEL strings); else in single quotes. A flag keeps its `--name=`
 * outside the quotes, as the guide writes them.
 */
export function shellQuote(arg: string): string {
  const flag = /^(--[a-z-]+=)(.*)$/s.exec(arg);
  if (flag) return `${flag[1]}${flag[2] === "" ? '""' : shellQuote(flag[2] as string)}`;
  if (BARE.test(arg)) return arg;
  if (arg.includes(PROJECT_NUMBER_REF)) return `"${escapeExpansions(arg, IN_DOUBLE_QUOTES)}"`;
  if (!DOUBLE_QUOTE_SPECIAL.test(arg)) return `"${arg}"`;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

/** A command over several lines: the command words, then one flag per line. */
function commandLines(args: readonly string[]): string {
  const lines: string[] = [];
  for (const arg of args.map(shellQuote)) {
    if (lines.length === 0 || arg.startsWith("--")) lines.push(arg);
    else lines[lines.length - 1] += ` ${arg}`;
  }
  return lines.join(" \\\n    ");
}

/**
 * The plan as a bash script (`set -euo pipefail`): each step with a numbered comment and its gcloud
 * command; the project number read into `PROJECT_NUMBER` when the plan does not know it; and at the end
 * the workload's `wif create-cred-config` command, printed with the number filled in.
 */
export function renderGcloudScript(plan: SetupPlan): string {
  const out = [
    "#!/usr/bin/env bash",
    `# wif plan: Workload Identity Federation for ${plan.summary}.`,
    "# Run as an administrator of the project (roles/iam.workloadIdentityPoolAdmin, roles/serviceusage.serviceUsageAdmin,",
    "# and roles/iam.serviceAccountAdmin / roles/storage.admin for the bindings). Steps done already may be skipped:",
    "# a pool and provider serve every workload of the account or tenant.",
    "set -euo pipefail",
  ];
  plan.steps.forEach((step, index) => {
    out.push("", `# ${index + 1}. ${step.title}`);
    const command = commandLines(gcloudArgs(step.action));
    out.push(step.action.kind === "readProjectNumber" ? `PROJECT_NUMBER="$(${command})"` : command);
  });
  out.push(
    "",
    `# ${plan.steps.length + 1}. On the workload: write its credential configuration (the command is printed, to run there)`,
    "cat <<EOF",
    // A here-document prints quotes as they are and expands only what is not escaped: the project number.
    plan.credentialConfigCommand
      .map((arg) =>
        escapeExpansions(arg.includes(PROJECT_NUMBER_REF) ? arg : shellQuote(arg), IN_HERE_DOCUMENT),
      )
      .join(" "),
    "EOF",
    "",
  );
  return out.join("\n");
}
