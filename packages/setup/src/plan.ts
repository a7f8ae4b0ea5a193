/**
 * The administrator's half of Workload Identity Federation for one workload, as data: which APIs to enable,
 * the pool and the AWS or Azure provider (with the guide's mapping and condition), the service account, and
 * the IAM bindings. Renderers turn it into gcloud commands (`renderGcloudScript`), Terraform
 * (`renderTerraform`) or the REST calls those commands make (`applySetupPlan`).
 */
import { compileProviderRules, parseMappingString } from "@wifkit/attribute-mapping";
import { invalidOption } from "@wifkit/core";

/** The APIs the guide enables: IAM, Resource Manager, Service Account Credentials, Security Token Service. */
export const GUIDE_APIS: readonly string[] = Object.freeze([
  "iam.googleapis.com",
  "cloudresourcemanager.googleapis.com",
  "iamcredentials.googleapis.com",
  "sts.googleapis.com",
]);
export const DEFAULT_POOL_ID = "wif-pool";
export const DEFAULT_AWS_PROVIDER_ID = "aws-provider";
export const DEFAULT_AZURE_PROVIDER_ID = "azure-provider";
/** The role `bucket` grants when no `role` is given: read objects, as in the guide. */
export const DEFAULT_RESOURCE_ROLE = "roles/storage.objectViewer";
/** Where the printed `wif create-cred-config` writes, when no `outputFile` is given. */
export const DEFAULT_CREDENTIAL_CONFIG_FILE = "wif-config.json";
export const WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser";

/**
 * The guide's mapping for an EC2 instance with an attached role: the ARN as subject, and the account, the
 * role name and the instance id as attributes to grant on.
 */
export const GUIDE_AWS_MAPPING: Readonly<Record<string, string>> = Object.freeze({
  "google.subject": "assertion.arn",
  "attribute.account": "assertion.account",
  "attribute.aws_role": "assertion.arn.extract('assumed-role/{role}/')",
  "attribute.aws_ec2_instance":
    "assertion.arn.extract('assumed-role/{role_and_session}').extract('/{session}')",
});
/** The guide's mapping for Azure: the `sub` claim, which is the managed identity's object id. */
export const GUIDE_AZURE_MAPPING: Readonly<Record<string, string>> = Object.freeze({
  "google.subject": "assertion.sub",
});

/** The guide's condition for AWS: only roles of the account, no IAM users. */
export function guideAwsCondition(accountId: string): string {
  return `assertion.arn.startsWith('arn:aws:sts::${accountId}:assumed-role/')`;
}

/** The Entra ID issuer of a tenant, as the guide writes it. */
export function azureIssuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}`;
}

/** Who runs the workload. */
export type WorkloadSource =
  | {
      kind: "aws";
      /** The 12-digit AWS account id (read from `role` when that is an ARN). */
      accountId?: string | undefined;
      /** The IAM role the workload runs as: its name or `arn:aws:iam::ACCOUNT:role/NAME`. */
      role: string;
    }
  | {
      kind: "azure";
      /** The Entra ID tenant id. */
      tenantId: string;
      /** The Application ID URI of the Entra application the tokens are for (the allowed audience). */
      appIdUri: string;
      /** The object id of the managed identity: the subject (`sub`) of its tokens. */
      managedIdentityObjectId: string;
      /** Default `https://sts.windows.net/TENANT`. */
      issuerUri?: string | undefined;
    };

/** How the workload reaches Google resources. */
export type WorkloadAccess =
  | {
      kind: "impersonation";
      serviceAccount: string;
      /** Print the service account's creation too. Default true. */
      createServiceAccount?: boolean | undefined;
    }
  | { kind: "direct" };

export interface SetupPlanInit {
  /**
   * The project id of the pool (`my-project`): gcloud's `--project` and Terraform's `project` take the id
   * (gcloud refuses a number there).
   */
  projectId: string;
  /** The project number; without it the plan reads it (`gcloud projects describe`). */
  projectNumber?: string | undefined;
  /** Default `DEFAULT_POOL_ID`. */
  poolId?: string | undefined;
  /** Default `DEFAULT_AWS_PROVIDER_ID` or `DEFAULT_AZURE_PROVIDER_ID`. */
  providerId?: string | undefined;
  source: WorkloadSource;
  access: WorkloadAccess;
  /** A Cloud Storage bucket to grant `role` on: to the principal (direct) or to the service account. */
  bucket?: string | undefined;
  /** Default `DEFAULT_RESOURCE_ROLE`. */
  role?: string | undefined;
  /** Replaces the guide's mapping (`google.subject=...,attribute.x=...` or an object). */
  attributeMapping?: string | Readonly<Record<string, string>> | undefined;
  /** Replaces the guide's condition; `""` for none. */
  attributeCondition?: string | undefined;
  /** Default `DEFAULT_CREDENTIAL_CONFIG_FILE`. */
  credentialConfigFile?: string | undefined;
  /**
   * The pool and the provider exist already (set up for another workload of the same account or tenant):
   * the plan then leaves out enabling the APIs and creating them, and grants only this workload's access.
   */
  poolExists?: boolean | undefined;
  /** Flags appended to the printed `wif create-cred-config` (e.g. an emulator's `--sts-url URL`). */
  credentialConfigFlags?: readonly string[] | undefined;
}

/**
 * Stands for the project number in commands when the plan does not know it: the shell script reads it into
 * this variable, the REST calls substitute what `projects describe` answered.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a shell variable reference, on purpose.
export const PROJECT_NUMBER_REF = "${PROJECT_NUMBER}";

/** Who gets a role: a federated principal (set) of the pool, or a service account. */
export type Member =
  | { kind: "principal" | "principalSet"; poolId: string; projectNumber: string; path: string }
  | { kind: "serviceAccount"; email: string };

/** One thing the administrator does. */
export type SetupAction =
  | { kind: "enableServices"; project: string; services: readonly string[] }
  | { kind: "readProjectNumber"; project: string }
  | { kind: "createPool"; project: string; poolId: string }
  | {
      kind: "createProvider";
      project: string;
      poolId: string;
      providerId: string;
      attributeMapping: Readonly<Record<string, string>>;
      attributeCondition: string | undefined;
      aws?: { accountId: string } | undefined;
      oidc?: { issuerUri: string; allowedAudiences: readonly string[] } | undefined;
    }
  | { kind: "createServiceAccount"; project: string; accountId: string }
  | { kind: "grantOnServiceAccount"; serviceAccount: string; role: string; member: Member }
  | { kind: "grantOnBucket"; bucket: string; role: string; member: Member };

export interface SetupStep {
  /** What it does and why, one line. */
  title: string;
  action: SetupAction;
}

export interface SetupPlan {
  projectId: string;
  /** The number, or `PROJECT_NUMBER_REF` when a step reads it. */
  projectNumber: string;
  poolId: string;
  providerId: string;
  source: WorkloadSource;
  access: WorkloadAccess;
  /** The federated principal (set) of the workload. */
  principal: Member;
  /** What `wif create-cred-config` needs: `projects/N/locations/global/workloadIdentityPools/P/providers/X`. */
  providerResource: string;
  steps: SetupStep[];
  /** The workload's half: `wif create-cred-config ...`, one argument per element. */
  credentialConfigCommand: string[];
  /** One-line summary: which workload, which access. */
  summary: string;
}

const ID = /^[a-z0-9-]{4,32}$/;
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const PROJECT_NUMBER = /^[0-9]{1,20}$/;
const AWS_ACCOUNT = /^[0-9]{12}$/;
const AWS_ROLE_ARN = /^arn:aws[a-z-]*:iam::([0-9]{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const AWS_ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SERVICE_ACCOUNT =
  /^([a-z][a-z0-9-]{4,28}[a-z0-9])@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const ROLE = /^(roles|projects\/[^/]+\/roles|organizations\/[0-9]+\/roles)\/[\w.]+$/;

function poolLikeId(field: string, value: string): string {
  if (!ID.test(value))
    throw invalidOption(field, `must be 4 to 32 characters of [a-z0-9-] (got '${value}').`);
  if (value.startsWith("gcp-"))
    throw invalidOption(field, `must not start with 'gcp-', which Google reserves (got '${value}').`);
  return value;
}

function checked(field: string, value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw invalidOption(field, `must be ${what} (got '${value}').`);
  return value;
}

/** The role's name and account, from a name plus `accountId` or from an ARN (which must agree with it). */
function awsRole(source: Extract<WorkloadSource, { kind: "aws" }>): { role: string; accountId: string } {
  const arn = AWS_ROLE_ARN.exec(source.role);
  if (arn) {
    const [, account, role] = arn as unknown as [string, string, string];
    if (source.accountId !== undefined && source.accountId !== account) {
      throw invalidOption(
        "source.accountId",
        `is ${source.accountId} but the role ARN is in account ${account}.`,
      );
    }
    return { role, accountId: account };
  }
  checked("source.role", source.role, AWS_ROLE_NAME, "an IAM role name or arn:aws:iam::ACCOUNT:role/NAME");
  if (source.accountId === undefined)
    throw invalidOption("source.accountId", "is required with a role name.");
  return {
    role: source.role,
    accountId: checked("source.accountId", source.accountId, AWS_ACCOUNT, "a 12-digit AWS account id"),
  };
}

function mappingOf(init: SetupPlanInit): Record<string, string> {
  const given = init.attributeMapping;
  if (given === undefined)
    return { ...(init.source.kind === "aws" ? GUIDE_AWS_MAPPING : GUIDE_AZURE_MAPPING) };
  return typeof given === "string" ? parseMappingString(given) : { ...given };
}

/** The principal the bindings name, in the terms of the mapping the plan creates. */
function principalOf(
  init: SetupPlanInit,
  mapping: Readonly<Record<string, string>>,
  ref: { poolId: string; projectNumber: string },
  role: string | undefined,
): Member {
  if (init.source.kind === "azure") {
    return { kind: "principal", ...ref, path: `subject/${init.source.managedIdentityObjectId}` };
  }
  if (mapping["attribute.aws_role"] !== GUIDE_AWS_MAPPING["attribute.aws_role"]) {
    throw invalidOption(
      "attributeMapping",
      `must map attribute.aws_role=${GUIDE_AWS_MAPPING["attribute.aws_role"]}: the binding grants the role by that attribute.`,
    );
  }
  return { kind: "principalSet", ...ref, path: `attribute.aws_role/${role}` };
}

/**
 * Plans the administrator's half for one workload, following Google's guide "Configure Workload Identity
 * Federation with AWS or Azure VMs": enable the four APIs, read the project number, create the pool and
 * the provider (the guide's mapping and condition unless replaced; both checked with Google's rules), then
 * either create the service account, let the workload impersonate it and grant it the resource, or grant
 * the workload's principal the resource directly. Throws `ERR_WIF_INVALID_OPTION` naming the field for
 * anything Google would refuse.
 *
 * @example
 * const plan = planSetup({
 *   projectId: "my-project",
 *   source: { kind: "aws", accountId: "111122223333", role: "app-role" },
 *   access: { kind: "impersonation", serviceAccount: "app@my-project.iam.gserviceaccount.com" },
 *   bucket: "my-bucket",
 * });
 * process.stdout.write(renderGcloudScript(plan));
 */
export function planSetup(init: SetupPlanInit): SetupPlan {
  if (init.projectId === undefined)
    throw invalidOption("projectId", "is required: the id of the pool's project.");
  const project = checked(
    "projectId",
    init.projectId,
    PROJECT_ID,
    "a project id such as my-project (not the number)",
  );
  const knownNumber =
    init.projectNumber === undefined
      ? undefined
      : checked("projectNumber", init.projectNumber, PROJECT_NUMBER, "the project number (digits)");
  const projectNumber = knownNumber ?? PROJECT_NUMBER_REF;
  const source = init.source;
  const azure = source.kind === "azure" ? source : undefined;
  const poolId = poolLikeId("poolId", init.poolId ?? DEFAULT_POOL_ID);
  const providerId = poolLikeId(
    "providerId",
    init.providerId ?? (azure ? DEFAULT_AZURE_PROVIDER_ID : DEFAULT_AWS_PROVIDER_ID),
  );

  const aws = source.kind === "aws" ? awsRole(source) : undefined;
  if (azure) {
    checked("source.tenantId", azure.tenantId, UUID, "the Entra ID tenant id (a GUID)");
    checked(
      "source.managedIdentityObjectId",
      azure.managedIdentityObjectId,
      UUID,
      "the managed identity's object id (a GUID)",
    );
    if (azure.appIdUri.trim() === "" || azure.appIdUri.length > 256)
      throw invalidOption("source.appIdUri", "must be the Application ID URI, at most 256 characters.");
  }
  const attributeMapping = mappingOf(init);
  const condition = init.attributeCondition ?? (aws ? guideAwsCondition(aws.accountId) : undefined);
  const attributeCondition = condition?.trim() === "" ? undefined : condition;
  try {
    compileProviderRules({
      providerType: azure ? "oidc" : "aws",
      mapping: attributeMapping,
      condition: attributeCondition,
    });
  } catch (error) {
    const field = /condition/i.test((error as Error).message) ? "attributeCondition" : "attributeMapping";
    throw invalidOption(field, `is refused by Google's rules: ${(error as Error).message}`);
  }

  const ref = { poolId, projectNumber };
  const principal = principalOf(init, attributeMapping, ref, aws?.role);
  const role = checked(
    "role",
    init.role ?? DEFAULT_RESOURCE_ROLE,
    ROLE,
    "a role such as roles/storage.objectViewer",
  );
  const bucket =
    init.bucket === undefined
      ? undefined
      : checked("bucket", init.bucket.replace(/^gs:\/\//, ""), BUCKET, "a bucket name");
  const access = init.access;
  if (access.kind === "direct" && bucket === undefined)
    throw invalidOption(
      "bucket",
      "is required with direct access: it is the resource the principal is granted.",
    );

  const steps: SetupStep[] = [];
  if (init.poolExists !== true) {
    steps.push({
      title: "Enable the IAM, Resource Manager, Service Account Credentials and Security Token Service APIs",
      action: { kind: "enableServices", project, services: GUIDE_APIS },
    });
  }
  if (knownNumber === undefined) {
    steps.push({
      title: "Read the project number: principal identifiers name the project by number, not id",
      action: { kind: "readProjectNumber", project },
    });
  }
  if (init.poolExists !== true) {
    steps.push({
      title: `Create the workload identity pool ${poolId}`,
      action: { kind: "createPool", project, poolId },
    });
    steps.push({
      title: azure
        ? `Create the Azure provider ${providerId}: it trusts tenant ${azure.tenantId} for tokens issued to ${azure.appIdUri}`
        : `Create the AWS provider ${providerId}: it trusts account ${aws?.accountId}${attributeCondition ? ", and its condition admits only roles" : ""}`,
      action: {
        kind: "createProvider",
        project,
        poolId,
        providerId,
        attributeMapping,
        attributeCondition,
        ...(azure
          ? {
              oidc: {
                issuerUri: azure.issuerUri ?? azureIssuer(azure.tenantId),
                allowedAudiences: [azure.appIdUri],
              },
            }
          : { aws: { accountId: aws?.accountId as string } }),
      },
    });
  }
  if (access.kind === "impersonation") {
    const [, accountId, saProject] = SERVICE_ACCOUNT.exec(access.serviceAccount) ?? [];
    if (accountId === undefined || saProject === undefined) {
      throw invalidOption(
        "access.serviceAccount",
        `must be a service account email NAME@PROJECT.iam.gserviceaccount.com (got '${access.serviceAccount}').`,
      );
    }
    if (access.createServiceAccount !== false) {
      steps.push({
        title: `Create the service account ${access.serviceAccount} that represents the workload`,
        action: { kind: "createServiceAccount", project: saProject, accountId },
      });
    }
    steps.push({
      title: `Let the workload impersonate ${access.serviceAccount} (${WORKLOAD_IDENTITY_USER_ROLE})`,
      action: {
        kind: "grantOnServiceAccount",
        serviceAccount: access.serviceAccount,
        role: WORKLOAD_IDENTITY_USER_ROLE,
        member: principal,
      },
    });
    if (bucket !== undefined) {
      steps.push({
        title: `Grant the service account ${role} on gs://${bucket}`,
        action: {
          kind: "grantOnBucket",
          bucket,
          role,
          member: { kind: "serviceAccount", email: access.serviceAccount },
        },
      });
    }
  } else if (bucket !== undefined) {
    steps.push({
      title: `Grant the workload's federated principal ${role} on gs://${bucket} (direct resource access)`,
      action: { kind: "grantOnBucket", bucket, role, member: principal },
    });
  }

  const providerResource = `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}/providers/${providerId}`;
  const credentialConfigCommand = [
    "wif",
    "create-cred-config",
    providerResource,
    ...(azure ? ["--azure", `--app-id-uri=${azure.appIdUri}`] : ["--aws", "--enable-imdsv2"]),
    ...(access.kind === "impersonation" ? [`--service-account=${access.serviceAccount}`] : []),
    `--output-file=${init.credentialConfigFile ?? DEFAULT_CREDENTIAL_CONFIG_FILE}`,
    ...(init.credentialConfigFlags ?? []),
  ];
  const who = azure
    ? `an Azure workload with managed identity ${azure.managedIdentityObjectId} in tenant ${azure.tenantId}`
    : `an AWS workload running as role ${aws?.role} in account ${aws?.accountId}`;
  const how =
    access.kind === "impersonation"
      ? `impersonating ${access.serviceAccount}`
      : `with direct resource access${bucket ? ` to gs://${bucket}` : ""}`;
  return {
    projectId: project,
    projectNumber,
    poolId,
    providerId,
    source,
    access,
    principal,
    providerResource,
    steps,
    credentialConfigCommand,
    summary: `${who}, ${how}`,
  };
}

/** A member as IAM writes it, with `projectNumber` in place of `PROJECT_NUMBER_REF` when given. */
export function memberString(member: Member, projectNumber?: string): string {
  if (member.kind === "serviceAccount") return `serviceAccount:${member.email}`;
  const number =
    member.projectNumber === PROJECT_NUMBER_REF && projectNumber ? projectNumber : member.projectNumber;
  return `${member.kind}://iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/${member.poolId}/${member.path}`;
}
