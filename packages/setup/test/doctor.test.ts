/** `runDoctor` against the emulator: the steps in order, and a disabled pool and an audience's issuer explained. */
import { subjectTokenSupplierFromConfig } from "@wifkit/credentials";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DoctorStep, runDoctor } from "../src/index.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

async function doctor(config: ReturnType<Emulator["credentialConfig"]>, env: Record<string, string>) {
  const { supplier } = await subjectTokenSupplierFromConfig(config, { env });
  const seen: DoctorStep[] = [];
  const report = await runDoctor({
    config,
    supplier,
    adminToken: emulator.gcloudEnv().CLOUDSDK_AUTH_ACCESS_TOKEN,
    endpoints: emulator.urls,
    onStep: (step) => seen.push(step),
  });
  expect(seen).toEqual(report.steps);
  return { report, step: (id: string) => report.steps.find((step) => step.id === id) };
}

describe("runDoctor", () => {
  it("walks a healthy Kubernetes OIDC setup with impersonation: every step ok, in Google's order", async () => {
    const config = emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" });
    const { report, step } = await doctor(config, {});
    expect(report.steps.map((s) => `${s.id}:${s.status}`)).toEqual([
      "subject-token:ok",
      "sts-exchange:ok",
      "introspection:ok",
      "provider:ok",
      "apis:ok",
      "impersonation:ok",
      "project:ok",
    ]);
    expect(report.ok).toBe(true);
    expect(step("provider")?.summary).toBe(
      "provider oidc-provider accepts this credential as google.subject system:serviceaccount:default:wifkit",
    );
  });

  it("a disabled pool: STS refuses, and the provider step gives the command that enables the pool", async () => {
    emulator.reconfigure({ pools: { "wifkit-pool": { disabled: true } } });
    try {
      const { report, step } = await doctor(emulator.credentialConfig({ source: "url" }), {});
      expect(report.ok).toBe(false);
      expect(step("sts-exchange")?.status).toBe("fail");
      expect(step("provider")).toEqual({
        id: "provider",
        status: "fail",
        summary: "pool wifkit-pool is disabled: STS refuses every provider in it",
        fix: "gcloud iam workload-identity-pools update projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool --no-disabled",
      });
    } finally {
      emulator.reconfigure({ pools: { "wifkit-pool": { disabled: false } } });
    }
  });

  it("an Azure token for another application: the allowed audiences are named", async () => {
    const config = emulator.credentialConfig({ source: "azure", appIdUri: "api://another-app" });
    emulator.reconfigure({
      azure: {
        applications: {
          other: { appIdUri: "api://another-app", appId: "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e" },
        },
      },
    });
    const { step } = await doctor(config, emulator.azureEnv());
    expect(step("provider")).toMatchObject({
      status: "fail",
      summary:
        "the token's audience api://another-app is not among the provider's allowed audiences [\"api://wifkit-demo\"]",
      fix: expect.stringContaining("--app-id-uri=api://wifkit-demo"),
    });
  });
});
