import { readFileSync, statSync } from "node:fs";
import { parseCredentialConfig } from "@wifkit/config";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, EmulatorConfigError, startEmulator } from "../src/index.js";
import {
  awsExchange,
  bearer,
  call,
  exchange,
  federatedToken,
  JWT,
  oidcExchange,
  postJson,
} from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

describe("credentialConfig", () => {
  it("builds configs @wifkit/config accepts with allowOrigins, pointing every endpoint at the emulator", () => {
    for (const source of ["aws", "azure", "file", "url"] as const) {
      for (const serviceAccount of [undefined, "wifkit-reader"]) {
        const built = emulator.credentialConfig({ source, ...(serviceAccount ? { serviceAccount } : {}) });
        const { config } = parseCredentialConfig(built, { allow: { origins: emulator.allowOrigins } });
        expect(config.type).toBe("external_account");
        if (config.type !== "external_account") continue;
        expect(config.token_url).toBe(`${emulator.urls.sts}/v1/token`);
        if (serviceAccount) {
          expect(config.service_account_impersonation_url).toBe(
            `${emulator.urls.iamCredentials}/v1/projects/-/serviceAccounts/wifkit-reader@wifkit-demo.iam.gserviceaccount.com:generateAccessToken`,
          );
        } else expect(config.token_info_url).toBe(`${emulator.urls.sts}/v1/introspect`);
      }
      expect(() => parseCredentialConfig(emulator.credentialConfig({ source }))).toThrow();
    }
  });

  it("gives file and url sources a subject token the oidc-provider accepts", async () => {
    const file = emulator.credentialConfig({ source: "file" });
    const path = (file.credential_source as { file: string }).file;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const fromFile = await exchange(emulator, {
      audience: file.audience,
      subject_token_type: JWT,
      subject_token: readFileSync(path, "utf8"),
    });
    expect(fromFile.status).toBe(200);

    const url = emulator.credentialConfig({ source: "url" });
    const source = url.credential_source as { url: string; format: { subject_token_field_name: string } };
    const document = (await call(source.url)).json();
    const fromUrl = await exchange(emulator, {
      audience: url.audience,
      subject_token_type: JWT,
      subject_token: document[source.format.subject_token_field_name],
    });
    expect(fromUrl.status).toBe(200);
  });

  it("adds the user-assigned identity's client id to the Azure IMDS URL", async () => {
    const config = emulator.credentialConfig({
      source: "azure",
      azureClientId: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    });
    const source = config.credential_source as { url: string; headers: Record<string, string> };
    const reply = await call(source.url, { headers: source.headers });
    expect(decodeJwt(reply.json().access_token).oid).toBe("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e");
  });

  it("writes a 0600 config file for GOOGLE_APPLICATION_CREDENTIALS", () => {
    const path = emulator.writeCredentialConfig({ source: "aws", imdsv2: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8")).credential_source.imdsv2_session_token_url).toBe(
      `${emulator.urls.awsImds}/latest/api/token`,
    );
  });
});

describe("environment helpers", () => {
  it("describes each AWS platform", () => {
    expect(emulator.awsEnv()).toEqual({
      AWS_ENDPOINT_URL_STS: emulator.urls.awsSts,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: emulator.urls.awsImds,
    });
    expect(emulator.awsEnv({ source: "static" })).toMatchObject({
      AWS_ACCESS_KEY_ID: "AKIAWIFKITSTATICKEY1",
      AWS_REGION: "us-east-1",
    });
    const irsa = emulator.awsEnv({ source: "web-identity", region: "eu-west-1" });
    expect(irsa).toMatchObject({
      AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/wifkit-irsa-role",
      AWS_REGION: "eu-west-1",
    });
    expect(decodeJwt(readFileSync(irsa.AWS_WEB_IDENTITY_TOKEN_FILE!, "utf8"))).toMatchObject({
      iss: emulator.urls.kubernetes,
      aud: ["sts.amazonaws.com"],
      sub: "system:serviceaccount:default:wifkit",
    });
  });

  it("describes each Azure platform", () => {
    expect(emulator.azureEnv()).toEqual({ AZURE_IMDS_ENDPOINT: emulator.urls.azureImds });
    expect(emulator.azureEnv({ source: "arc" })).toEqual({
      IDENTITY_ENDPOINT: `${emulator.urls.azureArc}/metadata/identity/oauth2/token`,
      IMDS_ENDPOINT: emulator.urls.azureArc,
    });
    expect(Object.keys(emulator.azureEnv({ source: "app-service" })).sort()).toEqual([
      "IDENTITY_ENDPOINT",
      "IDENTITY_HEADER",
    ]);
  });
});

describe("tokens and keys", () => {
  it("mints OIDC tokens by issuer name", () => {
    expect(
      decodeJwt(emulator.mintOidcToken({ issuer: "kubernetes", namespace: "ci", serviceAccount: "deployer" }))
        .sub,
    ).toBe("system:serviceaccount:ci:deployer");
    const entra = decodeJwt(
      emulator.mintOidcToken({ issuer: "entra", identity: "wifkit-identity", version: 2 }),
    );
    expect(entra).toMatchObject({
      ver: "2.0",
      azp: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
      aud: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    });
    expect(() => emulator.mintEntraToken({ identity: "nobody" })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "identity" }),
    );
  });

  it("issues Google tokens directly, mapped like STS would map the EC2 role", async () => {
    const { accessToken, expiresAt } = emulator.issueGoogleToken({ lifetimeSeconds: 600 });
    expect(expiresAt.getTime() - emulator.clock.now()).toBeLessThanOrEqual(600_000);
    const object = await call(`${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`, {
      headers: bearer(accessToken),
    });
    expect(object.text).toBe("hello from wifkit\n");
  });

  it("issues access tokens of accessTokenLength characters through STS and IAM Credentials, which it accepts", async () => {
    const long = await startEmulator({ accessTokenLength: 1024 });
    try {
      const federated = await federatedToken(long);
      expect(federated).toMatch(/^ya29\.d\.emu\.[\w-]+$/);
      expect(federated).toHaveLength(1024);
      const reply = await postJson(
        `${long.urls.iamCredentials}/v1/projects/-/serviceAccounts/${long.serviceAccountEmail("wifkit-reader")}:generateAccessToken`,
        { scope: ["https://www.googleapis.com/auth/cloud-platform"] },
        bearer(federated),
      );
      expect(reply.status).toBe(200);
      expect(reply.json().accessToken).toHaveLength(1024);
    } finally {
      await long.stop();
    }
    await expect(startEmulator({ accessTokenLength: 8 })).rejects.toMatchObject({
      code: "ERR_WIF_INVALID_OPTION",
      field: "accessTokenLength",
    });
  });

  it("lists the keys it knows, registered ones included", async () => {
    emulator.registerAwsKey({
      accessKeyId: "AKIALISTEDKEY0000001",
      secretAccessKey: "l".repeat(40),
      arn: "arn:aws:iam::111122223333:user/listed",
    });
    const keys = emulator.awsKeys();
    expect(keys.find((key) => key.accessKeyId === "AKIAWIFKITSTATICKEY1")).toMatchObject({
      source: "user",
      account: "111122223333",
    });
    expect(keys.find((key) => key.accessKeyId === "AKIALISTEDKEY0000001")).toMatchObject({
      source: "registered",
      account: "111122223333",
    });
    expect(() =>
      emulator.registerAwsKey({ accessKeyId: "A", secretAccessKey: "B", arn: "not-an-arn" }),
    ).toThrow(expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION" }));
    expect(
      (
        await awsExchange(
          emulator,
          emulator.awsSubjectToken({
            credentials: { accessKeyId: "AKIALISTEDKEY0000001", secretAccessKey: "l".repeat(40) },
          }),
        )
      ).status,
    ).toBe(200);
  });
});

describe("configuration", () => {
  it("reconfigures live and refuses a config Google would refuse, keeping the previous state", async () => {
    expect(() =>
      emulator.reconfigure({
        pools: {
          "wifkit-pool": {
            providers: { "azure-provider": { type: "oidc", attributeMapping: "attribute.x=assertion.sub" } },
          },
        },
      }),
    ).toThrow(
      expect.objectContaining({
        code: "ERR_WIF_EMULATOR_CONFIG",
        message: expect.stringMatching(/google\.subject/),
      }),
    );
    expect((await oidcExchange(emulator, emulator.mintEntraToken())).status).toBe(200);
  });

  it("refuses to start with an unusable config, naming the field", async () => {
    await expect(startEmulator({ config: { projectNumber: "my-project" } })).rejects.toThrow(
      EmulatorConfigError,
    );
    await expect(startEmulator({ config: { projectNumber: "my-project" } })).rejects.toMatchObject({
      code: "ERR_WIF_EMULATOR_CONFIG",
      field: "projectNumber",
    });
  });

  it("starts with a custom clock and a custom project", async () => {
    const custom = await startEmulator({
      startTime: new Date("2030-01-01T00:00:00Z"),
      config: { projectNumber: "42" },
    });
    try {
      expect(Math.abs(custom.clock.now() - Date.parse("2030-01-01T00:00:00Z"))).toBeLessThan(60_000);
      expect(custom.providerAudience()).toBe(
        "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/wifkit-pool/providers/aws-provider",
      );
      expect((await awsExchange(custom, custom.awsSubjectToken())).status).toBe(200);
    } finally {
      await custom.stop();
    }
  });
});

describe("the Date header", () => {
  it("tells emulator time, as clients correct token expiries by it", async () => {
    emulator.clock.set(Date.UTC(2031, 0, 2, 3, 4, 5));
    try {
      const { headers } = await call(`${emulator.urls.googleCerts}/oauth2/v3/certs`);
      expect(headers.date).toBe("Thu, 02 Jan 2031 03:04:05 GMT");
    } finally {
      emulator.clock.set(Date.now());
    }
  });
});
