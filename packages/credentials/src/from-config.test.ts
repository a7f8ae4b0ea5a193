import { readFile, writeFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { nodeTransport } from "@wifkit/http";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fakeGoogle, fakeJwt, sendJson, serve, tempDir } from "../test/helpers.js";
import { fromAuthorizedUserConfig, fromConfig, subjectTokenSupplierFromConfig } from "./from-config.js";

afterEach(cleanup);

const AUDIENCE =
  "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/oidc";
const SA = "app@proj.iam.gserviceaccount.com";

function externalAccount(
  origin: string,
  credentialSource: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    type: "external_account",
    audience: AUDIENCE,
    subject_token_type: SUBJECT_TOKEN_TYPES.jwt,
    token_url: `${origin}/v1/token`,
    credential_source: credentialSource,
    ...extra,
  };
}

describe("fromConfig", () => {
  it("reads a file-sourced config from GOOGLE_APPLICATION_CREDENTIALS and reaches a service account token", async () => {
    const google = await fakeGoogle();
    const dir = await tempDir();
    const tokenPath = join(dir, "oidc-token");
    const subject = fakeJwt({ sub: "ci-job" });
    await writeFile(tokenPath, subject);
    const configPath = join(dir, "wif.json");
    await writeFile(
      configPath,
      JSON.stringify(
        externalAccount(
          google.origin,
          { file: tokenPath },
          {
            service_account_impersonation_url: `${google.origin}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
            service_account_impersonation: { token_lifetime_seconds: 600 },
            quota_project_id: "billing",
          },
        ),
      ),
    );
    const credentials = await fromConfig(undefined, {
      env: { GOOGLE_APPLICATION_CREDENTIALS: configPath },
      allow: { origins: [google.origin] },
    });
    expect(credentials.configPath).toBe(configPath);
    expect(credentials.type).toBe("external_account");
    expect(credentials.principal).toMatchObject({ kind: "service_account", serviceAccount: SA });
    expect(await credentials.getRequestHeaders()).toEqual({
      Authorization: "Bearer sa-2",
      "x-goog-user-project": "billing",
    });
    const [sts] = google.calls("/v1/token");
    expect(new URLSearchParams(sts?.body).get("subject_token")).toBe(subject);
    expect(sts?.headers["x-goog-api-client"]).toContain(
      "source/file sa-impersonation/true config-lifetime/true",
    );
    expect(JSON.parse(google.calls(":generateAccessToken")[0]?.body ?? "")).toMatchObject({
      lifetime: "600s",
    });
  });

  it("lets GOOGLE_CLOUD_QUOTA_PROJECT override the config's quota project, and an option override both", async () => {
    const google = await fakeGoogle();
    const config = externalAccount(google.origin, { file: "/unused" }, { quota_project_id: "from-config" });
    const allow = { origins: [google.origin] };
    expect((await fromConfig(config, { allow, env: {} })).quotaProjectId).toBe("from-config");
    expect(
      (await fromConfig(config, { allow, env: { GOOGLE_CLOUD_QUOTA_PROJECT: "from-env" } })).quotaProjectId,
    ).toBe("from-env");
    expect(
      (
        await fromConfig(config, {
          allow,
          env: { GOOGLE_CLOUD_QUOTA_PROJECT: "from-env" },
          quotaProjectId: "mine",
        })
      ).quotaProjectId,
    ).toBe("mine");
  });

  it("validates a config object, listing problems with their JSON paths", async () => {
    const error = await fromConfig({ type: "external_account", audience: AUDIENCE }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_CONFIG_INVALID" });
    expect((error as Error).message).toContain("credential_source");
  });

  it("refuses a config that sends tokens to an origin it was not allowed", async () => {
    const google = await fakeGoogle();
    const error = await fromConfig(externalAccount(google.origin, { file: "/x" })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_CONFIG_INVALID" });
    expect((error as Error).message).toContain("token_url");
  });

  it("fetches a URL-sourced JSON token with the configured headers", async () => {
    const google = await fakeGoogle();
    const subject = fakeJwt();
    const source = await serve((req, res) =>
      req.headers["x-secret-header"] === "yes"
        ? sendJson(res, 200, { id_token: subject })
        : sendJson(res, 401, {}),
    );
    const credentials = await fromConfig(
      externalAccount(google.origin, {
        url: `${source.origin}/token`,
        headers: { "x-secret-header": "yes" },
        format: { type: "json", subject_token_field_name: "id_token" },
      }),
      { allow: { origins: [google.origin, source.origin] } },
    );
    await credentials.getAccessToken();
    expect(new URLSearchParams(google.calls("/v1/token")[0]?.body).get("subject_token")).toBe(subject);
  });

  it("falls back to the generic URL supplier for an Azure IMDS URL when azureSupplier is not registered", async () => {
    const google = await fakeGoogle();
    const subject = fakeJwt({ iss: "https://sts.windows.net/t/" });
    const imds = await serve((req, res) =>
      req.headers.metadata === "True"
        ? sendJson(res, 200, { access_token: subject })
        : sendJson(res, 400, {}),
    );
    const credentials = await fromConfig(
      externalAccount(google.origin, {
        url: `${imds.origin}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://wif`,
        headers: { Metadata: "True" },
        format: { type: "json", subject_token_field_name: "access_token" },
      }),
      { allow: { origins: [google.origin, imds.origin] } },
    );
    await credentials.getAccessToken();
    const selected = await subjectTokenSupplierFromConfig(
      {
        type: "external_account",
        audience: AUDIENCE,
        subject_token_type: SUBJECT_TOKEN_TYPES.jwt,
        credential_source: { url: `${imds.origin}/metadata/identity/oauth2/token?resource=api://wif` },
      },
      {},
    );
    expect(selected.source).toBe("url");
    expect(google.calls("/v1/token")[0]?.headers["x-goog-api-client"]).toContain("source/url");
    expect(imds.requests[0]?.path).toBe(
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://wif",
    );
    expect(new URLSearchParams(google.calls("/v1/token")[0]?.body).get("subject_token")).toBe(subject);
  });

  it("says which package to install, and the line that registers it, when an AWS config meets no awsSupplier", async () => {
    const google = await fakeGoogle();
    const config = {
      ...externalAccount(google.origin, {
        environment_id: "aws1",
        regional_cred_verification_url:
          "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
      }),
      subject_token_type: SUBJECT_TOKEN_TYPES.aws4Request,
    };
    const error = await fromConfig(config, { allow: { origins: [google.origin] } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_SUPPLIER_NOT_REGISTERED", field: "suppliers" });
    expect((error as Error).message).toContain("npm install @wifkit/aws-supplier");
    expect((error as Error).message).toContain(
      'import { awsSupplier } from "@wifkit/aws-supplier"; fromConfig(config, { suppliers: [awsSupplier] })',
    );
    expect(google.requests).toHaveLength(0);
  });

  it("runs an executable source only when allowed, handing it the impersonated email", async () => {
    const google = await fakeGoogle();
    const dir = await tempDir();
    const command = join(dir, "tool");
    await writeFile(
      command,
      `#!${process.execPath}\nprocess.stdout.write(JSON.stringify({ version: 1, success: true, token_type: "urn:ietf:params:oauth:token-type:jwt", id_token: "exe-" + process.env.GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL }));\n`,
      { mode: 0o755 },
    );
    const config = externalAccount(
      google.origin,
      { executable: { command, timeout_millis: 5000 } },
      {
        service_account_impersonation_url: `${google.origin}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      },
    );
    const allow = { origins: [google.origin] };
    const refused = await (await fromConfig(config, { allow, env: { ...process.env } }))
      .getAccessToken()
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "ERR_WIF_EXECUTABLES_NOT_ALLOWED" });
    const credentials = await fromConfig(config, {
      allow,
      env: { ...process.env, GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" },
    });
    await credentials.getAccessToken();
    const [sts] = google.calls("/v1/token");
    expect(new URLSearchParams(sts?.body).get("subject_token")).toBe(`exe-${SA}`);
    expect(sts?.headers["x-goog-api-client"]).toContain("source/executable");
  });

  it("uses a programmatic supplier in place of the config's source", async () => {
    const google = await fakeGoogle();
    const credentials = await fromConfig(externalAccount(google.origin, { file: "/never/read" }), {
      allow: { origins: [google.origin] },
      supplier: async () => ({ token: "from-code", type: SUBJECT_TOKEN_TYPES.jwt }),
    });
    await credentials.getAccessToken();
    const [sts] = google.calls("/v1/token");
    expect(new URLSearchParams(sts?.body).get("subject_token")).toBe("from-code");
    expect(sts?.headers["x-goog-api-client"]).toContain("source/programmatic");
  });

  it("presents the workload certificate over mTLS to STS and IAM for a certificate source", async () => {
    const certs = new URL("../test/fixtures/certs/", import.meta.url);
    const pem = (name: string) => readFile(new URL(name, certs));
    const ca = await pem("ca.pem");
    const seen: Array<{ subject: string | undefined; path: string | undefined; body: string }> = [];
    const server = https.createServer(
      {
        cert: await pem("server.pem"),
        key: await pem("server.key"),
        ca: [await pem("intermediate.pem"), ca],
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const peer = (req.socket as TLSSocket).getPeerCertificate();
          seen.push({
            subject: String(peer?.subject?.CN),
            path: req.url,
            body: Buffer.concat(chunks).toString(),
          });
          if (req.url?.endsWith(":generateAccessToken")) {
            sendJson(res, 200, {
              accessToken: "sa-over-mtls",
              expireTime: new Date(Date.now() + 3600_000).toISOString(),
            });
            return;
          }
          sendJson(res, 200, {
            access_token: "mtls-token",
            issued_token_type: "x",
            token_type: "Bearer",
            expires_in: 3600,
          });
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const dir = await tempDir();
      const configPath = join(dir, "certificate_config.json");
      await writeFile(
        configPath,
        JSON.stringify({
          cert_configs: {
            workload: {
              cert_path: new URL("workload.pem", certs).pathname,
              key_path: new URL("workload.key", certs).pathname,
            },
          },
        }),
      );
      const credentials = await fromConfig(
        {
          ...externalAccount(
            origin,
            { certificate: { certificate_config_location: configPath } },
            {
              service_account_impersonation_url: `${origin}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
            },
          ),
          subject_token_type: SUBJECT_TOKEN_TYPES.mtls,
        },
        {
          allow: { origins: [origin] },
          // The test server's certificate comes from a test CA; the transport seam adds it to the trust store.
          transport: (request) =>
            nodeTransport({ ...request, tls: request.tls ? { ...request.tls, ca } : undefined }),
        },
      );
      await expect(credentials.getAccessToken()).resolves.toMatchObject({ value: "sa-over-mtls" });
      expect(seen.map((request) => [request.path, request.subject])).toEqual([
        ["/v1/token", "wifkit test workload"],
        [`/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`, "wifkit test workload"],
      ]);
      const form = new URLSearchParams(seen[0]?.body);
      expect(form.get("subject_token_type")).toBe(SUBJECT_TOKEN_TYPES.mtls);
      expect(JSON.parse(form.get("subject_token") ?? "")).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("authorized user credentials", () => {
  const userConfig = (origin: string) => ({
    type: "external_account_authorized_user",
    audience: "//iam.googleapis.com/locations/global/workforcePools/staff/providers/okta",
    refresh_token: "refresh-0",
    token_url: `${origin}/v1/oauthtoken`,
    client_id: "client",
    client_secret: "secret",
  });

  it("refreshes with Basic client auth, and a returned refresh token replaces the old one", async () => {
    const google = await fakeGoogle({ rotateRefreshToken: true });
    const rotated: string[] = [];
    const credentials = await fromAuthorizedUserConfig(userConfig(google.origin), {
      allow: { origins: [google.origin] },
      onRefreshTokenRotated: (token) => rotated.push(token),
    });
    expect(credentials.type).toBe("external_account_authorized_user");
    expect((await credentials.getAccessToken()).value).toBe("user-1");
    await credentials.getAccessToken({ forceRefresh: true });
    const [first, second] = google.calls("/v1/oauthtoken");
    expect(Object.fromEntries(new URLSearchParams(first?.body))).toEqual({
      grant_type: "refresh_token",
      refresh_token: "refresh-0",
    });
    expect(first?.headers.authorization).toBe(`Basic ${Buffer.from("client:secret").toString("base64")}`);
    expect(new URLSearchParams(second?.body).get("refresh_token")).toBe("refresh-1");
    expect(rotated).toEqual(["refresh-1", "refresh-2"]);
  });

  it("cannot mint ID tokens, and fromAuthorizedUserConfig refuses other config types", async () => {
    const google = await fakeGoogle();
    const credentials = await fromConfig(userConfig(google.origin), { allow: { origins: [google.origin] } });
    expect(credentials.principal.kind).toBe("authorized_user");
    await expect(credentials.getIdToken({ audience: "https://x" })).rejects.toMatchObject({
      code: "ERR_WIF_ID_TOKEN_UNSUPPORTED",
    });
    const error = await fromAuthorizedUserConfig(externalAccount(google.origin, { file: "/x" }), {
      allow: { origins: [google.origin] },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_CONFIG_INVALID" });
  });
});

describe("fromConfig with injected file reads", () => {
  it("reads the config and the token file through readFile, and names a missing config", async () => {
    const google = await fakeGoogle();
    const files = new Map<string, string>([
      ["/virtual/wif.json", JSON.stringify(externalAccount(google.origin, { file: "/virtual/token" }))],
      ["/virtual/token", "virtual-subject-token"],
    ]);
    const readFile = async (path: string) => {
      const content = files.get(path);
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return content;
    };
    const credentials = await fromConfig("/virtual/wif.json", {
      readFile,
      allow: { origins: [google.origin] },
    });
    expect(credentials.configPath).toBe("/virtual/wif.json");
    await credentials.getAccessToken();
    expect(new URLSearchParams(google.calls("/v1/token")[0]?.body).get("subject_token")).toBe(
      "virtual-subject-token",
    );

    const missing = await fromConfig("/virtual/absent.json", { readFile }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "ERR_WIF_CONFIG_NOT_FOUND" });
    expect((missing as Error).message).toContain("/virtual/absent.json");
    const none = await fromConfig(undefined, { readFile, env: {} }).catch((e: unknown) => e);
    expect(none).toMatchObject({ code: "ERR_WIF_CONFIG_NOT_FOUND" });
    expect((none as Error).message).toContain("GOOGLE_APPLICATION_CREDENTIALS");
  });
});
