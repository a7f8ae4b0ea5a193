/**
 * Builders that write credential configurations exactly as `gcloud iam workload-identity-pools
 * create-cred-config` (and `gcloud iam workforce-pools create-cred-config`) do for the same flags, so a file
 * from wifkit and one from gcloud are interchangeable: the same fields with the same values, in the same order.
 */
import { DEFAULT_UNIVERSE_DOMAIN } from "@wifkit/core";
import { parseAudience } from "./audience.js";
import { ConfigError } from "./errors.js";
import type { CredentialSource, ExternalAccountConfig, SubjectTokenFormat } from "./types.js";

export const AWS_METADATA_BASE_URL = "http://169.254.169.254";
export const AZURE_METADATA_BASE_URL = "http://169.254.169.254";
export const AWS_REGIONAL_CRED_VERIFICATION_URL =
  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";
/** The subject token type of workload pools' file, URL and executable sources without `--subject-token-type`. */
export const DEFAULT_SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";
/** The subject token type of workforce pools without `--subject-token-type`. */
export const DEFAULT_WORKFORCE_SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
/** What gcloud writes as `timeout_millis` without `--executable-timeout-millis`. */
export const DEFAULT_EXECUTABLE_TIMEOUT_MILLIS = 30_000;
/** The `--sts-location` that means the global STS endpoint, as no location (or an empty one) does. */
export const GLOBAL_STS_LOCATION = "global";

export type SourceOptions =
  /** `--aws [--enable-imdsv2]` */
  | { kind: "aws"; enableImdsv2?: boolean | undefined }
  /**
   * `--azure [--app-id-uri URI]`: without `appIdUri` the token is asked for
   * `https://iam.googleapis.com/` + the provider resource, as gcloud does.
   */
  | { kind: "azure"; appIdUri?: string | undefined }
  /** `--credential-source-file PATH [--credential-source-type] [--credential-source-field-name]` */
  | { kind: "file"; path: string; format?: FormatOptions | undefined }
  /** `--credential-source-url URL [--credential-source-headers] [--credential-source-type] [--credential-source-field-name]` */
  | {
      kind: "url";
      url: string;
      headers?: Record<string, string> | undefined;
      format?: FormatOptions | undefined;
    }
  /**
   * `--executable-command CMD [--executable-timeout-millis] [--executable-output-file]
   * [--executable-interactive-timeout-millis]` (the last for workforce pools, with an output file).
   * `timeout_millis` is always written: 30000 unless given.
   */
  | {
      kind: "executable";
      command: string;
      timeoutMillis?: number | undefined;
      outputFile?: string | undefined;
      interactiveTimeoutMillis?: number | undefined;
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
   * The provider: `projects/N/locations/global/workloadIdentityPools/P/providers/X`, or a workforce provider
   * `locations/global/workforcePools/P/providers/X` (gcloud's positional argument), or the full audience
   * starting with `//iam.`.
   */
  resource: string;
  source: SourceOptions;
  /** `--service-account EMAIL`: impersonate this service account. */
  serviceAccount?: string | undefined;
  /** `--service-account-token-lifetime-seconds N`. */
  serviceAccountTokenLifetimeSeconds?: number | undefined;
  /**
   * `--subject-token-type` for file, URL and executable sources. Default `urn:ietf:params:oauth:token-type:jwt`,
   * `urn:ietf:params:oauth:token-type:id_token` for a workforce provider.
   */
  subjectTokenType?: string | undefined;
  /** `--universe-domain D`. Default googleapis.com; `universe_domain` is always written, as gcloud does. */
  universeDomain?: string | undefined;
  /**
   * `--sts-location L`: exchange at the locational STS endpoint `https://sts.L.rep.{universe}` (token and
   * introspection URLs; impersonation stays on the global IAM Credentials endpoint, as gcloud writes it).
   * `global` or nothing: the global endpoint. Not with a certificate source: there is no locational mTLS endpoint.
   */
  stsLocation?: string | undefined;
  /** `--workforce-pool-user-project` for workforce providers (gcloud requires it for them). */
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

function sourceOf(source: SourceOptions, audience: string, endpoints: BuildEndpoints): CredentialSource {
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
      // gcloud's default resource: https://iam.googleapis.com/ + the provider, i.e. the audience over https.
      const resource = source.appIdUri ?? `https:${audience}`;
      return {
        url: `${base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${resource}`,
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
          timeout_millis: source.timeoutMillis ?? DEFAULT_EXECUTABLE_TIMEOUT_MILLIS,
          ...(source.outputFile === undefined ? {} : { output_file: source.outputFile }),
          ...(source.interactiveTimeoutMillis === undefined
            ? {}
            : { interactive_timeout_millis: source.interactiveTimeoutMillis }),
        },
      } satisfies CredentialSource;
  }
}

function subjectTokenTypeOf(options: BuildCredentialConfigOptions, workforce: boolean): string {
  switch (options.source.kind) {
    case "aws":
      return "urn:ietf:params:aws:token-type:aws4_request";
    case "certificate":
      return "urn:ietf:params:oauth:token-type:mtls";
    case "azure":
      return DEFAULT_SUBJECT_TOKEN_TYPE;
    default:
      return (
        options.subjectTokenType ??
        (workforce ? DEFAULT_WORKFORCE_SUBJECT_TOKEN_TYPE : DEFAULT_SUBJECT_TOKEN_TYPE)
      );
  }
}

/** `https://sts.{mtls.}{universe}`, or `https://sts.{location}.rep.{universe}` for a location. */
function stsBaseUrl(location: string | undefined, mtls: boolean, universe: string): string {
  if (!location || location === GLOBAL_STS_LOCATION) {
    return `https://sts.${mtls ? "mtls." : ""}${universe}`;
  }
  const problem = !/^[a-z][a-z0-9-]{0,62}$/.test(location)
    ? `"${location}" is not a location; use a region such as us-central1, or "global"`
    : mtls
      ? "a certificate source needs the mTLS endpoint, and there is no locational one; leave the location out"
      : undefined;
  if (problem) throw new ConfigError([{ path: "stsLocation", message: problem }]);
  return `https://sts.${location}.rep.${universe}`;
}

/**
 * Builds a credential configuration the way `gcloud iam workload-identity-pools create-cred-config` (and
 * `gcloud iam workforce-pools create-cred-config` for a workforce provider) writes it for the same flags:
 * `universe_domain` always; `service_account_impersonation_url` with `--service-account` (and
 * `service_account_impersonation.token_lifetime_seconds` when a lifetime is given), `token_info_url` only
 * without a service account; `timeout_millis` 30000 for an executable without a timeout. Validate the result
 * with `parseCredentialConfig` if it came from user input. Throws a `ConfigError` (path `stsLocation`) for a
 * location that is not one, or one with a certificate source.
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
  const audience = audienceOf(options.resource);
  const workforce = parseAudience(audience)?.kind === "workforce";
  // A client certificate is presented to the mTLS endpoints, for the exchange and for impersonation alike.
  const mtls = options.source.kind === "certificate";
  const sts = stsBaseUrl(options.stsLocation, mtls, universe);
  // gcloud's key order, so that the files read the same side by side.
  const config: Record<string, unknown> = {
    universe_domain: universe,
    type: "external_account",
    audience,
    subject_token_type: subjectTokenTypeOf(options, workforce),
    token_url: endpoints.tokenUrl ?? `${sts}/v1/token`,
    credential_source: sourceOf(options.source, audience, endpoints),
  };
  if (options.workforcePoolUserProject !== undefined) {
    config.workforce_pool_user_project = options.workforcePoolUserProject;
  }
  if (options.serviceAccount !== undefined) {
    const base =
      endpoints.iamCredentialsBaseUrl ?? `https://iamcredentials.${mtls ? "mtls." : ""}${universe}`;
    config.service_account_impersonation_url = `${base}/v1/projects/-/serviceAccounts/${options.serviceAccount}:generateAccessToken`;
    if (options.serviceAccountTokenLifetimeSeconds !== undefined) {
      config.service_account_impersonation = {
        token_lifetime_seconds: options.serviceAccountTokenLifetimeSeconds,
      };
    }
  } else {
    config.token_info_url = endpoints.tokenInfoUrl ?? `${sts}/v1/introspect`;
  }
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
