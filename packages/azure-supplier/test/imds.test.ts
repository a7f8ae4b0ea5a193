import { chain, SourceUnavailableError } from "@wifkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { virtualTime } from "../../../tooling/virtual-time.js";
import { fromAzure } from "../src/index.js";
import type { FakeHandler, FakeServer } from "./helpers/fake-server.js";
import {
  closedPort,
  FAST_RETRY,
  fakeAzureJwt,
  manualClock,
  sendJson,
  startFakeServer,
} from "./helpers/fake-server.js";

const RESOURCE = "api://wifkit-test";
let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** IMDS as Azure runs it: 400 without `Metadata: true` (what the probe sees), else the handler decides. */
async function startImds(onToken: FakeHandler): Promise<FakeServer> {
  server = await startFakeServer((request, response, index) => {
    if (request.headers.metadata !== "true") {
      return sendJson(response, 400, {
        error: "bad_request_102",
        error_description: "Required metadata header not specified",
      });
    }
    onToken(request, response, index);
  });
  return server;
}

const tokenRequests = (fake: FakeServer) =>
  fake.requests.filter((request) => request.headers.metadata === "true");

function imdsSupplier(url: string, extra: Partial<Parameters<typeof fromAzure>[0]> = {}) {
  return fromAzure({ resource: RESOURCE, env: { AZURE_IMDS_ENDPOINT: url }, retry: FAST_RETRY, ...extra });
}

describe("VM / VMSS IMDS", () => {
  it("gets a system-assigned identity token with IMDS's wire format", async () => {
    const jwt = fakeAzureJwt();
    const clock = manualClock();
    const fake = await startImds((_request, response) =>
      sendJson(response, 200, {
        access_token: jwt,
        refresh_token: "",
        expires_in: "3599",
        expires_on: "1506484173",
        not_before: "1506480273",
        resource: RESOURCE,
        token_type: "Bearer",
      }),
    );
    const supplier = imdsSupplier(fake.url, { clock });
    const subject = await supplier();
    expect(subject).toEqual({
      token: jwt,
      type: "urn:ietf:params:oauth:token-type:jwt",
      expiresAt: new Date(clock.now() + 3_599_000),
    });
    expect(supplier.lastSource()).toBe("imds");
    const [request] = tokenRequests(fake);
    expect(request?.method).toBe("GET");
    expect(request?.pathname).toBe("/metadata/identity/oauth2/token");
    expect(Object.fromEntries(request?.query ?? [])).toEqual({
      "api-version": "2018-02-01",
      resource: RESOURCE,
    });
  });

  it.each([
    ["clientId", "client_id", "11111111-0000-0000-0000-000000000001"],
    ["objectId", "object_id", "22222222-0000-0000-0000-000000000002"],
    [
      "msiResId",
      "msi_res_id",
      "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wif",
    ],
  ] as const)("selects a user-assigned identity with %s (%s)", async (option, parameter, value) => {
    const fake = await startImds((_request, response) =>
      sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "86399" }),
    );
    await imdsSupplier(fake.url, { [option]: value })();
    expect(tokenRequests(fake)[0]?.query.get(parameter)).toBe(value);
  });

  it("takes the user-assigned client id from AZURE_CLIENT_ID unless an option selects one", async () => {
    const fake = await startImds((_request, response) =>
      sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "3599" }),
    );
    const env = { AZURE_IMDS_ENDPOINT: fake.url, AZURE_CLIENT_ID: "from-env" };
    await fromAzure({ resource: RESOURCE, env })();
    await fromAzure({ resource: RESOURCE, env, objectId: "from-option" })();
    const [first, second] = tokenRequests(fake);
    expect(first?.query.get("client_id")).toBe("from-env");
    expect(second?.query.get("client_id")).toBeNull();
    expect(second?.query.get("object_id")).toBe("from-option");
  });

  it("retries while Azure throttles (429), then succeeds", async () => {
    const fake = await startImds((_request, response, index) =>
      index < 3
        ? sendJson(response, 429, { error: "too_many_requests" })
        : sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "3599" }),
    );
    await expect(imdsSupplier(fake.url)()).resolves.toMatchObject({
      type: "urn:ietf:params:oauth:token-type:jwt",
    });
    expect(tokenRequests(fake)).toHaveLength(3);
  });

  it("retries 404 while the identity is being set up, then succeeds", async () => {
    const fake = await startImds((_request, response, index) =>
      index < 2
        ? sendJson(response, 404, { error: "not_found", error_description: "Identity not ready" })
        : sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "3599" }),
    );
    await expect(imdsSupplier(fake.url)()).resolves.toBeDefined();
    expect(tokenRequests(fake)).toHaveLength(2);
  });

  it("gives up on endless throttling with ERR_WIF_AZURE_THROTTLED", async () => {
    const fake = await startImds((_request, response) => sendJson(response, 429, { error: "throttled" }));
    await expect(imdsSupplier(fake.url, { retry: { ...FAST_RETRY, retries: 2 } })()).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_THROTTLED",
      status: 429,
      retryable: true,
    });
    expect(tokenRequests(fake)).toHaveLength(3);
  });

  it("turns a 5xx that outlasts the retries into ERR_WIF_AZURE_UNAVAILABLE", async () => {
    const fake = await startImds((_request, response) => sendJson(response, 503, {}));
    await expect(imdsSupplier(fake.url, { retry: { ...FAST_RETRY, retries: 1 } })()).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_UNAVAILABLE",
      status: 503,
    });
  });

  it("explains invalid_resource as a wrong Application ID URI", async () => {
    const fake = await startImds((_request, response) =>
      sendJson(response, 400, {
        error: "invalid_resource",
        error_description:
          "AADSTS500011: The resource principal named api://wifkit-test was not found in the tenant.",
      }),
    );
    const error = await imdsSupplier(fake.url)().catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "ERR_WIF_AZURE_INVALID_RESOURCE",
      status: 400,
      upstreamError: "invalid_resource",
    });
    expect((error as Error).message).toMatch(/Application ID URI/);
    expect((error as Error).message).toContain('"api://wifkit-test"');
    expect(tokenRequests(fake)).toHaveLength(1);
  });

  it("says which identity is missing when IMDS finds none", async () => {
    const fake = await startImds((_request, response) =>
      sendJson(response, 400, { error: "invalid_request", error_description: "Identity not found" }),
    );
    await expect(imdsSupplier(fake.url, { clientId: "c-1" })()).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_IDENTITY_NOT_FOUND",
      message: expect.stringContaining("client_id=c-1"),
    });
  });

  it("finds IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST, the imdsEndpoint option, or a full token URL", async () => {
    const fake = await startImds((_request, response) =>
      sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "60" }),
    );
    await fromAzure({ resource: RESOURCE, env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: `${fake.url}/` } })();
    await fromAzure({
      resource: RESOURCE,
      env: { AZURE_IMDS_ENDPOINT: "http://127.0.0.1:1" },
      imdsEndpoint: `${fake.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${RESOURCE}`,
    })();
    expect(tokenRequests(fake).map((request) => request.pathname)).toEqual([
      "/metadata/identity/oauth2/token",
      "/metadata/identity/oauth2/token",
    ]);
    expect(tokenRequests(fake)[1]?.query.getAll("resource")).toEqual([RESOURCE]);
  });

  it("probes IMDS once per supplier, not on every refresh", async () => {
    const fake = await startImds((_request, response) =>
      sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "3599" }),
    );
    const supplier = imdsSupplier(fake.url);
    await supplier();
    await supplier({ forceRefresh: true });
    expect(fake.requests.map((request) => request.headers.metadata ?? "probe")).toEqual([
      "probe",
      "true",
      "true",
    ]);
  });
});

describe("not on Azure", () => {
  it("fails at once with a skippable error that lists what was checked", async () => {
    const port = await closedPort();
    const supplier = fromAzure({
      resource: RESOURCE,
      env: { AZURE_IMDS_ENDPOINT: `http://127.0.0.1:${port}` },
    });
    const error = await supplier().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_AZURE_NOT_ON_AZURE" });
    const message = (error as Error).message;
    expect(message).toMatch(/^Not on Azure/);
    for (const variable of [
      "AZURE_FEDERATED_TOKEN_FILE",
      "IDENTITY_ENDPOINT",
      "IDENTITY_HEADER",
      "IMDS_ENDPOINT",
    ]) {
      expect(message).toContain(variable);
    }
    expect(message).toContain(
      `http://127.0.0.1:${port}/metadata/identity/oauth2/token: connection failed (ECONNREFUSED)`,
    );
  });

  it("does not wait for a silent IMDS address longer than the probe timeout (virtual time)", async () => {
    // Accepts connections and never answers, like a firewalled link-local address.
    server = await startFakeServer(() => {});
    const time = virtualTime();
    const supplier = fromAzure({
      resource: RESOURCE,
      env: { AZURE_IMDS_ENDPOINT: server.url },
      probeTimeoutMs: 1_000,
      clock: time.clock,
      sleep: time.sleep,
    });
    const pending = supplier();
    pending.catch(() => {});
    const probe = server;
    await expect.poll(() => probe.requests.length).toBe(1);
    await time.advance(1_000);
    await expect(pending).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_NOT_ON_AZURE",
      message: expect.stringContaining("no answer within 1000 ms"),
    });
    expect(server.requests).toHaveLength(1);
  });

  it("lets chain() move on to the next source", async () => {
    const port = await closedPort();
    const azure = fromAzure({ resource: RESOURCE, env: { AZURE_IMDS_ENDPOINT: `http://127.0.0.1:${port}` } });
    const next = async () => ({
      token: "from-elsewhere",
      type: "urn:ietf:params:oauth:token-type:jwt" as const,
    });
    await expect(chain(azure, next)()).resolves.toMatchObject({ token: "from-elsewhere" });
  });

  it("says so when source: imds was chosen explicitly", async () => {
    const port = await closedPort();
    const supplier = fromAzure({
      resource: RESOURCE,
      source: "imds",
      imdsEndpoint: `http://127.0.0.1:${port}`,
    });
    await expect(supplier()).rejects.toMatchObject({
      code: "ERR_WIF_AZURE_SOURCE_UNAVAILABLE",
      message: expect.stringContaining("does not seem to run on an Azure VM"),
    });
  });
});
