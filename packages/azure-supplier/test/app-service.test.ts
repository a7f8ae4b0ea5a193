import { afterEach, describe, expect, it } from "vitest";
import { fromAzure } from "../src/index.js";
import type { FakeHandler, FakeServer } from "./helpers/fake-server.js";
import { FAST_RETRY, fakeAzureJwt, sendJson, startFakeServer } from "./helpers/fake-server.js";

const RESOURCE = "api://wifkit-test";
const HEADER = "f0e1d2c3-secret-identity-header";
let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The App Service identity endpoint: it checks X-IDENTITY-HEADER like the platform does. */
async function startAppService(onToken: FakeHandler): Promise<FakeServer> {
  server = await startFakeServer((request, response, index) => {
    if (request.headers["x-identity-header"] !== HEADER) {
      return sendJson(response, 401, { statusCode: 401, message: "Unauthorized" });
    }
    onToken(request, response, index);
  });
  return server;
}

function appServiceEnv(url: string, header = HEADER) {
  return { IDENTITY_ENDPOINT: `${url}/msi/token`, IDENTITY_HEADER: header };
}

describe("App Service / Functions / Container Apps", () => {
  it("gets a token with the 2019-08-01 protocol and reads its string expires_on", async () => {
    const jwt = fakeAzureJwt();
    const fake = await startAppService((_request, response) =>
      sendJson(response, 200, {
        access_token: jwt,
        expires_on: "1893459600",
        resource: RESOURCE,
        token_type: "Bearer",
        client_id: "c",
      }),
    );
    const supplier = fromAzure({ resource: RESOURCE, env: appServiceEnv(fake.url) });
    await expect(supplier()).resolves.toEqual({
      token: jwt,
      type: "urn:ietf:params:oauth:token-type:jwt",
      expiresAt: new Date(1_893_459_600_000),
    });
    expect(supplier.lastSource()).toBe("app-service");
    const [request] = fake.requests;
    expect(request?.pathname).toBe("/msi/token");
    expect(Object.fromEntries(request?.query ?? [])).toEqual({
      resource: RESOURCE,
      "api-version": "2019-08-01",
    });
  });

  it.each([
    ["clientId", "client_id"],
    ["objectId", "object_id"],
    ["msiResId", "mi_res_id"],
  ] as const)("selects a user-assigned identity with %s (%s)", async (option, parameter) => {
    const fake = await startAppService((_request, response) =>
      sendJson(response, 200, { access_token: fakeAzureJwt({}, 1_893_459_600) }),
    );
    await fromAzure({ resource: RESOURCE, env: appServiceEnv(fake.url), [option]: "id-1" })();
    expect(fake.requests[0]?.query.get(parameter)).toBe("id-1");
  });

  it("retries a 500 from the platform, then succeeds", async () => {
    const fake = await startAppService((_request, response, index) =>
      index === 0
        ? sendJson(response, 500, { statusCode: 500, message: "Internal error" })
        : sendJson(response, 200, { access_token: fakeAzureJwt(), expires_on: "1893459600" }),
    );
    await fromAzure({ resource: RESOURCE, env: appServiceEnv(fake.url), retry: FAST_RETRY })();
    expect(fake.requests).toHaveLength(2);
  });

  it("says the identity is missing when the platform cannot load it", async () => {
    const fake = await startAppService((_request, response) =>
      sendJson(response, 400, { statusCode: 400, message: "Unable to load the proper Managed Identity." }),
    );
    await expect(
      fromAzure({ resource: RESOURCE, env: appServiceEnv(fake.url), clientId: "x" })(),
    ).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_IDENTITY_NOT_FOUND",
      message: expect.stringContaining("client_id=x"),
    });
  });

  it("explains a refused IDENTITY_HEADER without printing it", async () => {
    const fake = await startAppService(() => {});
    const error = await fromAzure({
      resource: RESOURCE,
      env: appServiceEnv(fake.url, "stale-header-value"),
    })().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ERR_WIF_AZURE_REQUEST_FAILED", status: 401 });
    expect((error as Error).message).toMatch(/IDENTITY_HEADER/);
    expect((error as Error).message).not.toContain("stale-header-value");
  });

  it("maps an AADSTS500011 message to the Application ID URI error", async () => {
    const fake = await startAppService((_request, response) =>
      sendJson(response, 400, {
        statusCode: 400,
        message:
          "AADSTS500011: The resource principal named api://wifkit-test was not found in the tenant named t.",
      }),
    );
    await expect(fromAzure({ resource: RESOURCE, env: appServiceEnv(fake.url) })()).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_INVALID_RESOURCE",
    });
  });
});
