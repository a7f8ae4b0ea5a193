// Generated from schema.ts by generate.ts; do not edit. Regenerate: pnpm --filter @wifkit/config test -u

/** A workforce user's refresh-token credentials (gcloud auth login). */
export interface AuthorizedUserConfig {
  type: "external_account_authorized_user";
  /** The workforce pool provider, prefixed with //iam. */
  audience?: string | undefined;
  /** The refresh token from gcloud auth login. */
  refresh_token: string;
  /** Token endpoint. Default https://sts.{universe_domain}/v1/oauthtoken. */
  token_url?: string | undefined;
  /** Token introspection endpoint. */
  token_info_url?: string | undefined;
  /** Token revocation endpoint. */
  revoke_url?: string | undefined;
  /** OAuth client id. */
  client_id: string;
  /** OAuth client secret. */
  client_secret: string;
  /** Project billed for quota; sent as x-goog-user-project. */
  quota_project_id?: string | undefined;
  /** The universe domain. Default googleapis.com. */
  universe_domain?: string | undefined;
}

/** A signed AWS GetCallerIdentity request. */
export interface AwsCredentialSource {
  /** The AWS environment version; only "aws1" exists. */
  environment_id: string;
  /** IMDS URL answering the availability zone, used when AWS_REGION is not set. */
  region_url?: string | undefined;
  /** IMDS URL answering the role name and its security credentials. */
  url?: string | undefined;
  /** GetCallerIdentity URL that is signed; {region} is replaced by the workload's region. */
  regional_cred_verification_url: string;
  /** IMDSv2 session token URL; when set, IMDSv2 is required. */
  imdsv2_session_token_url?: string | undefined;
}

export interface CertificateConfig {
  /** Use the well-known certificate configuration file. */
  use_default_certificate_config?: boolean | undefined;
  /** Path of a certificate configuration file. */
  certificate_config_location?: string | undefined;
  /** PEM file with the intermediate certificates to send with the leaf. */
  trust_chain_path?: string | undefined;
}

/** An X.509 client certificate presented over mTLS. */
export interface CertificateCredentialSource {
  certificate: CertificateConfig;
}

/** The file GOOGLE_APPLICATION_CREDENTIALS points at for workload and workforce identity federation. */
export type CredentialConfig = ExternalAccountConfig | AuthorizedUserConfig;

/** Where the workload's own credential comes from. */
export type CredentialSource = FileCredentialSource | UrlCredentialSource | ExecutableCredentialSource | AwsCredentialSource | CertificateCredentialSource;

export interface ExecutableConfig {
  /** Absolute path of the program and its arguments, separated by spaces. */
  command: string;
  /** How long the program may run, 5000 to 120000 ms. Default 30000. */
  timeout_millis?: number | undefined;
  /** File where the program caches its response; read before running it. */
  output_file?: string | undefined;
  /** How long an interactive run (gcloud, workforce pools) may wait for the user, 30000 to 1800000 ms. */
  interactive_timeout_millis?: number | undefined;
}

/** Subject token printed by a program (needs GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1). */
export interface ExecutableCredentialSource {
  executable: ExecutableConfig;
}

/** Workload or workforce identity federation. */
export interface ExternalAccountConfig {
  type: "external_account";
  /** Full resource name of the workload or workforce identity pool provider, prefixed with //iam. */
  audience: string;
  /** The type of the subject token. */
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt" | "urn:ietf:params:oauth:token-type:id_token" | "urn:ietf:params:oauth:token-type:saml2" | "urn:ietf:params:oauth:token-type:access_token" | "urn:ietf:params:oauth:token-type:mtls" | "urn:ietf:params:aws:token-type:aws4_request";
  /** Google STS token endpoint. Default https://sts.{universe_domain}/v1/token. */
  token_url?: string | undefined;
  /** IAM Credentials generateAccessToken URL of the service account to impersonate. */
  service_account_impersonation_url?: string | undefined;
  service_account_impersonation?: ServiceAccountImpersonation | undefined;
  /** Google STS token introspection endpoint. */
  token_info_url?: string | undefined;
  /** OAuth client id for STS client authentication (workforce). */
  client_id?: string | undefined;
  /** OAuth client secret for STS client authentication (workforce). */
  client_secret?: string | undefined;
  /** Project billed for quota; sent as x-goog-user-project. */
  quota_project_id?: string | undefined;
  /** Project billed for workforce pool usage; workforce audiences only. */
  workforce_pool_user_project?: string | undefined;
  /** The universe domain. Default googleapis.com. */
  universe_domain?: string | undefined;
  credential_source: CredentialSource;
}

/** Subject token read from a file (OIDC, SAML). */
export interface FileCredentialSource {
  /** Path of a file holding the subject token; re-read on every refresh. */
  file: string;
  format?: SubjectTokenFormat | undefined;
}

export interface ServiceAccountImpersonation {
  /** Lifetime of impersonated tokens, 600 to 43200 seconds. Default 3600. */
  token_lifetime_seconds?: number | undefined;
}

/** How the subject token is read from a file or URL. */
export interface SubjectTokenFormat {
  /** How to read the subject token: the whole body ("text") or one JSON field. */
  type: "text" | "json";
  /** The JSON field holding the subject token, when type is "json". */
  subject_token_field_name?: string | undefined;
}

/** Subject token fetched from a URL (Azure IMDS, OIDC). */
export interface UrlCredentialSource {
  /** URL answering the subject token to a GET. */
  url: string;
  /** HTTP headers sent with the GET, e.g. Metadata: True. */
  headers?: Record<string, string> | undefined;
  format?: SubjectTokenFormat | undefined;
}
