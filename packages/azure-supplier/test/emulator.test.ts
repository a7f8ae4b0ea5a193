import path from "node:path";
import type { Emulator } from "@wifkit/emulator";
import { startEmulator } from "@wifkit/emulator";
import { exchangeToken } from "@wifkit/sts-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AzureSupplierInit } from "../src/index.js";
import { decodeTokenClaims, fromAzure } from "../src/index.js";

const APP_ID_URI = "api://wifkit-demo";
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
afterEach(() => {
  emulator.faults.clear();
  emulator.counters.reset();
});

const identity = (name: "system" | "wifkit-identity") => {
  const found = emulator.state.azure.identities[name];
  if (!found) throw new Error(`emulator has no Azure identity ${name}`);
  return found;
};

function supplier(init: Omit<AzureSupplierInit, "resource"> & { resource?: string }) {
  return fromAzure({
    resource: APP_ID_URI,
    arcKeyDirectory: path.join(emulator.tempDir, "arc-tokens"),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...init,
  });
}

/** The Azure token, exchanged at the emulator's Google STS for the azure-provider. */
async function federate(azure: ReturnType<typeof fromAzure>) {
  const subject = await azure();
  const google = await exchangeToken({
    tokenUrl: `${emulator.urls.sts}/v1/token`,
    audience: emulator.providerAudience("azure-provider"),
    subjectToken: subject.token,
    subjectTokenType: subject.type,
  });
  return { subject, google, claims: decodeTokenClaims(subject.token) };
}

describe("each Azure source reaches a Google federated token through the emulator's STS", () => {
  it.each([
    ["IMDS, system-assigned", "imds", {}, "system"],
    ["IMDS, user-assigned by AZURE_CLIENT_ID", "imds", { clientId: true }, "wifkit-identity"],
    ["App Service, system-assigned", "app-service", {}, "system"],
    ["Arc", "arc", {}, "system"],
    ["AKS workload identity", "aks", {}, "wifkit-identity"],
  ] as const)("%s", async (_name, source, flags, identityName) => {
    const expected = identity(identityName);
    const env = emulator.azureEnv({
      source,
      ...("clientId" in flags ? { clientId: expected.clientId } : {}),
    });
    const azure = supplier({ env });
    const { subject, google, claims } = await federate(azure);
    expect(azure.lastSource()).toBe(source);
    expect(subject.type).toBe("urn:ietf:params:oauth:token-type:jwt");
    expect(subject.expiresAt?.getTime()).toBeGreaterThan(Date.now());
    expect(claims).toMatchObject({
      iss: emulator.state.azure.issuer,
      aud: APP_ID_URI,
      sub: expected.objectId,
      oid: expected.objectId,
      tid: emulator.state.azure.tenantId,
      appid: expected.clientId,
    });
    expect(google.accessToken.length).toBeGreaterThan(0);
    expect(google.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it.each([
    ["objectId", (id: ReturnType<typeof identity>) => id.objectId],
    ["msiResId", (id: ReturnType<typeof identity>) => id.resourceId ?? ""],
  ] as const)("IMDS, user-assigned by %s", async (option, value) => {
    const user = identity("wifkit-identity");
    const { claims } = await federate(
      supplier({ env: emulator.azureEnv({ source: "imds" }), [option]: value(user) }),
    );
    expect(claims.oid).toBe(user.objectId);
  });

  it("App Service, user-assigned by msiResId (sent as mi_res_id)", async () => {
    const user = identity("wifkit-identity");
    const { claims } = await federate(
      supplier({ env: emulator.azureEnv({ source: "app-service" }), msiResId: user.resourceId ?? "" }),
    );
    expect(claims.oid).toBe(user.objectId);
  });
});

describe("failure paths against the emulator", () => {
  it("retries Azure throttling, then succeeds", async () => {
    const azure = supplier({ env: emulator.azureEnv({ source: "imds" }) });
    await azure();
    emulator.counters.reset();
    emulator.faults.inject("azure.imds.token", { status: 429, times: 2 });
    await expect(azure({ forceRefresh: true })).resolves.toMatchObject({
      type: "urn:ietf:params:oauth:token-type:jwt",
    });
    expect(emulator.counters.get("azure.imds.token")).toBe(3);
  });

  it("retries 404 while the identity is being set up, then succeeds", async () => {
    const azure = supplier({ env: emulator.azureEnv({ source: "imds" }) });
    await azure();
    emulator.counters.reset();
    emulator.faults.inject("azure.imds.token", { status: 404, times: 2 });
    await expect(azure({ forceRefresh: true })).resolves.toBeDefined();
    expect(emulator.counters.get("azure.imds.token")).toBe(3);
  });

  it("retries App Service 503 and Entra 503, then succeeds", async () => {
    emulator.faults.inject("azure.appService.token", { status: 503 });
    await expect(supplier({ env: emulator.azureEnv({ source: "app-service" }) })()).resolves.toBeDefined();
    expect(emulator.counters.get("azure.appService.token")).toBe(2);
    emulator.faults.inject("entra.token", { status: 503 });
    await expect(supplier({ env: emulator.azureEnv({ source: "aks" }) })()).resolves.toBeDefined();
    expect(emulator.counters.get("entra.token")).toBe(2);
  });

  it("explains an App ID URI Azure does not know", async () => {
    for (const source of ["imds", "app-service", "arc", "aks"] as const) {
      const error = await supplier({
        resource: "api://not-registered",
        env: emulator.azureEnv({ source }),
      })().catch((caught: unknown) => caught);
      expect(error, source).toMatchObject({ code: "ERR_WIF_AZURE_INVALID_RESOURCE", status: 400 });
      expect((error as Error).message).toContain("Application ID URI");
    }
  });

  it("names the federated credential, tenant and client id when Entra rejects the exchange", async () => {
    const env = emulator.azureEnv({ source: "aks" });
    const system = identity("system");
    const error = await supplier({ env: { ...env, AZURE_CLIENT_ID: system.clientId } })().catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_AZURE_ENTRA_REJECTED", status: 400 });
    const message = (error as Error).message;
    expect(message).toContain(`client id ${system.clientId}`);
    expect(message).toContain(`tenant ${emulator.state.azure.tenantId}`);
    expect(message).toContain("federated identity credential");
    expect(message).toContain('subject "system:serviceaccount:default:wifkit"');
    expect(message).toMatch(/AADSTS\d+/);
  });

  it("says the identity is missing for an unknown user-assigned client id", async () => {
    await expect(
      supplier({
        env: emulator.azureEnv({ source: "imds" }),
        clientId: "00000000-0000-4000-8000-000000000000",
      })(),
    ).rejects.toMatchObject({ code: "ERR_WIF_AZURE_IDENTITY_NOT_FOUND" });
  });

  it("says the VM has no identity when IMDS answers but none is enabled", async () => {
    emulator.state.azure.imds.enabled = false;
    try {
      await expect(supplier({ env: emulator.azureEnv({ source: "imds" }) })()).rejects.toMatchObject({
        code: "ERR_WIF_AZURE_IDENTITY_NOT_FOUND",
        message: expect.stringContaining("system-assigned identity"),
      });
    } finally {
      emulator.state.azure.imds.enabled = true;
    }
  });

  it("reports not on Azure when IMDS drops the connection, without trying a token request", async () => {
    emulator.faults.inject("azure.imds.*", { drop: true, times: 1 });
    const error = await supplier({ env: emulator.azureEnv({ source: "imds" }) })().catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_AZURE_NOT_ON_AZURE" });
    expect((error as Error).message).toContain(emulator.urls.azureImds);
    expect(emulator.counters.get("azure.imds.token")).toBe(1);
  });

  it("keeps every token out of error messages", async () => {
    const env = emulator.azureEnv({ source: "aks" });
    const { readFile } = await import("node:fs/promises");
    const assertion = (await readFile(env.AZURE_FEDERATED_TOKEN_FILE ?? "", "utf8")).trim();
    const failures = await Promise.all([
      supplier({ env: { ...env, AZURE_CLIENT_ID: identity("system").clientId } })().catch((e: unknown) => e),
      supplier({ resource: "api://not-registered", env })().catch((e: unknown) => e),
      supplier({ env: emulator.azureEnv({ source: "app-service" }), clientId: "nobody" })().catch(
        (e: unknown) => e,
      ),
    ]);
    for (const failure of failures) {
      const text = `${(failure as Error).message} ${JSON.stringify(failure)}`;
      expect(text).not.toContain(assertion);
      expect(text).not.toContain(assertion.split(".")[2]);
      expect(text).not.toContain(emulator.state.azure.appService.identityHeader);
    }
  });
});
