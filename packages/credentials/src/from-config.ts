import {
  type AllowOptions,
  type AuthorizedUserConfig,
  CONFIG_ERROR_CODES,
  type SubjectTokenFormat as ConfigFormat,
  type CredentialConfig,
  type ExternalAccountConfig,
  isAzureImdsTokenUrl,
  loadCredentialConfig,
  parseCredentialConfig,
  type ValidatedCredentialConfig,
  validatedCredentialConfig,
} from "@wifkit/config";
import { type SubjectTokenSupplier, type SubjectTokenType, WifError } from "@wifkit/core";
import { parseImpersonationUrl } from "@wifkit/impersonation";
import {
  type AuthorizedUserCredentials,
  type AuthorizedUserOptions,
  createAuthorizedUserCredentials,
} from "./authorized-user.js";
import {
  type CredentialsOptions,
  createExternalAccountCredentials,
  credentialsTransport,
  type ExternalAccountCredentials,
  QUOTA_PROJECT_ENV,
  type SubjectSourceKind,
} from "./credentials.js";
import type { ReadFile } from "./io.js";
import {
  type AwsSourceOptions,
  type AzureSourceOptions,
  registeredSupplier,
  type SupplierRegistration,
  supplierNotRegistered,
} from "./registration.js";
import { fromCertificate } from "./suppliers/certificate.js";
import { fromExecutable } from "./suppliers/executable.js";
import { fromFile } from "./suppliers/file.js";
import type { TokenFormat } from "./suppliers/format.js";
import { fromUrl } from "./suppliers/url.js";

/** The path Azure's instance metadata service answers managed identity tokens on. */
export { AZURE_IMDS_TOKEN_PATH } from "@wifkit/config";

export interface FromConfigOptions extends CredentialsOptions, AuthorizedUserOptions {
  /**
   * The cloud suppliers configs may need, registered explicitly (bundler-safe): `[awsSupplier]` from
   * `@wifkit/aws-supplier`, `[azureSupplier]` from `@wifkit/azure-supplier`, or both. An AWS config without
   * `awsSupplier` is refused with `ERR_WIF_SUPPLIER_NOT_REGISTERED`; an Azure IMDS URL config without
   * `azureSupplier` is read as a plain URL source (VMs only). `@wifkit/credentials-all` registers both.
   */
  suppliers?: readonly SupplierRegistration[] | undefined;
  /** For AWS sources: region and credentials instead of discovery. */
  aws?: AwsSourceOptions | undefined;
  /** For Azure IMDS URL sources (with `azureSupplier` registered). */
  azure?: AzureSourceOptions | undefined;
  /**
   * Extra origins the config's URLs may use (an emulator: `emulator.allowOrigins`), and universe domains
   * besides googleapis.com it may name (default: the `WIF_UNIVERSE_DOMAIN` environment variable).
   */
  allow?: AllowOptions | undefined;
  /** Use this supplier instead of the one the config's `credential_source` describes. */
  supplier?: SubjectTokenSupplier | undefined;
  /**
   * With `supplier`: the kind of source it stands for, for Google's metrics header (e.g. the config's own
   * supplier from `subjectTokenSupplierFromConfig`, wrapped). Default `programmatic`.
   */
  sourceKind?: SubjectSourceKind | undefined;
  /** File read seam for the config file, file sources, certificates and executable output files. */
  readFile?: ReadFile | undefined;
  /** Home directory for the default certificate config. Default `os.homedir()`. */
  homeDir?: string | undefined;
}

/** What `fromConfig` adds to a credential: where the config came from and what deserves a look. */
export interface ConfigDetails {
  /** The config file's absolute path, when it was read from one. */
  readonly configPath: string | undefined;
  /** Non-fatal problems the config has (unknown fields and the like), with their JSON paths. */
  readonly warnings: readonly string[];
}

export type ConfiguredCredentials = (ExternalAccountCredentials | AuthorizedUserCredentials) & ConfigDetails;

/**
 * Builds the credential a Workload Identity Federation config describes: a path (default
 * `GOOGLE_APPLICATION_CREDENTIALS`) or a config object, validated by @wifkit/config; what
 * `loadCredentialConfig` or `parseCredentialConfig` returned (or its `config`) is taken as it is, without
 * reading or validating it again. For `external_account`
 * it composes the subject token supplier of `credential_source` (file, URL, executable, certificate, or AWS
 * and Azure through the suppliers registered in `suppliers`), the STS exchange, impersonation when
 * `service_account_impersonation_url` is set, and the token cache; for `external_account_authorized_user`
 * it refreshes the user's token. The result's `getAccessToken`, `getIdToken` and `getRequestHeaders` are
 * safe to call from any number of concurrent requests.
 *
 * @example
 * const credentials = await fromConfig("./wif-config.json");
 * const { value } = await credentials.getAccessToken();
 * const idToken = await credentials.getIdToken({ audience: "https://my-service-abc123.a.run.app" });
 */
export async function fromConfig(
  configOrPath?: string | CredentialConfig | ValidatedCredentialConfig | Readonly<Record<string, unknown>>,
  givenOptions: FromConfigOptions = {},
): Promise<ConfiguredCredentials> {
  const options = withOneTransport(givenOptions);
  const { config, warnings, path } = await resolveConfig(configOrPath, options);
  const details: ConfigDetails = { configPath: path, warnings };
  if (config.type === "external_account_authorized_user") {
    return Object.assign(createAuthorizedUserCredentials(config, options), details);
  }
  return Object.assign(createFromExternalAccount(config, options, path), details);
}

/**
 * Builds the credential of an `external_account_authorized_user` config (a path or object), as `fromConfig`
 * does, and refuses any other type.
 *
 * @example
 * const credentials = await fromAuthorizedUserConfig("~/.config/gcloud/application_default_credentials.json");
 */
export async function fromAuthorizedUserConfig(
  configOrPath?:
    | string
    | AuthorizedUserConfig
    | ValidatedCredentialConfig<AuthorizedUserConfig>
    | Readonly<Record<string, unknown>>,
  givenOptions: FromConfigOptions = {},
): Promise<AuthorizedUserCredentials & ConfigDetails> {
  const options = withOneTransport(givenOptions);
  const { config, warnings, path } = await resolveConfig(configOrPath, options);
  if (config.type !== "external_account_authorized_user") {
    throw new WifError(
      `The credential config${path ? ` ${path}` : ""} has type "${config.type}", not ` +
        `"external_account_authorized_user". Use fromConfig for it.`,
      { code: CONFIG_ERROR_CODES.invalid },
    );
  }
  return Object.assign(createAuthorizedUserCredentials(config, options), { configPath: path, warnings });
}

/** The validated config `configOrPath` is, names or holds: read and validated once, here or by the caller. */
async function resolveConfig(
  configOrPath: string | object | undefined,
  options: FromConfigOptions,
): Promise<ValidatedCredentialConfig> {
  const validated = validatedCredentialConfig(configOrPath);
  if (validated) return validated;
  const env = options.env ?? process.env;
  if (configOrPath !== undefined && typeof configOrPath === "object") {
    return parseCredentialConfig(configOrPath, { allow: options.allow, env });
  }
  return loadCredentialConfig({ path: configOrPath, env, allow: options.allow, readFile: options.readFile });
}

function createFromExternalAccount(
  config: ExternalAccountConfig,
  options: FromConfigOptions,
  path: string | undefined,
): ExternalAccountCredentials {
  const env = options.env ?? process.env;
  const target = config.service_account_impersonation_url
    ? parseImpersonationUrl(config.service_account_impersonation_url)
    : undefined;
  const { supplier, kind } = options.supplier
    ? { supplier: options.supplier, kind: options.sourceKind ?? ("programmatic" as const) }
    : supplierFor(config, target?.serviceAccount, options, path);
  const quotaProjectId =
    options.quotaProjectId ?? nonEmpty(env[QUOTA_PROJECT_ENV]) ?? nonEmpty(config.quota_project_id);
  return createExternalAccountCredentials({
    ...options,
    audience: config.audience,
    supplier,
    subjectTokenType: config.subject_token_type,
    ...(config.token_url ? { tokenUrl: config.token_url } : {}),
    ...(target ? { serviceAccount: target.serviceAccount, iamCredentialsBaseUrl: target.baseUrl } : {}),
    ...(config.service_account_impersonation?.token_lifetime_seconds !== undefined
      ? { tokenLifetimeSeconds: config.service_account_impersonation.token_lifetime_seconds }
      : {}),
    ...(config.client_id ? { clientId: config.client_id } : {}),
    ...(config.client_secret ? { clientSecret: config.client_secret } : {}),
    ...(config.workforce_pool_user_project
      ? { workforcePoolUserProject: config.workforce_pool_user_project }
      : {}),
    ...(config.universe_domain ? { universeDomain: config.universe_domain } : {}),
    quotaProjectId,
    sourceKind: kind,
  });
}

/** Which kind of supplier a config's `credential_source` selected (never `programmatic`). */
export type ConfigSourceKind = Exclude<SubjectSourceKind, "programmatic">;

/**
 * The subject token supplier a validated config's `credential_source` describes, chosen exactly as
 * `fromConfig` chooses it (an Azure IMDS URL goes to the Azure supplier when `azureSupplier` is registered):
 * for tools that inspect the subject token itself rather than a Google token.
 *
 * @example
 * const { supplier, source } = await subjectTokenSupplierFromConfig(config, { suppliers: [awsSupplier] });
 * const { token } = await supplier(); // e.g. to decode its claims
 */
export async function subjectTokenSupplierFromConfig(
  config: ExternalAccountConfig,
  options: FromConfigOptions = {},
): Promise<{ supplier: SubjectTokenSupplier; source: ConfigSourceKind }> {
  const serviceAccount = config.service_account_impersonation_url
    ? parseImpersonationUrl(config.service_account_impersonation_url).serviceAccount
    : undefined;
  const { supplier, kind } = supplierFor(config, serviceAccount, withOneTransport(options), undefined);
  return { supplier, source: kind };
}

/**
 * The options with `proxy` and `env` turned into the one transport (see `credentialsTransport`) that the
 * suppliers, STS and IAM Credentials then share.
 */
function withOneTransport(options: FromConfigOptions): FromConfigOptions {
  const transport = credentialsTransport(options);
  return { ...options, proxy: undefined, ...(transport ? { transport } : {}) };
}

/** The supplier a config's `credential_source` describes, and its kind. */
function supplierFor(
  config: ExternalAccountConfig,
  serviceAccount: string | undefined,
  options: FromConfigOptions,
  configPath: string | undefined,
): { supplier: SubjectTokenSupplier; kind: ConfigSourceKind } {
  const source = config.credential_source;
  const type = config.subject_token_type as SubjectTokenType;
  const shared = {
    ...(options.env ? { env: options.env } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.readFile ? { readFile: options.readFile } : {}),
  };
  const http = {
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  const seams = {
    ...(options.env ? { env: options.env } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...http,
  };

  if ("file" in source) {
    return {
      supplier: fromFile({ path: source.file, format: toFormat(source.format), type, ...shared }),
      kind: "file",
    };
  }
  if ("url" in source && !("environment_id" in source)) {
    // A gcloud --azure config names the VM's IMDS; the Azure supplier also serves AKS, App Service and Arc.
    const azure = isAzureImdsTokenUrl(source.url)
      ? registeredSupplier(options.suppliers, "azure")?.create(
          config as { credential_source: { url: string } },
          {
            ...definedFields(options.azure ?? {}),
            ...seams,
          },
        )
      : undefined;
    if (azure) return { supplier: azure, kind: "azure" };
    return {
      supplier: fromUrl({
        url: source.url,
        headers: source.headers,
        format: toFormat(source.format),
        type,
        ...http,
        ...(options.retry !== undefined ? { retry: options.retry } : {}),
      }),
      kind: "url",
    };
  }
  if ("executable" in source) {
    return {
      supplier: fromExecutable({
        command: source.executable.command,
        timeoutMs: source.executable.timeout_millis,
        outputFile: source.executable.output_file,
        audience: config.audience,
        subjectTokenType: type,
        serviceAccountEmail: serviceAccount,
        ...shared,
      }),
      kind: "executable",
    };
  }
  if ("environment_id" in source) {
    const aws = registeredSupplier(options.suppliers, "aws");
    if (!aws) throw supplierNotRegistered("aws", configPath);
    return {
      supplier: aws.create(
        { audience: config.audience, credential_source: source },
        { ...definedFields(options.aws ?? {}), ...seams },
      ),
      kind: "aws",
    };
  }
  if ("certificate" in source) {
    return {
      supplier: fromCertificate({
        useDefaultCertificateConfig: source.certificate.use_default_certificate_config,
        certificateConfigLocation: source.certificate.certificate_config_location,
        trustChainPath: source.certificate.trust_chain_path,
        ...(options.homeDir ? { homeDir: options.homeDir } : {}),
        ...shared,
      }),
      kind: "certificate",
    };
  }
  throw new WifError("The credential config's credential_source is of no kind this version knows.", {
    code: CONFIG_ERROR_CODES.invalid,
  });
}

function toFormat(format: ConfigFormat | undefined): TokenFormat | undefined {
  return format
    ? {
        type: format.type,
        ...(format.subject_token_field_name
          ? { subjectTokenFieldName: format.subject_token_field_name }
          : {}),
      }
    : undefined;
}

/** The fields that are set; the AWS supplier's options do not take explicit `undefined`s. */
function definedFields<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
