/**
 * The credential configuration file as written (AIP-4117), as zod schemas. These check shapes and types
 * only; rules that relate fields to each other, and the endpoint policy, run after them (rules.ts,
 * policy.ts), so each problem gets its own message. The public types (types.ts) and the shipped JSON Schema
 * are generated from these schemas and pinned by tests.
 */
import * as z from "zod/mini";

export const SUBJECT_TOKEN_TYPE_VALUES = [
  "urn:ietf:params:oauth:token-type:jwt",
  "urn:ietf:params:oauth:token-type:id_token",
  "urn:ietf:params:oauth:token-type:saml2",
  "urn:ietf:params:oauth:token-type:access_token",
  "urn:ietf:params:oauth:token-type:mtls",
  "urn:ietf:params:aws:token-type:aws4_request",
] as const;

/** The field that identifies each credential source variant, in the order they are looked for. */
export const SOURCE_KEYS = [
  { key: "environment_id", kind: "aws" },
  { key: "executable", kind: "executable" },
  { key: "certificate", kind: "certificate" },
  { key: "file", kind: "file" },
  { key: "url", kind: "url" },
] as const;

export type SourceKind = (typeof SOURCE_KEYS)[number]["kind"];

function build() {
  const text = (description: string) => z.string().check(z.minLength(1), z.describe(description));
  const optionalText = (description: string) => z.optional(text(description));

  const formatSchema = z
    .object({
      type: z
        .enum(["text", "json"])
        .check(z.describe('How to read the subject token: the whole body ("text") or one JSON field.')),
      subject_token_field_name: optionalText(
        'The JSON field holding the subject token, when type is "json".',
      ),
    })
    .check(
      z.meta({ id: "SubjectTokenFormat", description: "How the subject token is read from a file or URL." }),
    );

  const fileSourceSchema = z
    .object({
      file: text("Path of a file holding the subject token; re-read on every refresh."),
      format: z.optional(formatSchema),
    })
    .check(
      z.meta({ id: "FileCredentialSource", description: "Subject token read from a file (OIDC, SAML)." }),
    );

  const urlSourceSchema = z
    .object({
      url: text("URL answering the subject token to a GET."),
      headers: z.optional(
        z
          .record(z.string(), z.string())
          .check(z.describe("HTTP headers sent with the GET, e.g. Metadata: True.")),
      ),
      format: z.optional(formatSchema),
    })
    .check(
      z.meta({
        id: "UrlCredentialSource",
        description: "Subject token fetched from a URL (Azure IMDS, OIDC).",
      }),
    );

  const executableSourceSchema = z
    .object({
      executable: z
        .object({
          command: text("Absolute path of the program and its arguments, separated by spaces."),
          timeout_millis: z.optional(
            z.int().check(z.describe("How long the program may run, 5000 to 120000 ms. Default 30000.")),
          ),
          output_file: optionalText("File where the program caches its response; read before running it."),
          interactive_timeout_millis: z.optional(
            z
              .int()
              .check(
                z.describe(
                  "How long an interactive run (gcloud, workforce pools) may wait for the user, 30000 to 1800000 ms.",
                ),
              ),
          ),
        })
        .check(z.meta({ id: "ExecutableConfig" })),
    })
    .check(
      z.meta({
        id: "ExecutableCredentialSource",
        description:
          "Subject token printed by a program (needs GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1).",
      }),
    );

  const awsSourceSchema = z
    .object({
      environment_id: text('The AWS environment version; only "aws1" exists.'),
      region_url: optionalText("IMDS URL answering the availability zone, used when AWS_REGION is not set."),
      url: optionalText("IMDS URL answering the role name and its security credentials."),
      regional_cred_verification_url: text(
        "GetCallerIdentity URL that is signed; {region} is replaced by the workload's region.",
      ),
      imdsv2_session_token_url: optionalText("IMDSv2 session token URL; when set, IMDSv2 is required."),
    })
    .check(z.meta({ id: "AwsCredentialSource", description: "A signed AWS GetCallerIdentity request." }));

  const certificateSourceSchema = z
    .object({
      certificate: z
        .object({
          use_default_certificate_config: z.optional(
            z.boolean().check(z.describe("Use the well-known certificate configuration file.")),
          ),
          certificate_config_location: optionalText("Path of a certificate configuration file."),
          trust_chain_path: optionalText(
            "PEM file with the intermediate certificates to send with the leaf.",
          ),
        })
        .check(z.meta({ id: "CertificateConfig" })),
    })
    .check(
      z.meta({
        id: "CertificateCredentialSource",
        description: "An X.509 client certificate presented over mTLS.",
      }),
    );

  const credentialSourceSchema = z
    .union([
      fileSourceSchema,
      urlSourceSchema,
      executableSourceSchema,
      awsSourceSchema,
      certificateSourceSchema,
    ])
    .check(
      z.meta({ id: "CredentialSource", description: "Where the workload's own credential comes from." }),
    );

  const externalAccountSchema = z
    .object({
      type: z.literal("external_account"),
      audience: text(
        "Full resource name of the workload or workforce identity pool provider, prefixed with //iam.",
      ),
      subject_token_type: z
        .enum(SUBJECT_TOKEN_TYPE_VALUES)
        .check(z.describe("The type of the subject token.")),
      token_url: optionalText("Google STS token endpoint. Default https://sts.{universe_domain}/v1/token."),
      service_account_impersonation_url: optionalText(
        "IAM Credentials generateAccessToken URL of the service account to impersonate.",
      ),
      service_account_impersonation: z.optional(
        z
          .object({
            token_lifetime_seconds: z.optional(
              z
                .int()
                .check(z.describe("Lifetime of impersonated tokens, 600 to 43200 seconds. Default 3600.")),
            ),
          })
          .check(z.meta({ id: "ServiceAccountImpersonation" })),
      ),
      token_info_url: optionalText("Google STS token introspection endpoint."),
      client_id: optionalText("OAuth client id for STS client authentication (workforce)."),
      client_secret: optionalText("OAuth client secret for STS client authentication (workforce)."),
      quota_project_id: optionalText("Project billed for quota; sent as x-goog-user-project."),
      workforce_pool_user_project: optionalText(
        "Project billed for workforce pool usage; workforce audiences only.",
      ),
      universe_domain: optionalText("The universe domain. Default googleapis.com."),
      credential_source: credentialSourceSchema,
    })
    .check(
      z.meta({ id: "ExternalAccountConfig", description: "Workload or workforce identity federation." }),
    );

  const authorizedUserSchema = z
    .object({
      type: z.literal("external_account_authorized_user"),
      audience: optionalText("The workforce pool provider, prefixed with //iam."),
      refresh_token: text("The refresh token from gcloud auth login."),
      token_url: optionalText("Token endpoint. Default https://sts.{universe_domain}/v1/oauthtoken."),
      token_info_url: optionalText("Token introspection endpoint."),
      revoke_url: optionalText("Token revocation endpoint."),
      client_id: text("OAuth client id."),
      client_secret: text("OAuth client secret."),
      quota_project_id: optionalText("Project billed for quota; sent as x-goog-user-project."),
      universe_domain: optionalText("The universe domain. Default googleapis.com."),
    })
    .check(
      z.meta({
        id: "AuthorizedUserConfig",
        description: "A workforce user's refresh-token credentials (gcloud auth login).",
      }),
    );

  const credentialConfigSchema = z.union([externalAccountSchema, authorizedUserSchema]).check(
    z.meta({
      id: "CredentialConfig",
      title: "Google credential configuration (AIP-4117)",
      description:
        "The file GOOGLE_APPLICATION_CREDENTIALS points at for workload and workforce identity federation.",
    }),
  );

  /** The schema each credential source variant is checked against, keyed by the field that identifies it. */
  const SOURCE_VARIANTS = SOURCE_KEYS.map((variant) => ({
    ...variant,
    schema: {
      aws: awsSourceSchema,
      executable: executableSourceSchema,
      certificate: certificateSourceSchema,
      file: fileSourceSchema,
      url: urlSourceSchema,
    }[variant.kind],
  }));

  return {
    formatSchema,
    fileSourceSchema,
    urlSourceSchema,
    executableSourceSchema,
    awsSourceSchema,
    certificateSourceSchema,
    credentialSourceSchema,
    externalAccountSchema,
    authorizedUserSchema,
    credentialConfigSchema,
    SOURCE_VARIANTS,
  };
}

export type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

/**
 * The schemas, built on first use: zod builds a schema with many small objects, and doing it at import made
 * every program that imports the package (the CLI's start, the sidecar's) pay about 10 ms for it.
 */
export function schemas(): Schemas {
  built ??= build();
  return built;
}
