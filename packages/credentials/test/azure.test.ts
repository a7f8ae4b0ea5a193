/**
 * Every Azure source reaches a Google federated token through `fromConfig` (issue 5): VM IMDS with the
 * system-assigned and a user-assigned identity, App Service, AKS workload identity and Azure Arc. The
 * config is what `gcloud ... create-cred-config --azure` writes (an IMDS URL source); with
 * @wifkit/azure-supplier installed, fromConfig hands it to `fromAzure`, which detects the platform.
 */
import { join } from "node:path";
import { azureSupplier } from "@wifkit/azure-supplier";
import type { ExternalAccountConfig } from "@wifkit/config";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type FromConfigOptions,
  fromConfig as fromConfigWith,
  subjectTokenSupplierFromConfig as supplierWith,
} from "../src/index.js";

/** The Azure supplier registered, as an Azure-only application does. */
const fromConfig = (config: Parameters<typeof fromConfigWith>[0], options: FromConfigOptions = {}) =>
  fromConfigWith(config, { suppliers: [azureSupplier], ...options });
const subjectTokenSupplierFromConfig = (config: ExternalAccountConfig, options: FromConfigOptions = {}) =>
  supplierWith(config, { suppliers: [azureSupplier], ...options });

import { emulatorClock, OBJECT_CONTENT, readGuardedObject } from "./emulator-helpers.js";

let emulator: Emulator;
beforeEach(async () => {
  emulator = await startEmulator();
});
afterEach(async () => {
  await emulator.stop();
});

const userAssigned = () => {
  const identity = emulator.state.azure.identities["wifkit-identity"];
  if (!identity) throw new Error("the emulator's default config has a user-assigned identity");
  return identity;
};

async function azureCredentials(env: Record<string, string>, options: { azureClientId?: string } = {}) {
  return fromConfig(emulator.credentialConfig({ source: "azure", ...options }), {
    allow: { origins: emulator.allowOrigins },
    env,
    clock: emulatorClock(emulator),
    azure: { arcKeyDirectory: join(emulator.tempDir, "arc-tokens") },
  });
}

describe("Azure sources reach a Google federated token", () => {
  it("VM IMDS, system-assigned identity", async () => {
    const credentials = await azureCredentials(emulator.azureEnv({ source: "imds" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("azure.imds.token")).toBeGreaterThan(0);
    expect(emulator.counters.get("sts.token")).toBe(1);
    // The system identity's object id is bound to the bucket: the federated token reads the object.
    expect(await readGuardedObject(emulator, await credentials.getRequestHeaders())).toEqual({
      status: 200,
      body: OBJECT_CONTENT,
    });
  });

  it("VM IMDS, user-assigned identity selected by client_id in the config's URL", async () => {
    const credentials = await azureCredentials(emulator.azureEnv({ source: "imds" }), {
      azureClientId: userAssigned().clientId,
    });
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("azure.imds.token")).toBeGreaterThan(0);
    // Not the system identity: that one may read the bucket, this one may not.
    expect((await readGuardedObject(emulator, await credentials.getRequestHeaders())).status).toBe(403);
  });

  it("App Service / Functions (IDENTITY_ENDPOINT + IDENTITY_HEADER)", async () => {
    const credentials = await azureCredentials(emulator.azureEnv({ source: "app-service" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("azure.appService.token")).toBe(1);
    expect(emulator.counters.get("azure.imds.token")).toBe(0);
  });

  it("AKS workload identity (projected token exchanged at Entra)", async () => {
    const credentials = await azureCredentials(emulator.azureEnv({ source: "aks" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("entra.token")).toBe(1);
    expect(emulator.counters.get("azure.imds.token")).toBe(0);
  });

  it("Azure Arc (key file challenge)", async () => {
    const credentials = await azureCredentials(emulator.azureEnv({ source: "arc" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("azure.arc.token")).toBe(2);
  });

  it("subjectTokenSupplierFromConfig picks the Azure supplier for a gcloud --azure config", async () => {
    const config = emulator.credentialConfig({ source: "azure" });
    const { supplier, source } = await subjectTokenSupplierFromConfig(config, {
      env: emulator.azureEnv({ source: "aks" }),
    });
    expect(source).toBe("azure");
    const { token } = await supplier();
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
      aud: string;
    };
    expect(claims.aud).toBe("api://wifkit-demo");
    expect(emulator.counters.get("entra.token")).toBe(1);
  });

  it("through impersonation to an ID token", async () => {
    const credentials = await fromConfig(
      emulator.credentialConfig({ source: "azure", serviceAccount: "wifkit-reader" }),
      {
        allow: { origins: emulator.allowOrigins },
        env: emulator.azureEnv({ source: "imds" }),
      },
    );
    await expect(credentials.getIdToken({ audience: "https://svc" })).resolves.toMatchObject({
      type: "id_token",
    });
    expect(emulator.counters.get("iam.generateIdToken")).toBe(1);
  });
});
