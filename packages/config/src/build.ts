/**
 * Builders that write credential configurations exactly as `gcloud iam workload-identity-pools
 * create-cred-config` does for the same flags, so a file from wifkit and one from gcloud are interchangeable.
 */
import { DEFAULT_UNIVERSE_DOMAIN } from "./audience.js";
import type { CredentialSource, ExternalAccountConfig, SubjectTokenFormat } from "./types.js";

export const AWS_METADATA_BASE_URL = "http://169.254.169.254";
export const AZURE_METADATA_BASE_URL = "http://169.254.169.254";
export const AWS_REGIONAL_CRED_VERIFICATION_URL =
  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";
export const DEFAULT_SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";

export type SourceOptions =
  /** `--aws [--enable-imdsv2]` */
  | { kind: "aws"; enableImdsv2?: boolean | undefined }
  /** `--azure --app-id-uri URI` */
  | { kind: "azure"; appIdUri: string }
  /** `--credential-source-file PATH [--credential-source-type] [--credential-source-field-name]` */
  | { kind: "file"; path: string; format?: FormatOptions | undefined }
  /** `--credential-source-url URL [--credential-source-headers] [--credential-source-type] [--credential-source-field-name]` */
  | {
      kind: "url";
      url: string;
      headers?: Record<string, string> | undefined;
      format?: FormatOptions | undefined;
    }
  /** `--executable-command CMD [--executable-timeout-millis] [--executable-output-file]` */
  | {
      kind: "executable";
      command: string;
      timeoutMillis?: number | undefined;
      outputFile?: string | undefined;
    }
  /**
   * `--credential-cert-path ... [--credential-cert-trust-chain-path] [--credential-cert-configuration-output-file]`:
   * an X.509 client certificate over mTLS. Write the certificate configuration it points at with
   * `buildCertificateConfig`; without `certificateConfigLocation` it is read from the well-known location.
   */
  | {
      kind: "certificate";
      certificateConfigLocation?: string | undefined;
      trustChainPath?: string | undefined;
    };

export interface FormatOptions {
  type: "text" | "json";
  subjectTokenFieldName?: string | undefined;
}

export interface BuildCredentialConfigOptions {
  /**
   * The provider: `projects/N/locations/global/workloadIdentityPools/P/providers/X` (gcloud's positional
   * argument), or the full audience starting with `//iam.`.
   */
  resource: string;
  source: SourceOptions;
  /** `--service-account EMAIL`: impersonate this service account. */
  serviceAccount?: string | undefined;
  /** `--service-account-token-lifetime-seconds N`. */
  serviceAccountTokenLifetimeSeconds?: number | undefined;
  /** `--subject-token-type` for file, URL and executable sources. Default `urn:ietf:params:oauth:token-type:jwt`. */
  subjectTokenType?: string | undefined;
  /** `--universe-domain D`. Default googleapis.com (and then not written). */
  universeDomain?: string | undefined;
  /** `--workforce-pool-user-project` for workforce audiences. */
  workforcePoolUserProject?: string | undefined;
  /** Endpoint overrides gcloud does not offer, for emulators and tests. */
  endpoints?: BuildEndpoints | undefined;
}

export interface BuildEndpoints {
  /** Replaces `https://sts.{universe}/v1/token` (`https://sts.mtls.{universe}/v1/token` for certificates). */
  tokenUrl?: string | undefined;
  /** Replaces `https://iamcredentials.{universe}` in the impersonation URL. */
  iamCredentialsBaseUrl?: string | undefined;
  /** Replaces `https://sts.{universe}/v1/introspect`. */
  tokenInfoUrl?: string | undefined;
  /** Replaces `http://169.254.169.254` in the AWS metadata URLs. */
  awsMetadataBaseUrl?: string | undefined;
  /** Replaces `http://169.254.169.254` in the Azure metadata URL. */
  azureMetadataBaseUrl?: string | undefined;
}

function audienceOf(resource: string): string {
  if (resource.startsWith("//")) return resource;
  return `//iam.googleapis.com/${resource.replace(/^\/+/, "")}`;
}

function formatOf(format: FormatOptions | undefined): SubjectTokenFormat | undefined {
  if (!format) return undefined;
  return format.subjectTokenFieldName === undefined
    ? { type: format.type }
    : { type: format.type, subject_token_field_name: format.subjectTokenFieldName };
}

function sourceOf(source: SourceOptions, endpoints: BuildEndpoints): CredentialSource {
  switch (source.kind) {
    case "aws": {
      const base = endpoints.awsMetadataBaseUrl ?? AWS_METADATA_BASE_URL;
      return {
        environment_id: "aws1",
        region_url: `${base}/latest/meta-data/placement/availability-zone`,
        url: `${base}/latest/meta-data/iam/security-credentials`,
        regional_cred_verification_url: AWS_REGIONAL_CRED_VERIFICATION_URL,
        ...(source.enableImdsv2 ? { imdsv2_session_token_url: `${base}/latest/api/token` } : {}),
      };
    }
    case "azure": {
      const base = endpoints.azureMetadataBaseUrl ?? AZURE_METADATA_BASE_URL;
      return {
        url: `${base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${source.appIdUri}`,
        headers: { Metadata: "True" },
        format: { type: "json", subject_token_field_name: "access_token" },
      };
    }
    case "file": {
      const format = formatOf(source.format);
      return { file: source.path, ...(format ? { format } : {}) };
    }
    case "url": {
      const format = formatOf(source.format);
      return {
        url: source.url,
        ...(source.headers ? { headers: source.headers } : {}),
        ...(format ? { format } : {}),
      };
    }
    case "certificate":
      return {
        certificate: {
          ...(source.certificateConfigLocation === undefined
            ? { use_default_certificate_config: true }
            : { certificate_config_location: source.certificateConfigLocation }),
          ...(source.trustChainPath === undefined ? {} : { trust_chain_path: source.trustChainPath }),
        },
      };
    case "executable":
      return {
        executable: {
          command: source.command,
          ...(source.timeoutMillis === undefined ? {} : { timeout_millis: source.timeoutMillis }),
          ...(source.outputFile === undefined ? {} : { output_file: source.outputFile }),
        },
      };
  }
}

/**
 * Builds a credential configuration the way `gcloud iam workload-identity-pools create-cred-config` writes
 * it for the same flags: `service_account_impersonation_url` with `--service-account` (and
 * `service_account_impersonation.token_lifetime_seconds` when a lifetime is given), `token_info_url` only
 * without a service account, `universe_domain` only when it is not googleapis.com. Validate the result with
 * `parseCredentialConfig` if it came from user input.
 *
 * @example
 * const config = buildCredentialConfig({
 *   resource: "projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-aws",
 *   source: { kind: "aws", enableImdsv2: true },
 *   serviceAccount: "app@my-project.iam.gserviceaccount.com",
 * });
 */
export function buildCredentialConfig(options: BuildCredentialConfigOptions): ExternalAccountConfig {
  const universe = options.universeDomain ?? DEFAULT_UNIVERSE_DOMAIN;
  const endpoints = options.endpoints ?? {};
  const subjectTokenType =
    options.source.kind === "aws"
      ? "urn:ietf:params:aws:token-type:aws4_request"
      : options.source.kind === "certificate"
        ? "urn:ietf:params:oauth:token-type:mtls"
        : (options.subjectTokenType ?? DEFAULT_SUBJECT_TOKEN_TYPE);
  // A client certificate is presented to the mTLS endpoints, for the exchange and for impersonation alike.
  const mtls = options.source.kind === "certificate" ? "mtls." : "";
  const config: Record<string, unknown> = {
    type: "external_account",
    audience: audienceOf(options.resource),
    subject_token_type: subjectTokenType,
    token_url: endpoints.tokenUrl ?? `https://sts.${mtls}${universe}/v1/token`,
  };
  if (options.serviceAccount !== undefined) {
    const base = endpoints.iamCredentialsBaseUrl ?? `https://iamcredentials.${mtls}${universe}`;
    config.service_account_impersonation_url = `${base}/v1/projects/-/serviceAccounts/${options.serviceAccount}:generateAccessToken`;
    if (options.serviceAccountTokenLifetimeSeconds !== undefined) {
      config.service_account_impersonation = {
        token_lifetime_seconds: options.serviceAccountTokenLifetimeSeconds,
      };
    }
  } else {
    config.token_info_url = endpoints.tokenInfoUrl ?? `https://sts.${mtls}${universe}/v1/introspect`;
  }
  if (options.workforcePoolUserProject !== undefined) {
    config.workforce_pool_user_project = options.workforcePoolUserProject;
  }
  if (universe !== DEFAULT_UNIVERSE_DOMAIN) config.universe_domain = universe;
  config.credential_source = sourceOf(options.source, endpoints);
  return config as unknown as ExternalAccountConfig;
}

/** The certificate configuration file an X.509 credential source reads (`certificate_config.json`). */
export interface CertificateConfigFile {
  cert_configs: { workload: { cert_path: string; key_path: string } };
}

/**
 * Builds the certificate configuration that `--credential-cert-path` and `--credential-cert-private-key-path`
 * make gcloud write: where the workload's client certificate and its private key are.
 *
 * @example
 * const file = buildCertificateConfig({ certPath: "/etc/wif/cert.pem", keyPath: "/etc/wif/key.pem" });
 */
export function buildCertificateConfig(init: { certPath: string; keyPath: string }): CertificateConfigFile {
  return { cert_configs: { workload: { cert_path: init.certPath, key_path: init.keyPath } } };
}
