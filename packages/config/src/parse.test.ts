import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors.js";
import { parseCredentialConfig } from "./parse.js";
import type { AllowOptions } from "./policy.js";

const AUDIENCE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider";
const WORKFORCE = "//iam.googleapis.com/locations/global/workforcePools/my-workforce/providers/my-idp";
const IMPERSONATION =
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/app@my-project.iam.gserviceaccount.com:generateAccessToken";
const JWT = "urn:ietf:params:oauth:token-type:jwt";
const AWS4 = "urn:ietf:params:aws:token-type:aws4_request";
const MTLS = "urn:ietf:params:oauth:token-type:mtls";

const base = {
  type: "external_account",
  audience: AUDIENCE,
  subject_token_type: JWT,
  token_url: "https://sts.googleapis.com/v1/token",
};
const awsSource = {
  environment_id: "aws1",
  region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
  url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
  regional_cred_verification_url:
    "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
};

/** The issues a config raises, as "path: message" lines. */
function problems(input: unknown, allow?: AllowOptions): string[] {
  try {
    parseCredentialConfig(input, allow ? { allow } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe("ERR_WIF_CONFIG_INVALID");
    return (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  return [];
}

describe("every variant of the credential configuration is accepted", () => {
  const accepted: Array<[string, Record<string, unknown>]> = [
    ["file, text", { ...base, credential_source: { file: "/var/run/token" } }],
    [
      "file, json field",
      {
        ...base,
        credential_source: {
          file: "/var/run/token.json",
          format: { type: "json", subject_token_field_name: "id_token" },
        },
      },
    ],
    [
      "url with headers (what gcloud --azure writes)",
      {
        ...base,
        credential_source: {
          url: "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://app",
          headers: { Metadata: "True" },
          format: { type: "json", subject_token_field_name: "access_token" },
        },
      },
    ],
    [
      "url over https",
      { ...base, credential_source: { url: "https://tokens.example.com/oidc", format: { type: "text" } } },
    ],
    [
      "executable",
      {
        ...base,
        credential_source: {
          executable: {
            command: "/usr/local/bin/token --aud x",
            timeout_millis: 5000,
            output_file: "/tmp/out.json",
          },
        },
      },
    ],
    ["executable, defaults", { ...base, credential_source: { executable: { command: "/opt/token" } } }],
    ["aws IMDSv1", { ...base, subject_token_type: AWS4, credential_source: awsSource }],
    [
      "aws IMDSv2 over IPv6",
      {
        ...base,
        subject_token_type: AWS4,
        credential_source: {
          ...awsSource,
          region_url: "http://[fd00:ec2::254]/latest/meta-data/placement/availability-zone",
          imdsv2_session_token_url: "http://[fd00:ec2::254]/latest/api/token",
        },
      },
    ],
    [
      "aws, environment only (no IMDS URLs)",
      {
        ...base,
        subject_token_type: AWS4,
        credential_source: {
          environment_id: "aws1",
          regional_cred_verification_url: awsSource.regional_cred_verification_url,
        },
      },
    ],
    [
      "certificate, default config",
      {
        ...base,
        subject_token_type: MTLS,
        token_url: "https://sts.mtls.googleapis.com/v1/token",
        credential_source: {
          certificate: { use_default_certificate_config: true, trust_chain_path: "/etc/chain.pem" },
        },
      },
    ],
    [
      "certificate, explicit config",
      {
        ...base,
        subject_token_type: MTLS,
        credential_source: {
          certificate: { certificate_config_location: "/etc/wif/certificate_config.json" },
        },
      },
    ],
    [
      "every optional top-level field",
      {
        ...base,
        token_url: "https://sts.us-east7.rep.googleapis.com/v1/token",
        service_account_impersonation_url: IMPERSONATION,
        service_account_impersonation: { token_lifetime_seconds: 43200 },
        token_info_url: "https://sts.googleapis.com/v1/introspect",
        quota_project_id: "billing-project",
        credential_source: { file: "/token" },
      },
    ],
    [
      "workforce pool with user project and client auth",
      {
        ...base,
        audience: WORKFORCE,
        workforce_pool_user_project: "my-project",
        client_id: "client",
        client_secret: "secret",
        credential_source: { file: "/token" },
      },
    ],
    [
      "another universe",
      {
        ...base,
        universe_domain: "example-universe.com",
        token_url: "https://sts.example-universe.com/v1/token",
        credential_source: { file: "/token" },
      },
    ],
    [
      "external_account_authorized_user",
      {
        type: "external_account_authorized_user",
        audience: WORKFORCE,
        refresh_token: "refresh",
        token_url: "https://sts.googleapis.com/v1/oauthtoken",
        token_info_url: "https://sts.googleapis.com/v1/introspect",
        revoke_url: "https://sts.googleapis.com/v1/revoke",
        client_id: "client",
        client_secret: "secret",
        quota_project_id: "quota",
      },
    ],
  ];
  it.each(accepted)("%s", (_name, input) => {
    const { config, warnings } = parseCredentialConfig(input, {
      allow: { universeDomains: ["example-universe.com"] },
    });
    expect(config).toEqual(input);
    expect(warnings).toEqual([]);
  });
});

describe("cross-field rules", () => {
  it("requires aws1 for AWS", () => {
    expect(
      problems({
        ...base,
        subject_token_type: AWS4,
        credential_source: { ...awsSource, environment_id: "aws2" },
      }),
    ).toEqual(['credential_source.environment_id: aws version 2 is not supported; only "aws1" exists']);
    expect(
      problems({
        ...base,
        subject_token_type: AWS4,
        credential_source: { ...awsSource, environment_id: "azure" },
      }),
    ).toEqual(['credential_source.environment_id: must be "aws1"']);
  });

  it("requires regional_cred_verification_url for AWS", () => {
    const { regional_cred_verification_url: _, ...source } = awsSource;
    expect(problems({ ...base, subject_token_type: AWS4, credential_source: source })).toEqual([
      "credential_source.regional_cred_verification_url: required",
    ]);
  });

  it("requires exactly one certificate option", () => {
    const cert = (certificate: object) => ({
      ...base,
      subject_token_type: MTLS,
      credential_source: { certificate },
    });
    expect(
      problems(cert({ use_default_certificate_config: true, certificate_config_location: "/c.json" })),
    ).toEqual([
      "credential_source.certificate: set either use_default_certificate_config or certificate_config_location, not both",
    ]);
    expect(problems(cert({ trust_chain_path: "/chain.pem" }))).toEqual([
      "credential_source.certificate: needs use_default_certificate_config: true or a certificate_config_location",
    ]);
    expect(problems(cert({ use_default_certificate_config: false }))).toEqual([
      "credential_source.certificate: needs use_default_certificate_config: true or a certificate_config_location",
    ]);
  });

  it("requires an absolute executable command", () => {
    expect(problems({ ...base, credential_source: { executable: { command: "get-token --x" } } })).toEqual([
      "credential_source.executable.command: must start with the absolute path of the program (e.g. /usr/local/bin/get-token --flag)",
    ]);
  });

  it("bounds the executable timeout to 5000..120000", () => {
    for (const timeout of [4999, 120001]) {
      expect(
        problems({ ...base, credential_source: { executable: { command: "/t", timeout_millis: timeout } } }),
      ).toEqual(["credential_source.executable.timeout_millis: must be between 5000 and 120000"]);
    }
    expect(
      problems({ ...base, credential_source: { executable: { command: "/t", timeout_millis: 5.5 } } }),
    ).toEqual(["credential_source.executable.timeout_millis: must be a whole number, not a number"]);
  });

  it("bounds gcloud's interactive timeout to 30000..1800000 and keeps it", () => {
    const executable = (interactive: number) => ({
      ...base,
      credential_source: { executable: { command: "/t", interactive_timeout_millis: interactive } },
    });
    for (const interactive of [29999, 1800001]) {
      expect(problems(executable(interactive))).toEqual([
        "credential_source.executable.interactive_timeout_millis: must be between 30000 and 1800000",
      ]);
    }
    const { config } = parseCredentialConfig(executable(60000));
    expect(config).toMatchObject({
      credential_source: { executable: { interactive_timeout_millis: 60000 } },
    });
  });

  it("allows workforce_pool_user_project only with a workforce audience", () => {
    expect(
      problems({ ...base, workforce_pool_user_project: "p", credential_source: { file: "/t" } }),
    ).toEqual([
      "workforce_pool_user_project: is only valid with a workforce pool audience (//iam.googleapis.com/locations/global/workforcePools/...)",
    ]);
  });

  it("requires a provider resource name as audience", () => {
    expect(problems({ ...base, audience: "my-provider", credential_source: { file: "/t" } })).toEqual([
      "audience: must be the full resource name of a workload or workforce identity pool provider, e.g. //iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/providers/PROVIDER_ID",
    ]);
    expect(
      problems({
        ...base,
        audience: AUDIENCE.replace("//iam.googleapis.com/", ""),
        credential_source: { file: "/t" },
      })[0],
    ).toContain('(prefix it with "//iam.googleapis.com/")');
    expect(
      problems({
        ...base,
        audience: AUDIENCE.replace("123456789012", "my-project"),
        credential_source: { file: "/t" },
      }),
    ).toEqual([
      "audience: names project \"my-project\"; use the project NUMBER, not the project id (gcloud projects describe PROJECT --format='value(projectNumber)')",
    ]);
    expect(
      problems({ ...base, audience: AUDIENCE.replace("my-pool", "p"), credential_source: { file: "/t" } }),
    ).toEqual(['audience: pool id "p" must be 4 to 32 characters of a-z, 0-9 and -']);
  });

  it("requires a subject_token_type that fits the source", () => {
    expect(problems({ ...base, credential_source: awsSource })).toEqual([
      'subject_token_type: does not fit a aws credential source; use "urn:ietf:params:aws:token-type:aws4_request"',
    ]);
    expect(
      problems({ ...base, credential_source: { certificate: { use_default_certificate_config: true } } }),
    ).toEqual([
      'subject_token_type: does not fit a certificate credential source; use "urn:ietf:params:oauth:token-type:mtls"',
    ]);
    expect(problems({ ...base, subject_token_type: AWS4, credential_source: { file: "/t" } })[0]).toMatch(
      /^subject_token_type: does not fit a file credential source/,
    );
    expect(problems({ ...base, subject_token_type: "jwt", credential_source: { file: "/t" } })[0]).toMatch(
      /^subject_token_type: must be "urn:ietf:params:oauth:token-type:jwt" or /,
    );
  });

  it("requires the impersonation URL to name a service account and :generateAccessToken", () => {
    const withUrl = (url: string) => ({
      ...base,
      service_account_impersonation_url: url,
      credential_source: { file: "/t" },
    });
    expect(problems(withUrl(IMPERSONATION.replace(":generateAccessToken", ":generateIdToken")))).toEqual([
      "service_account_impersonation_url: must end with the :generateAccessToken method, not :generateIdToken",
    ]);
    expect(problems(withUrl(IMPERSONATION.replace(":generateAccessToken", "")))).toEqual([
      "service_account_impersonation_url: must end with the :generateAccessToken method",
    ]);
    expect(problems(withUrl(IMPERSONATION.replace("app@my-project.iam.gserviceaccount.com", "app")))).toEqual(
      ["service_account_impersonation_url: must name a service account email"],
    );
    // A malformed escape is a wrong email, not a URIError.
    expect(problems(withUrl(IMPERSONATION.replace("app@", "%app@")))).toEqual([
      "service_account_impersonation_url: must name a service account email",
    ]);
    expect(problems(withUrl("https://iamcredentials.googleapis.com/v1/projects/p/serviceAccounts"))).toEqual([
      "service_account_impersonation_url: must be https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/SERVICE_ACCOUNT_EMAIL:generateAccessToken",
    ]);
  });

  it("bounds the impersonated token lifetime to 600..43200 seconds", () => {
    for (const lifetime of [599, 43201]) {
      expect(
        problems({
          ...base,
          service_account_impersonation_url: IMPERSONATION,
          service_account_impersonation: { token_lifetime_seconds: lifetime },
          credential_source: { file: "/t" },
        }),
      ).toEqual([
        "service_account_impersonation.token_lifetime_seconds: must be between 600 and 43200 seconds (10 minutes to 12 hours)",
      ]);
    }
  });

  it("requires a field name for json formats", () => {
    expect(problems({ ...base, credential_source: { file: "/t", format: { type: "json" } } })).toEqual([
      'credential_source.format.subject_token_field_name: required when format.type is "json"',
    ]);
  });

  it("requires exactly one credential source", () => {
    expect(problems({ ...base, credential_source: { file: "/t", url: "https://x.example.com" } })).toEqual([
      "credential_source: names more than one source (file and url); keep exactly one",
    ]);
    expect(problems({ ...base, credential_source: {} })).toEqual([
      "credential_source: must name one source: environment_id, executable, certificate, file, url",
    ]);
    expect(problems({ ...base })).toEqual(["credential_source: required"]);
  });

  it("requires client_id beside client_secret", () => {
    expect(problems({ ...base, client_secret: "s", credential_source: { file: "/t" } })).toEqual([
      "client_secret: needs client_id beside it",
    ]);
  });
});

describe("shapes and types", () => {
  it("lists every problem with its JSON path, never the value", () => {
    const issues = problems({
      type: "external_account",
      audience: 42,
      subject_token_type: JWT,
      client_secret: ["hunter2"],
      credential_source: { file: "", format: { type: "yaml" } },
    });
    expect(issues).toEqual([
      "audience: must be a string, not a number",
      "client_secret: must be a string, not an array",
      "credential_source.file: must not be empty",
      'credential_source.format.type: must be "text" or "json"',
    ]);
    expect(issues.join("\n")).not.toContain("hunter2");
  });

  it("checks nested objects, records and flags against the shipped JSON Schema, dropping unknown keys", () => {
    expect(
      problems({
        ...base,
        service_account_impersonation: [],
        credential_source: { url: "https://t.example/t", headers: { Metadata: true, "X-Ok": "1" } },
      }),
    ).toEqual([
      "service_account_impersonation: must be an object, not an array",
      "credential_source.headers.Metadata: must be a string, not a boolean",
    ]);
    expect(problems({ ...base, credential_source: { executable: "/bin/t" } })).toEqual([
      "credential_source.executable: must be an object, not a string",
    ]);
    expect(
      problems({ ...base, credential_source: { certificate: { use_default_certificate_config: "yes" } } }),
    ).toEqual([
      "credential_source.certificate.use_default_certificate_config: must be a boolean, not a string",
    ]);
    const { config, warnings } = parseCredentialConfig({
      ...base,
      credential_source: {
        url: "https://t.example/t",
        headers: { A: "1" },
        format: { type: "text", extra: 1 },
      },
    });
    expect(config).toMatchObject({ credential_source: { headers: { A: "1" }, format: { type: "text" } } });
    expect((config as { credential_source: { format: object } }).credential_source.format).not.toHaveProperty(
      "extra",
    );
    expect(warnings).toEqual(["credential_source.format.extra: unknown field, ignored"]);
  });

  it("names what kind of file it got instead of a federation config", () => {
    expect(problems({ type: "service_account", private_key: "k" })[0]).toMatch(
      /^type: "service_account" is a service account key file, not a workload identity federation configuration/,
    );
    expect(problems({ audience: AUDIENCE })).toEqual([
      'type: required; must be "external_account" or "external_account_authorized_user"',
    ]);
    expect(problems([])).toEqual([": must be a JSON object"]);
  });

  it("warns about unknown fields instead of failing", () => {
    const { config, warnings } = parseCredentialConfig({
      ...base,
      newer_gcloud_field: true,
      credential_source: { file: "/t", cache: 1, format: { type: "text", extra: 2 } },
    });
    expect(warnings).toEqual([
      "newer_gcloud_field: unknown field, ignored",
      "credential_source.cache: unknown field, ignored",
      "credential_source.format.extra: unknown field, ignored",
    ]);
    expect(config).not.toHaveProperty("newer_gcloud_field");
  });

  it("warns when a lifetime is set without impersonation", () => {
    const { warnings } = parseCredentialConfig({
      ...base,
      service_account_impersonation: { token_lifetime_seconds: 3600 },
      credential_source: { file: "/t" },
    });
    expect(warnings).toEqual([
      "service_account_impersonation: has no effect without service_account_impersonation_url",
    ]);
  });
});

describe("endpoint policy", () => {
  it("refuses a token_url outside Google's universe", () => {
    expect(
      problems({
        ...base,
        token_url: "https://sts.evil.example/v1/token",
        credential_source: { file: "/t" },
      }),
    ).toEqual([
      "token_url: https://sts.evil.example is not a Google STS endpoint of universe googleapis.com (expected https://sts.googleapis.com/...). Only Google endpoints are accepted, because a configuration can send your credentials to any URL it names; to use another endpoint (an emulator or a test server), allow its origin: --allow-origin ORIGIN or WIF_ALLOW_ORIGINS (wif, wif-sidecar), allow.origins (library).",
    ]);
  });

  it("refuses plain http, odd ports, look-alike hosts and user info", () => {
    const bad = [
      "http://sts.googleapis.com/v1/token",
      "https://sts.googleapis.com:8443/v1/token",
      "https://sts.googleapis.com.evil.example/v1/token",
      "https://iamcredentials.googleapis.com/v1/token",
    ];
    for (const url of bad) {
      expect(problems({ ...base, token_url: url, credential_source: { file: "/t" } })[0]).toMatch(
        /^token_url: .* is not a Google STS endpoint/,
      );
    }
    expect(
      problems({
        ...base,
        token_url: "https://u:p@sts.googleapis.com/v1/token",
        credential_source: { file: "/t" },
      }),
    ).toEqual(["token_url: must not contain a user name or password"]);
  });

  it("accepts the mTLS and regional STS hosts and checks the impersonation and introspection hosts", () => {
    expect(
      problems({
        ...base,
        token_url: "https://sts.mtls.googleapis.com/v1/token",
        credential_source: { file: "/t" },
      }),
    ).toEqual([]);
    expect(
      problems({
        ...base,
        service_account_impersonation_url: IMPERSONATION.replace(
          "iamcredentials.googleapis.com",
          "sts.googleapis.com",
        ),
        token_info_url: "https://evil.example/v1/introspect",
        credential_source: { file: "/t" },
      }).map((line) => line.split(":")[0]),
    ).toEqual(["token_info_url", "service_account_impersonation_url"]);
  });

  it("ties Google endpoints to the configured universe", () => {
    expect(
      problems(
        { ...base, universe_domain: "example-universe.com", credential_source: { file: "/t" } },
        { universeDomains: ["example-universe.com"] },
      )[0],
    ).toMatch(
      /^token_url: https:\/\/sts.googleapis.com is not a Google STS endpoint of universe example-universe.com/,
    );
  });

  it("requires AWS metadata URLs on the link-local hosts", () => {
    expect(
      problems({
        ...base,
        subject_token_type: AWS4,
        credential_source: {
          ...awsSource,
          url: "http://metadata.evil.example/latest/meta-data/iam/security-credentials",
        },
      }),
    ).toEqual([
      "credential_source.url: http://metadata.evil.example is not the AWS instance metadata service (expected http://169.254.169.254 or http://[fd00:ec2::254]). Only Google endpoints are accepted, because a configuration can send your credentials to any URL it names; to use another endpoint (an emulator or a test server), allow its origin: --allow-origin ORIGIN or WIF_ALLOW_ORIGINS (wif, wif-sidecar), allow.origins (library).",
    ]);
    expect(
      problems({
        ...base,
        subject_token_type: AWS4,
        credential_source: {
          ...awsSource,
          regional_cred_verification_url: "https://evil.example?Action=GetCallerIdentity",
        },
      })[0],
    ).toMatch(/^credential_source.regional_cred_verification_url: must be an https AWS STS URL/);
  });

  it("keeps subject tokens off plain http across the network", () => {
    expect(problems({ ...base, credential_source: { url: "http://tokens.example.com/t" } })).toEqual([
      "credential_source.url: http://tokens.example.com would carry the subject token unencrypted across the network; use https (plain http is accepted only for loopback and Azure's metadata server)",
    ]);
    expect(problems({ ...base, credential_source: { url: "http://127.0.0.1:8080/t" } })).toEqual([]);
    // Azure's token path on AWS's IPv6 metadata address (a private address elsewhere) or with a port is not Azure.
    for (const host of ["[fd00:ec2::254]", "169.254.170.2", "169.254.169.254:8080"]) {
      expect(
        problems({ ...base, credential_source: { url: `http://${host}/metadata/identity/oauth2/token` } }),
      ).toEqual([
        `credential_source.url: ${host}/metadata/identity/oauth2/token is a metadata path that serves credentials, not a subject token; on a metadata server only Azure's 169.254.169.254/metadata/identity/oauth2/token is a URL source`,
      ]);
    }
  });

  it("accepts explicitly allowed origins, plain http only on loopback", () => {
    const emulator = "http://127.0.0.1:41234";
    const config = {
      ...base,
      token_url: `${emulator}/v1/token`,
      service_account_impersonation_url: `${emulator}/v1/projects/-/serviceAccounts/app@p.iam.gserviceaccount.com:generateAccessToken`,
      subject_token_type: AWS4,
      credential_source: { ...awsSource, url: `${emulator}/latest/meta-data/iam/security-credentials` },
    };
    expect(problems(config).map((line) => line.split(":")[0])).toEqual([
      "token_url",
      "service_account_impersonation_url",
      "credential_source.url",
    ]);
    expect(problems(config, { origins: [emulator] })).toEqual([]);
    expect(
      problems(
        { ...base, token_url: "http://10.0.0.5/v1/token", credential_source: { file: "/t" } },
        {
          origins: ["http://10.0.0.5"],
        },
      ),
    ).toHaveLength(1);
  });

  it("reports endpoint problems together with rule problems", () => {
    expect(
      problems({
        ...base,
        audience: "my-provider",
        token_url: "https://sts.evil.example/v1/token",
        credential_source: { file: "/t" },
      }).map((line) => line.split(":")[0]),
    ).toEqual(["audience", "token_url"]);
  });

  it("checks the authorized-user endpoints too", () => {
    expect(
      problems({
        type: "external_account_authorized_user",
        refresh_token: "r",
        client_id: "c",
        client_secret: "s",
        token_url: "https://evil.example/v1/oauthtoken",
      })[0],
    ).toMatch(/^token_url: https:\/\/evil.example is not a Google STS endpoint/);
  });
});
