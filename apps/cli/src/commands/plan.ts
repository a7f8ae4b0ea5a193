/**
 * `wif plan`: the administrator's half of Workload Identity Federation for one workload, printed as the
 * gcloud commands (a bash script) or as Terraform, with the workload's `wif create-cred-config` command.
 * The plan itself is @wifkit/setup's; this parses the flags and prints.
 */
import type { SetupPlanInit, WorkloadAccess, WorkloadSource } from "@wifkit/setup";
import { baseUrlFlag, oneOf, parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { GLOBAL_FLAGS } from "../specs.js";

const FLAGS = {
  ...GLOBAL_FLAGS,
  project: { type: "string" },
  "project-number": { type: "string" },
  pool: { type: "string" },
  provider: { type: "string" },
  "pool-exists": { type: "boolean" },
  "aws-account": { type: "string" },
  "aws-role": { type: "string" },
  "azure-tenant": { type: "string" },
  "app-id-uri": { type: "string" },
  "managed-identity-object-id": { type: "string" },
  "issuer-uri": { type: "string" },
  "service-account": { type: "string" },
  "service-account-exists": { type: "boolean" },
  direct: { type: "boolean" },
  bucket: { type: "string" },
  role: { type: "string" },
  "attribute-mapping": { type: "string" },
  "attribute-condition": { type: "string" },
  "output-file": { type: "string" },
  "sts-url": { type: "string" },
  "iam-credentials-url": { type: "string" },
  "metadata-url": { type: "string" },
  format: { type: "string" },
} as const;

const FORMATS = ["gcloud", "terraform"] as const;

/** The flag of each plan option, for errors: `@wifkit/setup` names options, the user typed flags. */
const FLAG_OF: Record<string, string> = {
  projectId: "--project",
  projectNumber: "--project-number",
  poolId: "--pool",
  providerId: "--provider",
  "source.accountId": "--aws-account",
  "source.role": "--aws-role",
  "source.tenantId": "--azure-tenant",
  "source.appIdUri": "--app-id-uri",
  "source.managedIdentityObjectId": "--managed-identity-object-id",
  "access.serviceAccount": "--service-account",
  bucket: "--bucket",
  role: "--role",
  attributeMapping: "--attribute-mapping",
  attributeCondition: "--attribute-condition",
};

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

function sourceOf(values: Values): WorkloadSource {
  const aws = values["aws-account"] !== undefined || values["aws-role"] !== undefined;
  const azure = ["azure-tenant", "app-id-uri", "managed-identity-object-id", "issuer-uri"].some(
    (flag) => values[flag as keyof Values] !== undefined,
  );
  if (aws === azure) {
    throw new UsageError(
      aws
        ? "give either the AWS flags (--aws-account, --aws-role) or the Azure ones (--azure-tenant, --app-id-uri, --managed-identity-object-id), not both"
        : "say who runs the workload: --aws-role ROLE (and --aws-account ID), or --azure-tenant, --app-id-uri and --managed-identity-object-id",
      "plan",
    );
  }
  if (aws) {
    if (values["aws-role"] === undefined)
      throw new UsageError("--aws-role is required: the IAM role the workload runs as", "plan");
    return { kind: "aws", accountId: values["aws-account"], role: values["aws-role"] };
  }
  for (const flag of ["azure-tenant", "app-id-uri", "managed-identity-object-id"] as const) {
    if (values[flag] === undefined)
      throw new UsageError(`--${flag} is required for an Azure workload`, "plan");
  }
  return {
    kind: "azure",
    tenantId: values["azure-tenant"] as string,
    appIdUri: values["app-id-uri"] as string,
    managedIdentityObjectId: values["managed-identity-object-id"] as string,
    issuerUri: values["issuer-uri"],
  };
}

function accessOf(values: Values): WorkloadAccess {
  const serviceAccount = values["service-account"];
  if ((serviceAccount === undefined) === (values.direct !== true)) {
    throw new UsageError(
      serviceAccount === undefined
        ? "say how the workload reaches Google: --service-account EMAIL (impersonation) or --direct --bucket NAME"
        : "--service-account and --direct exclude each other",
      "plan",
    );
  }
  return serviceAccount === undefined
    ? { kind: "direct" }
    : {
        kind: "impersonation",
        serviceAccount,
        createServiceAccount: values["service-account-exists"] !== true,
      };
}

/** The wifkit-only endpoint flags, passed on to the printed `create-cred-config` (an emulator's URLs). */
function endpointFlags(values: Values): string[] {
  return (["sts-url", "iam-credentials-url", "metadata-url"] as const).flatMap((flag) => {
    const url = baseUrlFlag("plan", flag, values[flag]);
    return url === undefined ? [] : [`--${flag}=${url}`];
  });
}

export async function run(args: readonly string[], { io }: CommandContext): Promise<number> {
  const { values } = parseFlags("plan", args, FLAGS);
  const format = oneOf("plan", "format", values.format, FORMATS, "gcloud");
  if (values.project === undefined)
    throw new UsageError("--project is required: the id of the pool's project (gcloud takes the id)", "plan");
  const init: SetupPlanInit = {
    projectId: values.project,
    projectNumber: values["project-number"],
    poolId: values.pool,
    providerId: values.provider,
    poolExists: values["pool-exists"] === true,
    source: sourceOf(values),
    access: accessOf(values),
    bucket: values.bucket,
    role: values.role,
    attributeMapping: values["attribute-mapping"],
    attributeCondition: values["attribute-condition"],
    credentialConfigFile: values["output-file"],
    credentialConfigFlags: endpointFlags(values),
  };
  const { planSetup, renderGcloudScript, renderTerraform } = await import("@wifkit/setup");
  let plan: ReturnType<typeof planSetup>;
  try {
    plan = planSetup(init);
  } catch (error) {
    const field = (error as { field?: string }).field;
    if (field === undefined || FLAG_OF[field] === undefined) throw error;
    // "Option source.role must be ..." -> "--aws-role must be ...".
    throw new UsageError((error as Error).message.replace(`Option ${field}`, FLAG_OF[field]), "plan");
  }
  io.out(format === "terraform" ? renderTerraform(plan) : renderGcloudScript(plan));
  return 0;
}
