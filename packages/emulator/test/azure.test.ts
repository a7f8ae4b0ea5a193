import { readFileSync } from "node:fs";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { call, oidcExchange, postForm } from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
afterEach(() => emulator.clock.set(Date.now()));

const APP = "api://wifkit-demo";
const TENANT = "7e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const SYSTEM_OID = "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a";
const USER_CLIENT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const USER_OID = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e";

const imdsToken = (query: string, headers: Record<string, string> = { Metadata: "true" }) =>
  call(`${emulator.urls.azureImds}/metadata/identity/oauth2/token?${query}`, { headers });

describe("Azure VM IMDS", () => {
  it("returns an Entra v1 token for the App ID URI, every field a string", async () => {
    const reply = await imdsToken(`api-version=2018-02-01&resource=${APP}`);
    expect(reply.status).toBe(200);
    const body = reply.json();
    for (const value of Object.values(body)) expect(typeof value).toBe("string");
    expect(body).toMatchObject({
      resource: APP,
      token_type: "Bearer",
      refresh_token: "",
      client_id: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
    });
    expect(Number(body.expires_on) - Math.floor(emulator.clock.now() / 1000)).toBeGreaterThan(86000);
    const jwks = createRemoteJWKSet(new URL(`${emulator.urls.entra}/common/discovery/keys`));
    const { payload } = await jwtVerify(body.access_token, jwks, {
      issuer: `${emulator.urls.entra}/${TENANT}/`,
      audience: APP,
      currentDate: new Date(emulator.clock.now()),
    });
    expect(payload).toMatchObject({
      sub: SYSTEM_OID,
      oid: SYSTEM_OID,
      tid: TENANT,
      appid: body.client_id,
      ver: "1.0",
    });
    expect(payload.nbf).toBe(payload.iat);
  });

  it("selects a user-assigned identity by client_id, object_id or msi_res_id", async () => {
    const resourceId = emulator.state.azure.identities["wifkit-identity"]!.resourceId!;
    for (const selector of [
      `client_id=${USER_CLIENT_ID}`,
      `object_id=${USER_OID}`,
      `msi_res_id=${encodeURIComponent(resourceId)}`,
    ]) {
      const reply = await imdsToken(`api-version=2018-02-01&resource=${APP}&${selector}`);
      expect(reply.status).toBe(200);
      expect(decodeJwt(reply.json().access_token).oid).toBe(USER_OID);
    }
    const unknown = await imdsToken(
      `api-version=2018-02-01&resource=${APP}&client_id=00000000-0000-4000-8000-000000000000`,
    );
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toEqual({ error: "invalid_request", error_description: "Identity not found" });
  });

  it("requires Metadata: true, an api-version and a known resource", async () => {
    const noHeader = await imdsToken(`api-version=2018-02-01&resource=${APP}`, {});
    expect(noHeader.status).toBe(400);
    expect(noHeader.json().error_description).toBe("Required metadata header not specified");
    expect((await imdsToken(`resource=${APP}`)).status).toBe(400);
    const unknown = await imdsToken("api-version=2018-02-01&resource=api://nobody");
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toMatchObject({
      error: "invalid_resource",
      error_description: expect.stringMatching(/^AADSTS500011: /),
    });
  });
});

describe("App Service and Arc", () => {
  it("App Service answers with the X-IDENTITY-HEADER only", async () => {
    const env = emulator.azureEnv({ source: "app-service" });
    const url = `${env.IDENTITY_ENDPOINT}?resource=${APP}&api-version=2019-08-01`;
    const reply = await call(url, { headers: { "X-IDENTITY-HEADER": env.IDENTITY_HEADER! } });
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({
      resource: APP,
      token_type: "Bearer",
      expires_on: expect.stringMatching(/^\d+$/),
    });
    expect((await call(url)).status).toBe(401);
  });

  it("Arc challenges with a key file and accepts its content as Basic credentials", async () => {
    const env = emulator.azureEnv({ source: "arc" });
    const url = `${env.IDENTITY_ENDPOINT}?api-version=2019-11-01&resource=${APP}`;
    const challenge = await call(url, { headers: { Metadata: "true" } });
    expect(challenge.status).toBe(401);
    const realm = /^Basic realm=(.+)$/.exec(String(challenge.headers["www-authenticate"]))?.[1];
    expect(realm).toBeDefined();
    const secret = readFileSync(realm!, "utf8");
    const reply = await call(url, { headers: { Metadata: "true", Authorization: `Basic ${secret}` } });
    expect(reply.status).toBe(200);
    expect(decodeJwt(reply.json().access_token).aud).toBe(APP);
    expect((await call(url, { headers: { Metadata: "true", Authorization: "Basic forged" } })).status).toBe(
      401,
    );
  });
});

describe("Entra token endpoint (AKS workload identity)", () => {
  function clientAssertion(fields: Record<string, string>, tenant = TENANT) {
    return postForm(`${emulator.urls.entra}/${tenant}/oauth2/v2.0/token`, {
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      scope: `${APP}/.default`,
      ...fields,
    });
  }

  it("exchanges the projected service-account token for an Entra token STS accepts", async () => {
    const env = emulator.azureEnv({ source: "aks" });
    expect(env).toMatchObject({
      AZURE_CLIENT_ID: USER_CLIENT_ID,
      AZURE_TENANT_ID: TENANT,
      AZURE_AUTHORITY_HOST: `${emulator.urls.entra}/`,
    });
    const reply = await postForm(`${env.AZURE_AUTHORITY_HOST}${env.AZURE_TENANT_ID}/oauth2/v2.0/token`, {
      grant_type: "client_credentials",
      client_id: env.AZURE_CLIENT_ID!,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: readFileSync(env.AZURE_FEDERATED_TOKEN_FILE!, "utf8"),
      scope: `${APP}/.default`,
    });
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({ token_type: "Bearer", expires_in: 3599 });
    const claims = decodeJwt(reply.json().access_token);
    expect(claims).toMatchObject({
      aud: APP,
      sub: USER_OID,
      appid: USER_CLIENT_ID,
      iss: `${emulator.urls.entra}/${TENANT}/`,
    });
    expect((await oidcExchange(emulator, reply.json().access_token)).status).toBe(200);
  });

  it("answers AADSTS errors for unknown clients, scopes, resources, unmatched and expired assertions", async () => {
    const assertion = emulator.mintKubernetesToken({ audience: "api://AzureADTokenExchange" });
    const aadsts = async (fields: Record<string, string>, tenant?: string) => {
      const reply = await clientAssertion(fields, tenant);
      return { status: reply.status, error: reply.json().error, code: reply.json().error_codes?.[0] };
    };
    expect(
      await aadsts({ client_id: "00000000-0000-4000-8000-000000000000", client_assertion: assertion }),
    ).toEqual({ status: 400, error: "unauthorized_client", code: 700016 });
    expect(await aadsts({ client_id: USER_CLIENT_ID, client_assertion: assertion, scope: APP })).toEqual({
      status: 400,
      error: "invalid_scope",
      code: 1002012,
    });
    expect(
      await aadsts({
        client_id: USER_CLIENT_ID,
        client_assertion: assertion,
        scope: "api://nobody/.default",
      }),
    ).toEqual({ status: 400, error: "invalid_resource", code: 500011 });
    const stranger = emulator.mintKubernetesToken({
      audience: "api://AzureADTokenExchange",
      serviceAccount: "stranger",
    });
    expect(await aadsts({ client_id: USER_CLIENT_ID, client_assertion: stranger })).toEqual({
      status: 400,
      error: "invalid_request",
      code: 70021,
    });
    expect(
      await aadsts(
        { client_id: USER_CLIENT_ID, client_assertion: assertion },
        "00000000-0000-4000-8000-00000000dead",
      ),
    ).toMatchObject({ code: 90002 });
    const short = emulator.mintKubernetesToken({
      audience: "api://AzureADTokenExchange",
      lifetimeSeconds: 60,
    });
    emulator.clock.advance(120_000);
    expect(await aadsts({ client_id: USER_CLIENT_ID, client_assertion: short })).toEqual({
      status: 401,
      error: "invalid_client",
      code: 700024,
    });
  });

  it("publishes v1 and v2 discovery documents", async () => {
    const v1 = (await call(`${emulator.urls.entra}/${TENANT}/.well-known/openid-configuration`)).json();
    const v2 = (await call(`${emulator.urls.entra}/${TENANT}/v2.0/.well-known/openid-configuration`)).json();
    expect(v1.issuer).toBe(`${emulator.urls.entra}/${TENANT}/`);
    expect(v2.issuer).toBe(`${emulator.urls.entra}/${TENANT}/v2.0`);
    expect((await call(v1.jwks_uri)).json().keys[0]).toMatchObject({ kty: "RSA", alg: "RS256" });
  });
});
