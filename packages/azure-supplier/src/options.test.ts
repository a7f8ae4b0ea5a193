import { describe, expect, it } from "vitest";
import { defaultArcKeyDirectory, isAzureRetryableStatus, normalizeResource, resolveInit } from "./options.js";

describe("normalizeResource", () => {
  it("keeps an Application ID URI as it is", () => {
    expect(normalizeResource("api://my-app")).toEqual({ resource: "api://my-app", warnings: [] });
  });

  it("strips a copied /.default scope suffix and says so", () => {
    const { resource, warnings } = normalizeResource("https://my-app.example.com/.default");
    expect(resource).toBe("https://my-app.example.com");
    expect(warnings).toEqual([expect.stringContaining("/.default")]);
  });

  it.each([
    ["", /resource is required/],
    ["   ", /resource is required/],
    ["api://my app", /whitespace/],
    ["api://my-app\n", /whitespace/],
    ["/.default", /only a scope suffix/],
  ])("refuses %j", (value, message) => {
    expect(() => normalizeResource(value)).toThrow(message);
    expect(() => normalizeResource(value)).toThrow(
      expect.objectContaining({ code: "ERR_WIF_AZURE_CONFIG_INVALID" }),
    );
  });

  it("refuses a missing resource from untyped callers", () => {
    expect(() => normalizeResource(undefined)).toThrow(/resource is required/);
  });
});

describe("resolveInit", () => {
  it("accepts one user-assigned identity selector and refuses two", () => {
    expect(resolveInit({ resource: "api://a", clientId: "c" }).identity).toEqual({
      kind: "clientId",
      value: "c",
    });
    expect(() => resolveInit({ resource: "api://a", clientId: "c", objectId: "o" })).toThrow(
      /at most one of clientId, objectId and msiResId/,
    );
    expect(() => resolveInit({ resource: "api://a", msiResId: " " })).toThrow(/msiResId is empty/);
  });

  it("refuses an unknown source and nonsense timeouts", () => {
    expect(() => resolveInit({ resource: "api://a", source: "gke" as never })).toThrow(
      /source must be one of/,
    );
    expect(() => resolveInit({ resource: "api://a", timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe("Azure retry guidance", () => {
  it("retries 404, 410, 429 and 5xx, not other client errors", () => {
    expect([404, 408, 410, 429, 500, 503].every(isAzureRetryableStatus)).toBe(true);
    expect([400, 401, 403].some(isAzureRetryableStatus)).toBe(false);
  });
});

describe("defaultArcKeyDirectory", () => {
  it("knows the agent's directories on Linux and Windows only", () => {
    expect(defaultArcKeyDirectory("linux", {})).toBe("/var/opt/azcmagent/tokens");
    expect(defaultArcKeyDirectory("win32", { ProgramData: "D:\\PD" })).toBe(
      "D:\\PD\\AzureConnectedMachineAgent\\Tokens",
    );
    expect(defaultArcKeyDirectory("darwin", {})).toBeUndefined();
  });
});
