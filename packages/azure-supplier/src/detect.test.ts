import { describe, expect, it } from "vitest";
import { detectAzureSource } from "./detect.js";

const AKS = { AZURE_FEDERATED_TOKEN_FILE: "/var/run/token", AZURE_CLIENT_ID: "c", AZURE_TENANT_ID: "t" };
const APP_SERVICE = { IDENTITY_ENDPOINT: "http://127.0.0.1:41741/msi/token", IDENTITY_HEADER: "h" };
const ARC = {
  IDENTITY_ENDPOINT: "http://localhost:40342/metadata/identity/oauth2/token",
  IMDS_ENDPOINT: "http://localhost:40342",
};

describe("detectAzureSource", () => {
  it("tries AKS, then App Service, then Arc, then IMDS", () => {
    expect(detectAzureSource({ env: { ...ARC, ...APP_SERVICE, ...AKS } }).source).toBe("aks");
    expect(detectAzureSource({ env: { ...ARC, ...APP_SERVICE } }).source).toBe("app-service");
    expect(detectAzureSource({ env: ARC }).source).toBe("arc");
    expect(detectAzureSource({ env: {} }).source).toBe("imds");
  });

  it("names the variables that are missing for each source", () => {
    const { checks } = detectAzureSource({ env: { AZURE_FEDERATED_TOKEN_FILE: "/f", AZURE_CLIENT_ID: "" } });
    expect(checks.map((check) => check.detail)).toEqual([
      "AKS workload identity: AZURE_CLIENT_ID, AZURE_TENANT_ID not set",
      "App Service / Functions / Container Apps: IDENTITY_ENDPOINT, IDENTITY_HEADER not set",
      "Azure Arc: IDENTITY_ENDPOINT, IMDS_ENDPOINT not set",
      "VM / VMSS IMDS: http://169.254.169.254 (the fallback; answers only on an Azure VM or VMSS)",
    ]);
  });

  it("lets explicit options complete the AKS settings and shows where IMDS is looked for", () => {
    const detection = detectAzureSource({
      env: { AZURE_FEDERATED_TOKEN_FILE: "/f", AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://127.0.0.1:2579" },
      clientId: "c",
      tenantId: "t",
    });
    expect(detection.source).toBe("aks");
    expect(detection.checks[3]?.detail).toContain(
      "http://127.0.0.1:2579 (from AZURE_POD_IDENTITY_AUTHORITY_HOST)",
    );
  });
});
