import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_SUPPLIERS, awsSupplier, azureSupplier, fromConfig } from "./index.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

describe("@wifkit/credentials-all", () => {
  it("reads AWS and Azure configs without registering anything", async () => {
    for (const source of ["aws", "azure"] as const) {
      const credentials = await fromConfig(
        emulator.credentialConfig({ source, serviceAccount: "wifkit-reader" }),
        {
          allow: { origins: emulator.allowOrigins },
          env: { ...emulator.awsEnv(), ...emulator.azureEnv() },
        },
      );
      await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    }
    expect(ALL_SUPPLIERS).toEqual([awsSupplier, azureSupplier]);
  });

  it("lets the caller narrow the suppliers: an AWS config without awsSupplier says what to register", async () => {
    const error = await fromConfig(emulator.credentialConfig({ source: "aws" }), {
      allow: { origins: emulator.allowOrigins },
      suppliers: [azureSupplier],
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_SUPPLIER_NOT_REGISTERED" });
  });
});
