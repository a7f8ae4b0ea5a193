/**
 * Every AWS source reaches a Google federated token through `fromConfig` (issue 5): environment keys,
 * IMDSv1, IMDSv2, IMDS in v2-only mode refusing v1, the ECS / EKS Pod Identity container endpoint with a
 * token file, and EKS IRSA web identity. The emulator's env helpers give each workload its environment.
 */

import { awsSupplier } from "@wifkit/aws-supplier";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FromConfigOptions, fromConfig as fromConfigWith } from "../src/index.js";

/** The AWS supplier registered, as an AWS-only application does. */
const fromConfig = (config: Parameters<typeof fromConfigWith>[0], options: FromConfigOptions = {}) =>
  fromConfigWith(config, { suppliers: [awsSupplier], ...options });

import { emulatorClock, OBJECT_CONTENT, readGuardedObject } from "./emulator-helpers.js";

let emulator: Emulator;
beforeEach(async () => {
  emulator = await startEmulator();
});
afterEach(async () => {
  await emulator.stop();
});

async function awsCredentials(
  env: Record<string, string>,
  options: { imdsv2?: boolean; serviceAccount?: string } = {},
) {
  return fromConfig(emulator.credentialConfig({ source: "aws", ...options }), {
    allow: { origins: emulator.allowOrigins },
    env,
    clock: emulatorClock(emulator),
  });
}

describe("AWS sources reach a Google federated token", () => {
  it("environment variables (static keys)", async () => {
    const credentials = await awsCredentials(emulator.awsEnv({ source: "static" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("aws.imds.credentials")).toBe(0);
  });

  it("IMDSv1, when the instance offers no IMDSv2 session tokens", async () => {
    emulator.faults.inject("aws.imds.token", { status: 404, forMs: 60 * 60_000 });
    const credentials = await awsCredentials(emulator.awsEnv({ source: "imds" }));
    const token = await credentials.getAccessToken();
    expect(token.type).toBe("access_token");
    expect(emulator.counters.get("aws.imds.credentials")).toBeGreaterThan(0);
    expect(emulator.counters.get("sts.token")).toBe(1);
    // The EC2 role is bound to the bucket: the federated token reads the object directly.
    expect(await readGuardedObject(emulator, await credentials.getRequestHeaders())).toEqual({
      status: 200,
      body: OBJECT_CONTENT,
    });
  });

  it("IMDSv2, as configured with imdsv2_session_token_url", async () => {
    const credentials = await awsCredentials(emulator.awsEnv({ source: "imds" }), {
      imdsv2: true,
      serviceAccount: "wifkit-admin",
    });
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("aws.imds.token")).toBeGreaterThan(0);
    expect(emulator.counters.get("aws.imds.credentials")).toBeGreaterThan(0);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  });

  it("IMDS in v2-only mode: v2 works, and a fall back to v1 is refused", async () => {
    emulator.reconfigure({ aws: { imds: { v2Only: true } } });
    const working = await awsCredentials(emulator.awsEnv({ source: "imds" }));
    await expect(working.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("aws.imds.token")).toBeGreaterThan(0);

    // IMDSv2 session tokens become unavailable. Told that v1 is disabled, the client does not try it...
    emulator.faults.inject("aws.imds.token", { status: 404, forMs: 60 * 60_000 });
    emulator.counters.reset();
    const env = emulator.awsEnv({ source: "imds" });
    expect(env.AWS_EC2_METADATA_V1_DISABLED).toBe("true");
    const refusedByClient = await (await awsCredentials(env)).getAccessToken().catch((e: unknown) => e);
    expect(refusedByClient).toMatchObject({ code: expect.stringMatching(/^ERR_WIF_AWS_/) });
    expect(emulator.counters.get("aws.imds.credentials")).toBe(0);

    // ...and when it does fall back to v1, the v2-only instance refuses it (401).
    const { AWS_EC2_METADATA_V1_DISABLED: _, ...withoutSwitch } = env;
    const refusedByImds = await (await awsCredentials(withoutSwitch))
      .getAccessToken()
      .catch((e: unknown) => e);
    expect(refusedByImds).toMatchObject({ code: expect.stringMatching(/^ERR_WIF_AWS_/), status: 401 });
    expect(emulator.counters.get("sts.token")).toBe(0);
  });

  it("the container endpoint with an authorization token file (EKS Pod Identity)", async () => {
    const credentials = await awsCredentials(emulator.awsEnv({ source: "pod-identity" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("aws.container.credentials")).toBe(1);
    expect(emulator.counters.get("aws.imds.credentials")).toBe(0);
  });

  it("the container endpoint with an authorization token (ECS)", async () => {
    const credentials = await awsCredentials(emulator.awsEnv({ source: "container" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("aws.container.credentials")).toBe(1);
  });

  it("IRSA web identity (AssumeRoleWithWebIdentity)", async () => {
    const credentials = await awsCredentials(emulator.awsEnv({ source: "web-identity" }));
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("aws.sts.assumeRoleWithWebIdentity")).toBe(1);
    expect(emulator.counters.get("aws.imds.credentials")).toBe(0);
  });

  it("explicit AWS credentials passed through fromConfig's aws option", async () => {
    const user = emulator.awsCredentials("user");
    const credentials = await fromConfig(emulator.credentialConfig({ source: "aws" }), {
      allow: { origins: emulator.allowOrigins },
      env: {},
      aws: {
        region: "us-east-1",
        credentials: async () => ({ accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey }),
      },
    });
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(emulator.counters.get("aws.imds.credentials")).toBe(0);
    const [header] = [(await credentials.getRequestHeaders()).Authorization];
    expect(header).toMatch(/^Bearer /);
  });
});
