import {
  AwsClient,
  ExternalAccountClient,
  IdentityPoolClient,
  PluggableAuthClient,
} from "google-auth-library";
import { describe, expect, it } from "vitest";
import { type BuildCredentialConfigOptions, buildCertificateConfig, buildCredentialConfig } from "./build.js";
import { parseCredentialConfig } from "./parse.js";

const RESOURCE = "projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider";
const AUDIENCE = `//iam.googleapis.com/${RESOURCE}`;
const SA = "app@my-project.iam.gserviceaccount.com";
const WORKFORCE_RESOURCE = "locations/global/workforcePools/my-pool/providers/my-provider";

// What gcloud 528 writes for these flags (apps/cli/test/gcloud-cred-config.test.ts compares with the installed
// gcloud); universe_domain and the executable's default timeout_millis are always written.
const cases: Array<
  [flags: string, options: BuildCredentialConfigOptions, expected: Record<string, unknown>]
> = [
  [
    "--aws",
    { resource: RESOURCE, source: { kind: "aws" } },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: {
        environment_id: "aws1",
        region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
        url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
        regional_cred_verification_url:
          "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
      },
    },
  ],
  [
    "--aws --enable-imdsv2 --service-account SA",
    { resource: RESOURCE, source: { kind: "aws", enableImdsv2: true }, serviceAccount: SA },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      credential_source: {
        environment_id: "aws1",
        region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
        url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
        regional_cred_verification_url:
          "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
        imdsv2_session_token_url: "http://169.254.169.254/latest/api/token",
      },
    },
  ],
  [
    "--azure --app-id-uri URI --service-account SA --service-account-token-lifetime-seconds 7200",
    {
      resource: RESOURCE,
      source: { kind: "azure", appIdUri: "api://my-app" },
      serviceAccount: SA,
      serviceAccountTokenLifetimeSeconds: 7200,
    },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      service_account_impersonation: { token_lifetime_seconds: 7200 },
      credential_source: {
        url: "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://my-app",
        headers: { Metadata: "True" },
        format: { type: "json", subject_token_field_name: "access_token" },
      },
    },
  ],
  [
    "--credential-source-file F",
    { resource: RESOURCE, source: { kind: "file", path: "/var/run/secrets/token" } },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: { file: "/var/run/secrets/token" },
    },
  ],
  [
    "--credential-source-file F --credential-source-type json --credential-source-field-name id_token --subject-token-type id_token",
    {
      resource: RESOURCE,
      source: { kind: "file", path: "/t.json", format: { type: "json", subjectTokenFieldName: "id_token" } },
      subjectTokenType: "urn:ietf:params:oauth:token-type:id_token",
    },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: { file: "/t.json", format: { type: "json", subject_token_field_name: "id_token" } },
    },
  ],
  [
    "--credential-source-url U --credential-source-headers k=v --credential-source-type text",
    {
      resource: RESOURCE,
      source: {
        kind: "url",
        url: "https://tokens.example.com/oidc",
        headers: { Authorization: "Bearer x" },
        format: { type: "text" },
      },
    },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: {
        url: "https://tokens.example.com/oidc",
        headers: { Authorization: "Bearer x" },
        format: { type: "text" },
      },
    },
  ],
  [
    "--executable-command C --executable-timeout-millis 60000 --executable-output-file O",
    {
      resource: RESOURCE,
      source: {
        kind: "executable",
        command: "/usr/bin/token --aud x",
        timeoutMillis: 60000,
        outputFile: "/tmp/cache.json",
      },
    },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: {
        executable: {
          command: "/usr/bin/token --aud x",
          timeout_millis: 60000,
          output_file: "/tmp/cache.json",
        },
      },
    },
  ],
  [
    "--executable-command C",
    { resource: RESOURCE, source: { kind: "executable", command: "/usr/bin/token" } },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: { executable: { command: "/usr/bin/token", timeout_millis: 30000 } },
    },
  ],
  [
    "--credential-cert-path C --credential-cert-private-key-path K --credential-cert-trust-chain-path T",
    { resource: RESOURCE, source: { kind: "certificate", trustChainPath: "/etc/wif/chain.pem" } },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:mtls",
      token_url: "https://sts.mtls.googleapis.com/v1/token",
      token_info_url: "https://sts.mtls.googleapis.com/v1/introspect",
      credential_source: {
        certificate: { use_default_certificate_config: true, trust_chain_path: "/etc/wif/chain.pem" },
      },
    },
  ],
  [
    "--credential-cert-path C --credential-cert-private-key-path K --credential-cert-configuration-output-file F --service-account SA",
    {
      resource: RESOURCE,
      source: { kind: "certificate", certificateConfigLocation: "/etc/wif/certificate_config.json" },
      serviceAccount: SA,
    },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:mtls",
      token_url: "https://sts.mtls.googleapis.com/v1/token",
      service_account_impersonation_url: `https://iamcredentials.mtls.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      credential_source: { certificate: { certificate_config_location: "/etc/wif/certificate_config.json" } },
    },
  ],
  [
    "--credential-source-file F --universe-domain D --service-account SA",
    {
      resource: RESOURCE,
      source: { kind: "file", path: "/t" },
      universeDomain: "example-universe.com",
      serviceAccount: SA,
    },
    {
      universe_domain: "example-universe.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.example-universe.com/v1/token",
      service_account_impersonation_url: `https://iamcredentials.example-universe.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      credential_source: { file: "/t" },
    },
  ],
  [
    "--azure (no --app-id-uri)",
    { resource: RESOURCE, source: { kind: "azure" } },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      token_info_url: "https://sts.googleapis.com/v1/introspect",
      credential_source: {
        url: `http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://iam.googleapis.com/${RESOURCE}`,
        headers: { Metadata: "True" },
        format: { type: "json", subject_token_field_name: "access_token" },
      },
    },
  ],
  [
    "--credential-source-url U --sts-location us-central1 --service-account SA",
    {
      resource: RESOURCE,
      source: { kind: "url", url: "https://tokens.example.com/oidc" },
      stsLocation: "us-central1",
      serviceAccount: SA,
    },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.us-central1.rep.googleapis.com/v1/token",
      service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      credential_source: { url: "https://tokens.example.com/oidc" },
    },
  ],
  [
    "--aws --sts-location europe-west3",
    { resource: RESOURCE, source: { kind: "aws" }, stsLocation: "europe-west3" },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.europe-west3.rep.googleapis.com/v1/token",
      token_info_url: "https://sts.europe-west3.rep.googleapis.com/v1/introspect",
      credential_source: {
        environment_id: "aws1",
        region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
        url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
        regional_cred_verification_url:
          "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
      },
    },
  ],
  [
    "workforce-pools --credential-source-file F --workforce-pool-user-project P --service-account SA",
    {
      resource: WORKFORCE_RESOURCE,
      source: { kind: "file", path: "/var/run/oidc" },
      workforcePoolUserProject: "my-project",
      serviceAccount: SA,
    },
    {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: `//iam.googleapis.com/${WORKFORCE_RESOURCE}`,
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: { file: "/var/run/oidc" },
      workforce_pool_user_project: "my-project",
      service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    },
  ],
];

describe("buildCredentialConfig writes what gcloud writes", () => {
  it.each(cases)("%s", (_flags, options, expected) => {
    const built = buildCredentialConfig(options);
    expect(built).toStrictEqual(expected);
  });

  it.each(cases)("%s passes the schema and every rule (round trip)", (_flags, options) => {
    const built = buildCredentialConfig(options);
    const allow = { universeDomains: ["example-universe.com"] };
    expect(parseCredentialConfig(JSON.parse(JSON.stringify(built)), { allow })).toEqual({
      config: built,
      warnings: [],
    });
  });

  it("writes the certificate configuration a certificate source reads", () => {
    expect(
      buildCertificateConfig({ certPath: "/etc/wif/cert.pem", keyPath: "/etc/wif/key.pem" }),
    ).toStrictEqual({
      cert_configs: { workload: { cert_path: "/etc/wif/cert.pem", key_path: "/etc/wif/key.pem" } },
    });
  });

  it("writes gcloud's keys in gcloud's order", () => {
    const built = buildCredentialConfig({
      resource: WORKFORCE_RESOURCE,
      source: { kind: "url", url: "https://tokens.example.com" },
      workforcePoolUserProject: "my-project",
      serviceAccount: SA,
      serviceAccountTokenLifetimeSeconds: 600,
    });
    expect(Object.keys(built)).toEqual([
      "universe_domain",
      "type",
      "audience",
      "subject_token_type",
      "token_url",
      "credential_source",
      "workforce_pool_user_project",
      "service_account_impersonation_url",
      "service_account_impersonation",
    ]);
  });

  it("writes a workforce executable's interactive timeout next to its output file", () => {
    const built = buildCredentialConfig({
      resource: WORKFORCE_RESOURCE,
      source: {
        kind: "executable",
        command: "/usr/bin/login-helper",
        outputFile: "/tmp/out.json",
        interactiveTimeoutMillis: 60000,
      },
      workforcePoolUserProject: "my-project",
    });
    expect(built.credential_source).toStrictEqual({
      executable: {
        command: "/usr/bin/login-helper",
        timeout_millis: 30000,
        output_file: "/tmp/out.json",
        interactive_timeout_millis: 60000,
      },
    });
  });

  it("--sts-location global (or empty) is the global endpoint", () => {
    for (const stsLocation of ["global", ""]) {
      expect(
        buildCredentialConfig({ resource: RESOURCE, source: { kind: "file", path: "/t" }, stsLocation }),
      ).toMatchObject({
        token_url: "https://sts.googleapis.com/v1/token",
        token_info_url: "https://sts.googleapis.com/v1/introspect",
      });
    }
  });

  it.each([
    [
      { kind: "certificate" } as const,
      "us-central1",
      "stsLocation: a certificate source needs the mTLS endpoint, and there is no locational one; leave the location out",
    ],
    [
      { kind: "aws" } as const,
      "us-central1.evil.example/x",
      'stsLocation: "us-central1.evil.example/x" is not a location; use a region such as us-central1, or "global"',
    ],
  ])("refuses a location %# it cannot write", (source, stsLocation, problem) => {
    expect(() => buildCredentialConfig({ resource: RESOURCE, source, stsLocation })).toThrow(
      `The credential configuration has a problem:\n  - ${problem}`,
    );
  });

  it("accepts the full audience as well as the resource", () => {
    expect(buildCredentialConfig({ resource: AUDIENCE, source: { kind: "file", path: "/t" } }).audience).toBe(
      AUDIENCE,
    );
  });

  it("points every endpoint elsewhere for an emulator, and the result passes with that origin allowed", () => {
    const origin = "http://127.0.0.1:40000";
    const built = buildCredentialConfig({
      resource: RESOURCE,
      source: { kind: "aws", enableImdsv2: true },
      serviceAccount: SA,
      endpoints: {
        tokenUrl: `${origin}/v1/token`,
        iamCredentialsBaseUrl: origin,
        awsMetadataBaseUrl: origin,
      },
    });
    expect(built.token_url).toBe(`${origin}/v1/token`);
    expect(built.service_account_impersonation_url).toBe(
      `${origin}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    );
    expect(built.credential_source).toMatchObject({ imdsv2_session_token_url: `${origin}/latest/api/token` });
    expect(() => parseCredentialConfig(built)).toThrow(/token_url/);
    expect(parseCredentialConfig(built, { allow: { origins: [origin] } }).config).toEqual(built);
  });
});

describe("google-auth-library 10 accepts what the builders write", () => {
  it("loads an AWS config as an AwsClient", () => {
    const client = ExternalAccountClient.fromJSON(
      buildCredentialConfig({
        resource: RESOURCE,
        source: { kind: "aws", enableImdsv2: true },
        serviceAccount: SA,
      }) as never,
    );
    expect(client).toBeInstanceOf(AwsClient);
    expect(client?.getServiceAccountEmail()).toBe(SA);
    expect((client as unknown as { audience: string }).audience).toBe(AUDIENCE);
  });

  it("loads Azure, file and URL configs as IdentityPoolClients", () => {
    for (const source of [
      { kind: "azure", appIdUri: "api://my-app" },
      { kind: "file", path: "/t" },
      {
        kind: "url",
        url: "https://tokens.example.com",
        format: { type: "json", subjectTokenFieldName: "token" },
      },
    ] as const) {
      const client = ExternalAccountClient.fromJSON(
        buildCredentialConfig({ resource: RESOURCE, source }) as never,
      );
      expect(client).toBeInstanceOf(IdentityPoolClient);
      expect(client?.getServiceAccountEmail()).toBeNull();
    }
  });

  it("loads an executable config as a PluggableAuthClient", () => {
    const client = ExternalAccountClient.fromJSON(
      buildCredentialConfig({
        resource: RESOURCE,
        source: { kind: "executable", command: "/usr/bin/token", timeoutMillis: 10000 },
        serviceAccount: SA,
        serviceAccountTokenLifetimeSeconds: 1200,
      }) as never,
    );
    expect(client).toBeInstanceOf(PluggableAuthClient);
    expect(client?.getServiceAccountEmail()).toBe(SA);
  });
});
