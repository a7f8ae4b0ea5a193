/**
 * Cloud suppliers are registered explicitly: `fromConfig(path, { suppliers: [awsSupplier] })`. Nothing in
 * this package imports a supplier package, so a bundler sees exactly the suppliers an application names
 * (an AWS-only app carries no Azure code) and no optional peer dependency is needed. The registrations are
 * structural: `awsSupplier` and `azureSupplier` match these shapes without importing this package.
 */
import { type Clock, type Env, type SubjectTokenSupplier, WifError } from "@wifkit/core";
import type { HttpTransport } from "@wifkit/http";
import { CREDENTIALS_ERROR_CODES } from "./errors.js";

/** The seams `fromConfig` hands every supplier it builds. */
export interface SupplierSeams {
  env?: Env;
  clock?: Clock;
  transport?: HttpTransport;
  timeoutMs?: number;
}

/** AWS credentials in the AWS SDK v3 shape (structural: this package does not depend on the AWS supplier). */
export interface AwsCredentialsLike {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

/** Settings for an AWS `credential_source`, handed to the AWS supplier's `fromAws`. */
export interface AwsSourceOptions {
  /** The AWS region. Default `AWS_REGION`, `AWS_DEFAULT_REGION`, then instance metadata. */
  region?: string | undefined;
  /** Sign with these credentials, or this provider (any AWS SDK v3 credential provider), not the default chain. */
  credentials?:
    | AwsCredentialsLike
    | ((options?: { signal?: AbortSignal; forceRefresh?: boolean }) => Promise<AwsCredentialsLike>)
    | undefined;
}

/** Settings for an Azure IMDS `credential_source`, handed to the Azure supplier's `fromAzure`. */
export interface AzureSourceOptions {
  /** Use only this Azure platform instead of detecting one. */
  source?: "aks" | "app-service" | "arc" | "imds" | undefined;
  /** Azure Arc: the agent's token directory, when not the platform default. */
  arcKeyDirectory?: string | undefined;
  /** How long the IMDS reachability probe waits. */
  probeTimeoutMs?: number | undefined;
}

/** An AWS `credential_source` (`environment_id: "aws1"`), as the AWS supplier reads it. */
export interface AwsCredentialSourceLike {
  environment_id?: string | undefined;
  region_url?: string | undefined;
  url?: string | undefined;
  regional_cred_verification_url?: string | undefined;
  imdsv2_session_token_url?: string | undefined;
}

/** `awsSupplier` from `@wifkit/aws-supplier`. */
export interface AwsSupplierRegistration {
  readonly kind: "aws";
  readonly packageName: string;
  create(
    config: { audience: string; credential_source: AwsCredentialSourceLike },
    options: SupplierSeams & {
      region?: string;
      credentials?: Exclude<AwsSourceOptions["credentials"], undefined>;
    },
  ): SubjectTokenSupplier;
}

/** `azureSupplier` from `@wifkit/azure-supplier`; undefined when the URL is not an Azure IMDS token URL. */
export interface AzureSupplierRegistration {
  readonly kind: "azure";
  readonly packageName: string;
  create(
    config: { credential_source: { url: string } },
    options: SupplierSeams & {
      source?: Exclude<AzureSourceOptions["source"], undefined>;
      arcKeyDirectory?: string;
      probeTimeoutMs?: number;
    },
  ): SubjectTokenSupplier | undefined;
}

/** A cloud supplier `fromConfig` may build: `awsSupplier` or `azureSupplier`. */
export type SupplierRegistration = AwsSupplierRegistration | AzureSupplierRegistration;

/** The registration of `kind` in `suppliers`, if any. */
export function registeredSupplier<K extends SupplierRegistration["kind"]>(
  suppliers: readonly SupplierRegistration[] | undefined,
  kind: K,
): Extract<SupplierRegistration, { kind: K }> | undefined {
  return suppliers?.find(
    (candidate): candidate is Extract<SupplierRegistration, { kind: K }> => candidate.kind === kind,
  );
}

const PACKAGES = {
  aws: { name: "@wifkit/aws-supplier", export: "awsSupplier", source: "an AWS credential_source" },
  azure: { name: "@wifkit/azure-supplier", export: "azureSupplier", source: "an Azure credential_source" },
} as const;

/** The error for a config whose supplier was not registered: the package to install and the line to add. */
export function supplierNotRegistered(
  kind: SupplierRegistration["kind"],
  configPath: string | undefined,
): WifError<typeof CREDENTIALS_ERROR_CODES.supplierNotRegistered> {
  const { name, export: exported, source } = PACKAGES[kind];
  return new WifError(
    `The credential config${configPath ? ` ${configPath}` : ""} has ${source}, and no ${kind.toUpperCase()} ` +
      `supplier is registered. Install ${name} (npm install ${name}) and register it: ` +
      `import { ${exported} } from "${name}"; fromConfig(config, { suppliers: [${exported}] }). ` +
      `Or import fromConfig from "@wifkit/credentials-all", which registers every supplier.`,
    { code: CREDENTIALS_ERROR_CODES.supplierNotRegistered, field: "suppliers" },
  );
}
