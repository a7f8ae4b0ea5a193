import { ExternalAccountClient } from "google-auth-library";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { withProcessEnv } from "./env.js";

let emulator: Emulator;
let restoreEnv: () => void;

beforeAll(async () => {
  emulator = await startEmulator();
  // A workload on EC2 has no AWS credentials or region in its environment: the library must use IMDS.
  restoreEnv = withProcessEnv({ NO_PROXY: "127.0.0.1,localhost" });
});
afterAll(async () => {
  restoreEnv();
  await emulator.stop();
});
afterEach(() => emulator.counters.reset());

function clientFor(config: object) {
  const client = ExternalAccountClient.fromJSON(
    config as Parameters<typeof ExternalAccountClient.fromJSON>[0],
  );
  if (!client) throw new Error("google-auth-library did not accept the credential config");
  return client;
}

async function readGuardedObject(client: ReturnType<typeof clientFor>): Promise<string> {
  const response = await client.request<string>({
    url: `${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`,
    responseType: "text",
  });
  return response.data;
}

describe("google-auth-library AwsClient against the emulator", () => {
  it("gets a federated token through IMDSv1 and reads the guarded object with it", async () => {
    const client = clientFor(emulator.credentialConfig({ source: "aws" }));
    const { token } = await client.getAccessToken();
    expect(token).toMatch(/^ya29\./);
    expect(await readGuardedObject(client)).toBe("hello from wifkit\n");
    expect(emulator.counters.get("aws.imds.token")).toBe(0);
    expect(emulator.counters.get("aws.imds.credentials")).toBe(1);
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("storage.get")).toBe(1);
  });

  it("gets a service account token through IMDSv2 and reads the guarded object with it", async () => {
    emulator.state.aws.imds.v2Only = true;
    try {
      const client = clientFor(
        emulator.credentialConfig({ source: "aws", imdsv2: true, serviceAccount: "wifkit-reader" }),
      );
      const { token } = await client.getAccessToken();
      expect(token).toMatch(/^ya29\.c\./);
      expect(await readGuardedObject(client)).toBe("hello from wifkit\n");
      expect(emulator.counters.get("aws.imds.token")).toBeGreaterThanOrEqual(1);
      expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
    } finally {
      emulator.state.aws.imds.v2Only = false;
    }
  });

  it("is refused by IMDS when v2 is required and the config has no session token URL", async () => {
    emulator.state.aws.imds.v2Only = true;
    try {
      const client = clientFor(emulator.credentialConfig({ source: "aws" }));
      await expect(client.getAccessToken()).rejects.toMatchObject({ status: 401 });
    } finally {
      emulator.state.aws.imds.v2Only = false;
    }
  });
});

describe("google-auth-library IdentityPoolClient (Azure IMDS URL source) against the emulator", () => {
  it("gets a federated token from an Entra token and reads the guarded object", async () => {
    const client = clientFor(emulator.credentialConfig({ source: "azure" }));
    const { token } = await client.getAccessToken();
    expect(token).toMatch(/^ya29\.d\./);
    expect(await readGuardedObject(client)).toBe("hello from wifkit\n");
    expect(emulator.counters.get("azure.imds.token")).toBe(1);
    expect(emulator.counters.get("entra.discovery")).toBeLessThanOrEqual(1);
  });

  it("gets a service account token for the Azure identity and reads the guarded object", async () => {
    const client = clientFor(emulator.credentialConfig({ source: "azure", serviceAccount: "wifkit-admin" }));
    const { token } = await client.getAccessToken();
    expect(token).toMatch(/^ya29\.c\./);
    // wifkit-admin has no read role on the bucket: the service account token is refused there.
    await expect(readGuardedObject(client)).rejects.toMatchObject({ status: 403 });
    const reader = clientFor(emulator.credentialConfig({ source: "azure", serviceAccount: "wifkit-reader" }));
    expect(await readGuardedObject(reader)).toBe("hello from wifkit\n");
  });
});
