/**
 * The emulator's declarative configuration: what exists in the emulated clouds (project, pools, providers,
 * service accounts and their bindings, a storage bucket, an AWS account, an Azure tenant, a Kubernetes
 * cluster issuer). A config given to `startEmulator({ config })` or `wif-emulator --config FILE` is
 * deep-merged over {@link DEFAULT_EMULATOR_CONFIG}: objects merge key by key, arrays and scalars replace,
 * and `null` removes a default entry. Collections are objects keyed by id, so one field of one entry can be
 * changed without restating the rest (`{ pools: { "wifkit-pool": { providers: { "aws-provider": { disabled: true } } } } }`).
 *
 * Strings in members, issuers and emails may use placeholders, filled in when the emulator starts:
 * `{projectNumber}`, `{projectId}`, `{awsAccountId}`, `{tenantId}`, `{pool}` (the first pool's id) and the
 * base URL of any emulated service (`{entra}`, `{kubernetes}`, `{sts}`...).
 */

import { WifError } from "@wifkit/core";
import {
  allowedAudiencesProblem,
  awsAccountIdProblem,
  descriptionProblem,
  displayNameProblem,
  issuerUriProblem,
  resourceIdProblem,
} from "./iam-rules.js";

export type ProviderType = "aws" | "oidc";

export interface ProviderConfig {
  type: ProviderType;
  disabled?: boolean;
  displayName?: string;
  description?: string;
  /** Set when the provider was deleted (RFC 3339): it refuses exchanges and can be undeleted for 30 days. */
  deleteTime?: string;
  /** `attributeMapping` as an object or Google's string form. Default: Google's AWS default / `google.subject=assertion.sub`. */
  attributeMapping?: string | Record<string, string>;
  /** CEL `attributeCondition`; unset accepts every valid credential. */
  attributeCondition?: string;
  /** AWS providers: the one account whose credentials are accepted. */
  awsAccountId?: string;
  /** OIDC providers: the issuer whose discovery document and JWKS are fetched. */
  issuerUri?: string;
  /** OIDC providers: accepted `aud` values; empty accepts the provider's own resource name (with or without https:). */
  allowedAudiences?: string[];
}

export interface PoolConfig {
  disabled?: boolean;
  displayName?: string;
  description?: string;
  /** Set when the pool was deleted (RFC 3339): its providers refuse exchanges; undeletable for 30 days. */
  deleteTime?: string;
  providers?: Record<string, ProviderConfig | null>;
}

export interface ServiceAccountConfig {
  /** Default `ID@{projectId}.iam.gserviceaccount.com`. */
  email?: string;
  displayName?: string;
  description?: string;
  disabled?: boolean;
  /** IAM bindings on the service account: role -> members (`principal://`, `principalSet://`, `serviceAccount:EMAIL`). */
  bindings?: Record<string, string[] | null>;
}

export interface StorageObjectConfig {
  content: string;
  contentType?: string;
}

export interface BucketConfig {
  /** Bucket IAM: role -> members. Reading an object needs a role that grants storage.objects.get. */
  bindings?: Record<string, string[] | null>;
  objects?: Record<string, StorageObjectConfig | null>;
}

export interface AwsUserConfig {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AwsWebIdentityTrust {
  /** The OIDC issuer (the cluster's) whose tokens the role trusts. */
  issuer: string;
  /** Accepted `sub` values (`system:serviceaccount:NAMESPACE:NAME`); empty accepts any. */
  subjects?: string[];
  /** Accepted `aud` values. */
  audiences?: string[];
}

export interface AwsRoleConfig {
  /** Present for roles assumable with AssumeRoleWithWebIdentity (EKS IRSA). */
  webIdentity?: AwsWebIdentityTrust;
  maxSessionDurationSeconds?: number;
}

export interface AwsConfig {
  accountId?: string;
  region?: string;
  availabilityZone?: string;
  imds?: {
    enabled?: boolean;
    /** Refuse requests without an IMDSv2 session token (401). */
    v2Only?: boolean;
    /** Lifetime of the instance role's temporary credentials. */
    credentialsLifetimeSeconds?: number;
    /** New credentials are handed out once the current ones have less than this left. */
    rotateBeforeSeconds?: number;
  };
  instance?: { id?: string; roleName?: string };
  container?: {
    enabled?: boolean;
    roleName?: string;
    sessionName?: string;
    /** The `Authorization` value the endpoint requires. */
    authorizationToken?: string;
    credentialsLifetimeSeconds?: number;
  };
  users?: Record<string, AwsUserConfig | null>;
  roles?: Record<string, AwsRoleConfig | null>;
}

export interface FederatedCredentialConfig {
  issuer: string;
  subject: string;
  audiences?: string[];
}

export interface AzureIdentityConfig {
  type: "system" | "user";
  clientId: string;
  objectId: string;
  /** User-assigned identities: the ARM resource id (`msi_res_id`). */
  resourceId?: string;
  /** Entra federated identity credentials (AKS workload identity). */
  federatedCredentials?: Record<string, FederatedCredentialConfig | null>;
}

export interface AzureApplicationConfig {
  appIdUri: string;
  appId: string;
}

export interface AzureConfig {
  tenantId?: string;
  applications?: Record<string, AzureApplicationConfig | null>;
  identities?: Record<string, AzureIdentityConfig | null>;
  tokenLifetimeSeconds?: number;
  imds?: { enabled?: boolean };
  appService?: { identityHeader?: string };
}

export interface KubernetesConfig {
  namespace?: string;
  serviceAccount?: string;
  tokenLifetimeSeconds?: number;
}

export interface IamConfig {
  /** Longest `lifetime` generateAccessToken grants (3600, or up to 43200 like the org policy allows). */
  maxAccessTokenLifetimeSeconds?: number;
  /** How generateAccessToken/generateIdToken answer for a service account that does not exist. */
  unknownServiceAccount?: "not-found" | "permission-denied";
}

export interface EmulatorConfig {
  projectNumber?: string;
  projectId?: string;
  /**
   * Service Usage: which APIs are enabled in the project (`"sts.googleapis.com": true`). STS, IAM
   * Credentials and Storage answer 403 SERVICE_DISABLED while theirs is not.
   */
  services?: Record<string, boolean | null>;
  pools?: Record<string, PoolConfig | null>;
  serviceAccounts?: Record<string, ServiceAccountConfig | null>;
  iam?: IamConfig;
  storage?: { buckets?: Record<string, BucketConfig | null> };
  aws?: AwsConfig;
  azure?: AzureConfig;
  kubernetes?: KubernetesConfig;
}

const PRINCIPAL =
  "principal://iam.googleapis.com/projects/{projectNumber}/locations/global/workloadIdentityPools/{pool}";
const PRINCIPAL_SET =
  "principalSet://iam.googleapis.com/projects/{projectNumber}/locations/global/workloadIdentityPools/{pool}";

/** The APIs the guide enables, plus those Google enables in every new project. */
const GUIDE_SERVICES = {
  "iam.googleapis.com": true,
  "cloudresourcemanager.googleapis.com": true,
  "iamcredentials.googleapis.com": true,
  "sts.googleapis.com": true,
  "serviceusage.googleapis.com": true,
  "storage.googleapis.com": true,
};

/** The state every test starts from; see the README for the same table in prose. */
export const DEFAULT_EMULATOR_CONFIG = {
  projectNumber: "123456789012",
  projectId: "wifkit-demo",
  services: GUIDE_SERVICES,
  pools: {
    "wifkit-pool": {
      disabled: false,
      providers: {
        "aws-provider": { type: "aws", awsAccountId: "{awsAccountId}" },
        "azure-provider": {
          type: "oidc",
          issuerUri: "{entra}/{tenantId}",
          allowedAudiences: ["api://wifkit-demo"],
          attributeMapping: { "google.subject": "assertion.sub" },
        },
        "oidc-provider": {
          type: "oidc",
          issuerUri: "{kubernetes}",
          allowedAudiences: [],
          attributeMapping: { "google.subject": "assertion.sub" },
        },
      },
    },
  },
  serviceAccounts: {
    "wifkit-reader": {
      bindings: { "roles/iam.workloadIdentityUser": [`${PRINCIPAL_SET}/*`] },
    },
    "wifkit-admin": {
      bindings: {
        "roles/iam.workloadIdentityUser": [
          `${PRINCIPAL_SET}/attribute.aws_role/arn:aws:sts::{awsAccountId}:assumed-role/wifkit-ec2-role`,
          `${PRINCIPAL}/subject/4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a`,
        ],
      },
    },
  },
  iam: { maxAccessTokenLifetimeSeconds: 3600, unknownServiceAccount: "not-found" },
  storage: {
    buckets: {
      "wifkit-bucket": {
        bindings: {
          "roles/storage.objectViewer": [
            "serviceAccount:wifkit-reader@{projectId}.iam.gserviceaccount.com",
            `${PRINCIPAL_SET}/attribute.aws_role/arn:aws:sts::{awsAccountId}:assumed-role/wifkit-ec2-role`,
            `${PRINCIPAL}/subject/4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a`,
          ],
        },
        objects: { "hello.txt": { content: "hello from wifkit\n", contentType: "text/plain" } },
      },
    },
  },
  aws: {
    accountId: "111122223333",
    region: "us-east-1",
    availabilityZone: "us-east-1a",
    imds: { enabled: true, v2Only: false, credentialsLifetimeSeconds: 21600, rotateBeforeSeconds: 900 },
    instance: { id: "i-0a1b2c3d4e5f60718", roleName: "wifkit-ec2-role" },
    container: {
      enabled: true,
      roleName: "wifkit-task-role",
      sessionName: "wifkit-task",
      authorizationToken: "wifkit-container-authorization-token",
      credentialsLifetimeSeconds: 21600,
    },
    users: {
      "wifkit-user": {
        accessKeyId: "AKIAWIFKITSTATICKEY1",
        secretAccessKey: "wifkitEmulatorStaticSecretKeyEXAMPLE0001",
      },
    },
    roles: {
      "wifkit-irsa-role": {
        webIdentity: {
          issuer: "{kubernetes}",
          subjects: ["system:serviceaccount:default:wifkit"],
          audiences: ["sts.amazonaws.com"],
        },
        maxSessionDurationSeconds: 3600,
      },
    },
  },
  azure: {
    tenantId: "7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    applications: {
      "wifkit-demo": { appIdUri: "api://wifkit-demo", appId: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d" },
    },
    identities: {
      system: {
        type: "system",
        clientId: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
        objectId: "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a",
      },
      "wifkit-identity": {
        type: "user",
        clientId: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        objectId: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
        resourceId:
          "/subscriptions/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/resourceGroups/wifkit-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wifkit-identity",
        federatedCredentials: {
          "wifkit-aks": {
            issuer: "{kubernetes}",
            subject: "system:serviceaccount:default:wifkit",
            audiences: ["api://AzureADTokenExchange"],
          },
        },
      },
    },
    tokenLifetimeSeconds: 86400,
    imds: { enabled: true },
    appService: { identityHeader: "wifkit-identity-header" },
  },
  kubernetes: { namespace: "default", serviceAccount: "wifkit", tokenLifetimeSeconds: 3600 },
} as const satisfies EmulatorConfig;

/**
 * A Google project as a new one is, ready for the administrator's half of the guide: no pools, no
 * service accounts, no bucket bindings, and only the APIs Google enables by default (Service Usage,
 * Storage). The bucket and its object, the AWS account, the Azure tenant and the cluster stay as in
 * {@link DEFAULT_EMULATOR_CONFIG}: they are the workload's side, which the guide does not set up.
 */
export const EMPTY_EMULATOR_CONFIG: EmulatorConfig = {
  ...mergeConfig<EmulatorConfig>(structuredClone(DEFAULT_EMULATOR_CONFIG), {
    pools: null,
    serviceAccounts: null,
    storage: { buckets: { "wifkit-bucket": { bindings: null } } },
  }),
  services: { "serviceusage.googleapis.com": true, "storage.googleapis.com": true },
};

// ---------------------------------------------------------------------------------------------------------
// Resolved state: what the services read on every request. It is live: tests may flip a flag on
// `emulator.state` (e.g. `state.aws.imds.v2Only = true`) and the next request sees it.

export interface ProviderState {
  id: string;
  poolId: string;
  type: ProviderType;
  disabled: boolean;
  displayName: string | undefined;
  description: string | undefined;
  /** When it was deleted; a deleted provider refuses exchanges. */
  deleteTime: string | undefined;
  /** `projects/N/locations/global/workloadIdentityPools/P/providers/X`. */
  resource: string;
  /** `//iam.googleapis.com/` + resource: the STS audience and the AWS target resource. */
  audience: string;
  attributeMapping: string | Record<string, string> | undefined;
  attributeCondition: string | undefined;
  awsAccountId: string | undefined;
  issuerUri: string | undefined;
  allowedAudiences: string[];
}

export interface PoolState {
  id: string;
  disabled: boolean;
  displayName: string | undefined;
  description: string | undefined;
  /** When it was deleted; the providers of a deleted pool refuse exchanges. */
  deleteTime: string | undefined;
  providers: Record<string, ProviderState>;
}

export interface ServiceAccountState {
  id: string;
  email: string;
  displayName: string | undefined;
  description: string | undefined;
  disabled: boolean;
  /** Unique numeric id, used as the ID token `sub`. */
  uniqueId: string;
  bindings: Record<string, string[]>;
}

export interface BucketState {
  name: string;
  bindings: Record<string, string[]>;
  objects: Record<string, { content: string; contentType: string }>;
}

export interface AwsUserState {
  name: string;
  arn: string;
  userId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AwsRoleState {
  name: string;
  /** `arn:aws:iam::ACCT:role/NAME`. */
  arn: string;
  /** `AROA...`, the prefix of the assumed-role user id. */
  roleId: string;
  webIdentity: { issuer: string; subjects: string[]; audiences: string[] } | undefined;
  maxSessionDurationSeconds: number;
}

export interface AwsState {
  accountId: string;
  region: string;
  availabilityZone: string;
  imds: {
    enabled: boolean;
    v2Only: boolean;
    credentialsLifetimeSeconds: number;
    rotateBeforeSeconds: number;
  };
  instance: { id: string; roleName: string; roleArn: string; roleId: string; assumedRoleArn: string };
  container: {
    enabled: boolean;
    roleName: string;
    roleArn: string;
    roleId: string;
    sessionName: string;
    assumedRoleArn: string;
    authorizationToken: string;
    credentialsLifetimeSeconds: number;
  };
  users: Record<string, AwsUserState>;
  roles: Record<string, AwsRoleState>;
}

export interface AzureIdentityState {
  name: string;
  type: "system" | "user";
  clientId: string;
  objectId: string;
  resourceId: string | undefined;
  federatedCredentials: Array<{ name: string; issuer: string; subject: string; audiences: string[] }>;
}

export interface AzureState {
  tenantId: string;
  /** `{entra}/TENANT/`: the v1 token issuer (note the trailing slash, like https://sts.windows.net/TENANT/). */
  issuer: string;
  /** `{entra}/TENANT/v2.0`. */
  issuerV2: string;
  applications: Record<string, AzureApplicationConfig & { name: string }>;
  identities: Record<string, AzureIdentityState>;
  tokenLifetimeSeconds: number;
  imds: { enabled: boolean };
  appService: { identityHeader: string };
}

export interface KubernetesState {
  issuer: string;
  namespace: string;
  serviceAccount: string;
  /** `system:serviceaccount:NAMESPACE:NAME`. */
  subject: string;
  tokenLifetimeSeconds: number;
}

export interface EmulatorState {
  projectNumber: string;
  projectId: string;
  /** Enabled APIs by service name (`sts.googleapis.com`); a missing name is disabled. */
  services: Record<string, boolean>;
  pools: Record<string, PoolState>;
  serviceAccounts: Record<string, ServiceAccountState>;
  iam: { maxAccessTokenLifetimeSeconds: number; unknownServiceAccount: "not-found" | "permission-denied" };
  storage: { buckets: Record<string, BucketState> };
  aws: AwsState;
  azure: AzureState;
  kubernetes: KubernetesState;
}

type Json = unknown;

function isPlainObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge for the config: objects merge, arrays and scalars replace, `null` deletes. */
export function mergeConfig<T>(base: T, patch: Json): T {
  if (!isPlainObject(patch) || !isPlainObject(base)) return (patch === undefined ? base : patch) as T;
  const result: Record<string, Json> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (value === undefined) continue;
    else
      result[key] =
        isPlainObject(value) && isPlainObject(result[key]) ? mergeConfig(result[key], value) : clone(value);
  }
  return result as T;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Thrown when an emulator config is not usable; the message names the field (`emulator config PATH: ...`). */
export class EmulatorConfigError extends WifError {
  override name = "EmulatorConfigError";
  /** The config field at fault, e.g. `pools.wifkit-pool.providers.aws-provider.type`. */
  override readonly field: string;
  /** What is wrong, without the field (the admin APIs answer with it). */
  readonly problem: string;

  constructor(field: string, problem: string, options: { cause?: unknown } = {}) {
    super(`emulator config ${field}: ${problem}`, {
      code: EMULATOR_ERROR_CODES.config,
      cause: options.cause,
    });
    this.field = field;
    this.problem = problem;
  }
}

/** The codes the emulator itself throws (what it answers its clients is each service's own wire format). */
export const EMULATOR_ERROR_CODES = Object.freeze({
  /** An emulator configuration (file, option or admin API input) is not usable; `field` names where. */
  config: "ERR_WIF_EMULATOR_CONFIG",
} as const);

export type EmulatorErrorCode = (typeof EMULATOR_ERROR_CODES)[keyof typeof EMULATOR_ERROR_CODES];

function fail(path: string, message: string): never {
  throw new EmulatorConfigError(path, message);
}

function str(value: Json, path: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || value === "") fail(path, "must be a non-empty string");
  return value;
}

function optStr(value: Json, path: string): string | undefined {
  if (value === undefined) return undefined;
  return str(value, path);
}

function bool(value: Json, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(path, "must be true or false");
  return value;
}

function int(value: Json, path: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function strList(value: Json, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
    fail(path, "must be a list of strings");
  return [...(value as string[])];
}

function entries(value: Json, path: string): Array<[string, Record<string, Json>]> {
  if (value === undefined) return [];
  if (!isPlainObject(value)) fail(path, "must be an object keyed by id");
  return Object.entries(value)
    .filter(([, entry]) => entry !== null && entry !== undefined)
    .map(([key, entry]) => {
      if (!isPlainObject(entry)) fail(`${path}.${key}`, "must be an object");
      return [key, entry];
    });
}

function bindings(value: Json, path: string, fill: (text: string) => string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  if (value === undefined) return result;
  if (!isPlainObject(value)) fail(path, "must be an object of role -> members");
  for (const [role, members] of Object.entries(value)) {
    if (members === null) continue;
    result[role] = strList(members, `${path}.${role}`).map(fill);
  }
  return result;
}

/**
 * Merges `config` over the defaults and resolves it into the live state, filling placeholders with
 * `urls` (the emulated services' base URLs).
 */
export function resolveConfig(
  config: EmulatorConfig | undefined,
  urls: Readonly<Partial<Record<string, string>>> | object,
): EmulatorState {
  return resolveCompleteConfig(mergeConfig(clone(DEFAULT_EMULATOR_CONFIG), config ?? {}), urls);
}

function check(path: string, problem: string | undefined): void {
  if (problem !== undefined) fail(path, problem);
}

function optText(value: Json, path: string, problem: (text: string | undefined) => string | undefined) {
  if (value !== undefined && typeof value !== "string") fail(path, "must be a string");
  check(path, problem(value));
  return value;
}

/**
 * Resolves a complete config (nothing merged under it: a state file, or defaults already merged) into
 * the live state.
 */
export function resolveCompleteConfig(
  config: EmulatorConfig,
  urls: Readonly<Partial<Record<string, string>>> | object,
): EmulatorState {
  const urlVariables = urls as Readonly<Partial<Record<string, string>>>;
  const merged = config as Record<string, Json>;
  const projectNumber = str(merged.projectNumber, "projectNumber");
  if (!/^\d{1,20}$/.test(projectNumber))
    fail("projectNumber", "must be digits (a project number, not an id)");
  const projectId = str(merged.projectId, "projectId");
  const aws = (merged.aws ?? {}) as Record<string, Json>;
  const azure = (merged.azure ?? {}) as Record<string, Json>;
  const kubernetes = (merged.kubernetes ?? {}) as Record<string, Json>;
  const awsAccountId = str(aws.accountId, "aws.accountId");
  if (!/^\d{12}$/.test(awsAccountId)) fail("aws.accountId", "must be 12 digits");
  const tenantId = str(azure.tenantId, "azure.tenantId");
  const poolEntries = entries(merged.pools, "pools");
  const firstPool = poolEntries[0]?.[0] ?? "";

  const variables: Record<string, string | undefined> = {
    ...urlVariables,
    projectNumber,
    projectId,
    awsAccountId,
    tenantId,
    pool: firstPool,
  };
  const fill = (text: string) =>
    text.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => variables[name] ?? whole);

  const pools: Record<string, PoolState> = {};
  for (const [poolId, pool] of poolEntries) {
    check(`pools.${poolId}`, resourceIdProblem("pool", poolId));
    const providers: Record<string, ProviderState> = {};
    for (const [providerId, provider] of entries(pool.providers, `pools.${poolId}.providers`)) {
      const path = `pools.${poolId}.providers.${providerId}`;
      check(path, resourceIdProblem("provider", providerId));
      const type = provider.type;
      if (type !== "aws" && type !== "oidc") fail(`${path}.type`, 'must be "aws" or "oidc"');
      const resource = `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}/providers/${providerId}`;
      const mapping = provider.attributeMapping;
      if (mapping !== undefined && typeof mapping !== "string" && !isPlainObject(mapping)) {
        fail(`${path}.attributeMapping`, "must be a string or an object");
      }
      const allowedAudiences = strList(provider.allowedAudiences, `${path}.allowedAudiences`).map(fill);
      check(`${path}.allowedAudiences`, allowedAudiencesProblem(allowedAudiences));
      const issuerUri = type === "oidc" ? fill(str(provider.issuerUri, `${path}.issuerUri`)) : undefined;
      if (issuerUri !== undefined) check(`${path}.issuerUri`, issuerUriProblem(issuerUri));
      const awsAccountId =
        type === "aws"
          ? fill(str(provider.awsAccountId, `${path}.awsAccountId`, "{awsAccountId}"))
          : undefined;
      if (awsAccountId !== undefined) check(`${path}.awsAccountId`, awsAccountIdProblem(awsAccountId));
      providers[providerId] = {
        id: providerId,
        poolId,
        type,
        disabled: bool(provider.disabled, `${path}.disabled`, false),
        displayName: optText(provider.displayName, `${path}.displayName`, displayNameProblem),
        description: optText(provider.description, `${path}.description`, descriptionProblem),
        deleteTime: optStr(provider.deleteTime, `${path}.deleteTime`),
        resource,
        audience: `//iam.googleapis.com/${resource}`,
        attributeMapping: mapping as string | Record<string, string> | undefined,
        attributeCondition: optStr(provider.attributeCondition, `${path}.attributeCondition`),
        awsAccountId,
        issuerUri,
        allowedAudiences,
      };
    }
    pools[poolId] = {
      id: poolId,
      disabled: bool(pool.disabled, `pools.${poolId}.disabled`, false),
      displayName: optText(pool.displayName, `pools.${poolId}.displayName`, displayNameProblem),
      description: optText(pool.description, `pools.${poolId}.description`, descriptionProblem),
      deleteTime: optStr(pool.deleteTime, `pools.${poolId}.deleteTime`),
      providers,
    };
  }

  const serviceAccounts: Record<string, ServiceAccountState> = {};
  for (const [id, account] of entries(merged.serviceAccounts, "serviceAccounts")) {
    const path = `serviceAccounts.${id}`;
    const email = fill(
      str(account.email, `${path}.email`, `${id}@${projectId}.iam.gserviceaccount.com`),
    ).toLowerCase();
    serviceAccounts[id] = {
      id,
      email,
      displayName: optText(account.displayName, `${path}.displayName`, () => undefined),
      description: optText(account.description, `${path}.description`, () => undefined),
      disabled: bool(account.disabled, `${path}.disabled`, false),
      uniqueId: numericId(email),
      bindings: bindings(account.bindings, `${path}.bindings`, fill),
    };
  }

  const iam = (merged.iam ?? {}) as Record<string, Json>;
  const unknownServiceAccount = iam.unknownServiceAccount ?? "not-found";
  if (unknownServiceAccount !== "not-found" && unknownServiceAccount !== "permission-denied") {
    fail("iam.unknownServiceAccount", 'must be "not-found" or "permission-denied"');
  }

  const buckets: Record<string, BucketState> = {};
  for (const [name, bucket] of entries(
    (merged.storage as Record<string, Json> | undefined)?.buckets,
    "storage.buckets",
  )) {
    const objects: BucketState["objects"] = {};
    for (const [objectName, object] of entries(bucket.objects, `storage.buckets.${name}.objects`)) {
      const path = `storage.buckets.${name}.objects.${objectName}`;
      if (typeof object.content !== "string") fail(`${path}.content`, "must be a string");
      objects[objectName] = {
        content: object.content,
        contentType: str(object.contentType, `${path}.contentType`, "application/octet-stream"),
      };
    }
    buckets[name] = {
      name,
      bindings: bindings(bucket.bindings, `storage.buckets.${name}.bindings`, fill),
      objects,
    };
  }

  const imds = (aws.imds ?? {}) as Record<string, Json>;
  const instance = (aws.instance ?? {}) as Record<string, Json>;
  const container = (aws.container ?? {}) as Record<string, Json>;
  const instanceRole = str(instance.roleName, "aws.instance.roleName");
  const instanceId = str(instance.id, "aws.instance.id");
  const containerRole = str(container.roleName, "aws.container.roleName");
  const containerSession = str(container.sessionName, "aws.container.sessionName");
  const roleId = (name: string) => stableId("AROA", `${awsAccountId}:role/${name}`);
  const users: Record<string, AwsUserState> = {};
  for (const [name, user] of entries(aws.users, "aws.users")) {
    users[name] = {
      name,
      arn: `arn:aws:iam::${awsAccountId}:user/${name}`,
      userId: stableId("AIDA", `${awsAccountId}:user/${name}`),
      accessKeyId: str(user.accessKeyId, `aws.users.${name}.accessKeyId`),
      secretAccessKey: str(user.secretAccessKey, `aws.users.${name}.secretAccessKey`),
    };
  }
  const roles: Record<string, AwsRoleState> = {};
  for (const [name, role] of entries(aws.roles, "aws.roles")) {
    const path = `aws.roles.${name}`;
    const trust = role.webIdentity as Record<string, Json> | undefined;
    roles[name] = {
      name,
      arn: `arn:aws:iam::${awsAccountId}:role/${name}`,
      roleId: roleId(name),
      webIdentity:
        trust === undefined
          ? undefined
          : {
              issuer: fill(str(trust.issuer, `${path}.webIdentity.issuer`)),
              subjects: strList(trust.subjects, `${path}.webIdentity.subjects`).map(fill),
              audiences: strList(trust.audiences, `${path}.webIdentity.audiences`).map(fill),
            },
      maxSessionDurationSeconds: int(
        role.maxSessionDurationSeconds,
        `${path}.maxSessionDurationSeconds`,
        3600,
        900,
        43200,
      ),
    };
  }

  const applications: AzureState["applications"] = {};
  for (const [name, app] of entries(azure.applications, "azure.applications")) {
    applications[name] = {
      name,
      appIdUri: str(app.appIdUri, `azure.applications.${name}.appIdUri`),
      appId: str(app.appId, `azure.applications.${name}.appId`).toLowerCase(),
    };
  }
  const identities: Record<string, AzureIdentityState> = {};
  for (const [name, identity] of entries(azure.identities, "azure.identities")) {
    const path = `azure.identities.${name}`;
    if (identity.type !== "system" && identity.type !== "user")
      fail(`${path}.type`, 'must be "system" or "user"');
    identities[name] = {
      name,
      type: identity.type,
      clientId: str(identity.clientId, `${path}.clientId`).toLowerCase(),
      objectId: str(identity.objectId, `${path}.objectId`).toLowerCase(),
      resourceId: optStr(identity.resourceId, `${path}.resourceId`),
      federatedCredentials: entries(identity.federatedCredentials, `${path}.federatedCredentials`).map(
        ([fcName, fc]) => ({
          name: fcName,
          issuer: fill(str(fc.issuer, `${path}.federatedCredentials.${fcName}.issuer`)),
          subject: fill(str(fc.subject, `${path}.federatedCredentials.${fcName}.subject`)),
          audiences: strList(
            fc.audiences ?? ["api://AzureADTokenExchange"],
            `${path}.federatedCredentials.${fcName}.audiences`,
          ),
        }),
      ),
    };
  }
  if (Object.values(identities).filter((identity) => identity.type === "system").length > 1) {
    fail("azure.identities", "at most one identity can be system-assigned");
  }

  const namespace = str(kubernetes.namespace, "kubernetes.namespace");
  const kubernetesServiceAccount = str(kubernetes.serviceAccount, "kubernetes.serviceAccount");
  const entraBase = urlVariables.entra ?? "";

  const services: Record<string, boolean> = {};
  if (merged.services !== undefined && !isPlainObject(merged.services))
    fail("services", "must be an object of service name -> true/false");
  for (const [name, enabled] of Object.entries((merged.services ?? {}) as Record<string, Json>)) {
    if (enabled === null || enabled === undefined) continue;
    services[name] = bool(enabled, `services.${name}`, false);
  }

  return {
    projectNumber,
    projectId,
    services,
    pools,
    serviceAccounts,
    iam: {
      maxAccessTokenLifetimeSeconds: int(
        iam.maxAccessTokenLifetimeSeconds,
        "iam.maxAccessTokenLifetimeSeconds",
        3600,
        1,
        43200,
      ),
      unknownServiceAccount,
    },
    storage: { buckets },
    aws: {
      accountId: awsAccountId,
      region: str(aws.region, "aws.region"),
      availabilityZone: str(aws.availabilityZone, "aws.availabilityZone"),
      imds: {
        enabled: bool(imds.enabled, "aws.imds.enabled", true),
        v2Only: bool(imds.v2Only, "aws.imds.v2Only", false),
        credentialsLifetimeSeconds: int(
          imds.credentialsLifetimeSeconds,
          "aws.imds.credentialsLifetimeSeconds",
          21600,
          60,
          43200,
        ),
        rotateBeforeSeconds: int(imds.rotateBeforeSeconds, "aws.imds.rotateBeforeSeconds", 900, 0, 43200),
      },
      instance: {
        id: instanceId,
        roleName: instanceRole,
        roleArn: `arn:aws:iam::${awsAccountId}:role/${instanceRole}`,
        roleId: roleId(instanceRole),
        assumedRoleArn: `arn:aws:sts::${awsAccountId}:assumed-role/${instanceRole}/${instanceId}`,
      },
      container: {
        enabled: bool(container.enabled, "aws.container.enabled", true),
        roleName: containerRole,
        roleArn: `arn:aws:iam::${awsAccountId}:role/${containerRole}`,
        roleId: roleId(containerRole),
        sessionName: containerSession,
        assumedRoleArn: `arn:aws:sts::${awsAccountId}:assumed-role/${containerRole}/${containerSession}`,
        authorizationToken: str(container.authorizationToken, "aws.container.authorizationToken"),
        credentialsLifetimeSeconds: int(
          container.credentialsLifetimeSeconds,
          "aws.container.credentialsLifetimeSeconds",
          21600,
          60,
          43200,
        ),
      },
      users,
      roles,
    },
    azure: {
      tenantId,
      issuer: `${entraBase}/${tenantId}/`,
      issuerV2: `${entraBase}/${tenantId}/v2.0`,
      applications,
      identities,
      tokenLifetimeSeconds: int(
        azure.tokenLifetimeSeconds,
        "azure.tokenLifetimeSeconds",
        86400,
        60,
        86400 * 2,
      ),
      imds: {
        enabled: bool((azure.imds as Record<string, Json> | undefined)?.enabled, "azure.imds.enabled", true),
      },
      appService: {
        identityHeader: str(
          (azure.appService as Record<string, Json> | undefined)?.identityHeader,
          "azure.appService.identityHeader",
        ),
      },
    },
    kubernetes: {
      issuer: urlVariables.kubernetes ?? "",
      namespace,
      serviceAccount: kubernetesServiceAccount,
      subject: `system:serviceaccount:${namespace}:${kubernetesServiceAccount}`,
      tokenLifetimeSeconds: int(
        kubernetes.tokenLifetimeSeconds,
        "kubernetes.tokenLifetimeSeconds",
        3600,
        60,
        86400 * 2,
      ),
    },
  };
}

function stableId(prefix: string, name: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let hash = 2166136261;
  let id = prefix;
  for (let index = 0; index < 17; index++) {
    for (const char of `${name}#${index}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
    id += alphabet[hash % alphabet.length];
  }
  return id;
}

function numericId(email: string): string {
  let hash = 1469598103n;
  for (const char of email) hash = (hash * 1099511628211n + BigInt(char.charCodeAt(0))) % 10n ** 21n;
  return `1${hash.toString().padStart(20, "0")}`;
}
