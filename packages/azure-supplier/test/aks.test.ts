import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UnsecuredJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fromAzure } from "../src/index.js";
import type { FakeHandler, FakeServer } from "./helpers/fake-server.js";
import { FAST_RETRY, fakeAzureJwt, sendJson, startFakeServer } from "./helpers/fake-server.js";

const RESOURCE = "api://wifkit-test";
const TENANT = "11111111-2222-3333-4444-555555555555";
const CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
let server: FakeServer | undefined;
let directory: string;
let tokenFile: string;

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "wifkit-aks-"));
  tokenFile = path.join(directory, "azure-identity-token");
  await writeFile(tokenFile, `${projectedToken("first")}\n`);
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(directory, { recursive: true, force: true });
});

/** A Kubernetes projected service account token, as the kubelet writes it for workload identity. */
function projectedToken(jti: string): string {
  return new UnsecuredJWT({
    iss: "https://oidc.prod-aks.azure.com/cluster-1/",
    sub: "system:serviceaccount:apps:wif-reader",
    aud: ["api://AzureADTokenExchange"],
    jti,
  })
    .setExpirationTime(1_893_459_600)
    .encode();
}

async function startEntra(onToken: FakeHandler): Promise<FakeServer> {
  server = await startFakeServer(onToken);
  return server;
}

function aksEnv(authority: string) {
  return {
    AZURE_FEDERATED_TOKEN_FILE: tokenFile,
    AZURE_CLIENT_ID: CLIENT,
    AZURE_TENANT_ID: TENANT,
    AZURE_AUTHORITY_HOST: authority,
    // App Service variables too: AKS comes first.
    IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token",
    IDENTITY_HEADER: "h",
  };
}

describe("AKS workload identity", () => {
  it("exchanges the projected token at Entra for a token whose audience is the App ID URI", async () => {
    const jwt = fakeAzureJwt({ aud: RESOURCE });
    const fake = await startEntra((_request, response) =>
      sendJson(response, 200, {
        token_type: "Bearer",
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: jwt,
      }),
    );
    const supplier = fromAzure({ resource: `${RESOURCE}/.default`, env: aksEnv(`${fake.url}/`) });
    expect(supplier.warnings).toEqual([expect.stringContaining("/.default")]);
    const subject = await supplier();
    expect(subject.token).toBe(jwt);
    expect(supplier.lastSource()).toBe("aks");
    const [request] = fake.requests;
    expect(request?.method).toBe("POST");
    expect(request?.pathname).toBe(`/${TENANT}/oauth2/v2.0/token`);
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      grant_type: "client_credentials",
      client_id: CLIENT,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: projectedToken("first"),
      scope: `${RESOURCE}/.default`,
    });
  });

  it("re-reads the token file on every exchange (the kubelet rotates it)", async () => {
    const fake = await startEntra((_request, response) =>
      sendJson(response, 200, { token_type: "Bearer", expires_in: 3599, access_token: fakeAzureJwt() }),
    );
    const supplier = fromAzure({ resource: RESOURCE, env: aksEnv(fake.url) });
    await supplier();
    await writeFile(tokenFile, projectedToken("second"));
    await supplier({ forceRefresh: true });
    const assertions = fake.requests.map((request) =>
      new URLSearchParams(request.body).get("client_assertion"),
    );
    expect(assertions).toEqual([projectedToken("first"), projectedToken("second")]);
  });

  it("lets options override AZURE_CLIENT_ID, AZURE_TENANT_ID and the token file", async () => {
    const fake = await startEntra((_request, response) =>
      sendJson(response, 200, { expires_in: "600", access_token: fakeAzureJwt() }),
    );
    const other = path.join(directory, "other-token");
    await writeFile(other, projectedToken("other"));
    await fromAzure({
      resource: RESOURCE,
      env: aksEnv(fake.url),
      clientId: "explicit-client",
      tenantId: "contoso.onmicrosoft.com",
      federatedTokenFile: other,
    })();
    const body = new URLSearchParams(fake.requests[0]?.body);
    expect(fake.requests[0]?.pathname).toBe("/contoso.onmicrosoft.com/oauth2/v2.0/token");
    expect(body.get("client_id")).toBe("explicit-client");
    expect(body.get("client_assertion")).toBe(projectedToken("other"));
  });

  it("names the federated credential, tenant and client id to check when Entra rejects the exchange", async () => {
    const fake = await startEntra((_request, response) =>
      sendJson(response, 400, {
        error: "invalid_client",
        error_description:
          "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://oidc.prod-aks.azure.com/cluster-1/'.",
        error_codes: [70021],
      }),
    );
    const error = await fromAzure({ resource: RESOURCE, env: aksEnv(fake.url) })().catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: "ERR_WIF_AZURE_ENTRA_REJECTED",
      status: 400,
      upstreamError: "invalid_client",
      upstreamDescription: expect.stringContaining("AADSTS70021"),
    });
    const message = (error as Error).message;
    expect(message).toContain("federated identity credential");
    expect(message).toContain(`client id ${CLIENT}`);
    expect(message).toContain(`tenant ${TENANT}`);
    expect(message).toContain('issuer "https://oidc.prod-aks.azure.com/cluster-1/"');
    expect(message).toContain('subject "system:serviceaccount:apps:wif-reader"');
    expect(message).not.toContain(projectedToken("first"));
    expect(fake.requests).toHaveLength(1);
  });

  it("redacts an assertion that Entra echoes back", async () => {
    const fake = await startEntra((request, response) =>
      sendJson(response, 401, {
        error: "invalid_client",
        error_description: `AADSTS700024: Client assertion ${new URLSearchParams(request.body).get("client_assertion")} is expired.`,
      }),
    );
    const error = (await fromAzure({ resource: RESOURCE, env: aksEnv(fake.url) })().catch(
      (caught: unknown) => caught,
    )) as {
      message: string;
      upstreamDescription: string;
    };
    expect(error.message).toContain("[redacted]");
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(projectedToken("first"));
  });

  it("explains an unknown App ID URI", async () => {
    const fake = await startEntra((_request, response) =>
      sendJson(response, 400, {
        error: "invalid_resource",
        error_description: "AADSTS500011: The resource principal named api://wifkit-test was not found.",
      }),
    );
    await expect(fromAzure({ resource: RESOURCE, env: aksEnv(fake.url) })()).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_INVALID_RESOURCE",
      message: expect.stringContaining("Application ID URI"),
    });
  });

  it("retries Entra's 503, then succeeds", async () => {
    const fake = await startEntra((_request, response, index) =>
      index === 0
        ? sendJson(response, 503, { error: "temporarily_unavailable" })
        : sendJson(response, 200, { expires_in: 3599, access_token: fakeAzureJwt() }),
    );
    await fromAzure({ resource: RESOURCE, env: aksEnv(fake.url), retry: FAST_RETRY })();
    expect(fake.requests).toHaveLength(2);
  });

  it("reports a missing token file with what to check on the pod", async () => {
    await rm(tokenFile);
    await expect(
      fromAzure({ resource: RESOURCE, env: aksEnv("http://127.0.0.1:1/") })(),
    ).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_TOKEN_FILE",
      message: expect.stringMatching(/cannot be read \(ENOENT\).*azure\.workload\.identity\/use/),
    });
  });

  it("refuses to send the assertion over plain HTTP to anything but loopback", async () => {
    await expect(
      fromAzure({ resource: RESOURCE, env: aksEnv("http://login.example.com/") })(),
    ).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_CONFIG_INVALID",
      message: expect.stringContaining("AZURE_AUTHORITY_HOST must be an https URL"),
    });
  });
});
