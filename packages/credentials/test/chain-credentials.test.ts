/**
 * A chain across clouds inside one credential, against the emulator: AWS, then Azure, then a token file,
 * each link with its own audience and subject token type. The metadata address is simulated per link: the
 * other cloud's emulated IMDS answers there (AWS first on Azure, Azure first on AWS), or a server that
 * accepts connections and never answers (neither cloud). The winner's token works through `toAuthClient`
 * and google-auth-library.
 */

import { awsSupplier } from "@wifkit/aws-supplier";
import { azureSupplier } from "@wifkit/azure-supplier";
import type { ExternalAccountConfig } from "@wifkit/config";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { AuthClient, GoogleAuth } from "google-auth-library";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startBlackHole } from "../../../tooling/test-server.js";
import {
  type Credentials,
  chainCredentials,
  type FromConfigOptions,
  fromConfig,
  toAuthClient,
} from "../src/index.js";
import { BUCKET_OBJECT, emulatorClock, OBJECT_CONTENT } from "./emulator-helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.counters.reset();
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A metadata address where a server accepts connections and never answers. */
async function blackHole() {
  const hole = await startBlackHole();
  closers.push(hole.close);
  return hole;
}

/** The config with its metadata URLs moved to `to`: what a gcloud config naming 169.254.169.254 meets there. */
function metadataAt(config: ExternalAccountConfig, from: string, to: string): ExternalAccountConfig {
  return JSON.parse(JSON.stringify(config).replaceAll(from, to)) as ExternalAccountConfig;
}

async function link(config: ExternalAccountConfig, options: FromConfigOptions, extraOrigins: string[] = []) {
  return fromConfig(config, {
    allow: { origins: [...emulator.allowOrigins, ...extraOrigins] },
    clock: emulatorClock(emulator),
    suppliers: [awsSupplier, azureSupplier],
    ...options,
  });
}

/** Reads the guarded object through google-auth-library, with the credential as its AuthClient. */
async function readThroughGoogleAuth(credentials: Credentials): Promise<string> {
  const auth = new GoogleAuth({ authClient: toAuthClient(credentials, { AuthClient }) });
  const response = await auth.request<string>({
    url: `${emulator.urls.storage}${BUCKET_OBJECT}`,
    responseType: "text",
  });
  return response.data;
}

describe("chainCredentials across clouds", () => {
  it("AWS first on Azure: AWS is not here (Azure's IMDS answers), Azure wins, the file is never used", async () => {
    const aws = await link(
      metadataAt(
        emulator.credentialConfig({ source: "aws" }),
        emulator.urls.awsImds,
        emulator.urls.azureImds,
      ),
      { env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: emulator.urls.azureImds } },
    );
    const azure = await link(emulator.credentialConfig({ source: "azure" }), {
      env: emulator.azureEnv({ source: "imds" }),
    });
    const file = await link(
      emulator.credentialConfig({ source: "file", serviceAccount: "wifkit-reader" }),
      {},
    );
    const credentials = chainCredentials(aws, azure, file);

    expect(await readThroughGoogleAuth(credentials)).toBe(OBJECT_CONTENT);
    expect(credentials.activeLink()).toBe(azure);
    // AWS: one GET (the config asks for IMDSv1), a 404 from Azure's IMDS; then Azure's probe and one token,
    // one exchange.
    expect(emulator.counters.get("azure.imds.notFound")).toBe(1);
    expect(emulator.counters.get("azure.imds.token")).toBe(2);
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(0);
    expect(credentials.principal).toEqual(azure.principal);
  });

  it("Azure first on AWS: Azure is not here (EC2's IMDS answers its probe), AWS wins", async () => {
    const azure = await link(
      metadataAt(
        emulator.credentialConfig({ source: "azure" }),
        emulator.urls.azureImds,
        emulator.urls.awsImds,
      ),
      { env: {} },
    );
    const aws = await link(emulator.credentialConfig({ source: "aws" }), {
      env: emulator.awsEnv({ source: "imds" }),
    });
    const credentials = chainCredentials(azure, aws);

    expect(await readThroughGoogleAuth(credentials)).toBe(OBJECT_CONTENT);
    expect(credentials.activeLink()).toBe(aws);
    expect(emulator.counters.get("aws.imds.notFound")).toBe(1);
    expect(emulator.counters.get("aws.imds.credentials")).toBe(1);
    expect(emulator.counters.get("sts.token")).toBe(1);
  });

  it("neither cloud (both metadata addresses black-holed): one probe each, then the file link, for good", async () => {
    const awsHole = await blackHole();
    const azureHole = await blackHole();
    const aws = await link(
      metadataAt(emulator.credentialConfig({ source: "aws" }), emulator.urls.awsImds, awsHole.origin),
      { env: {}, timeoutMs: 200 },
      [awsHole.origin],
    );
    const azure = await link(
      metadataAt(emulator.credentialConfig({ source: "azure" }), emulator.urls.azureImds, azureHole.origin),
      { env: {}, azure: { probeTimeoutMs: 200 } },
      [azureHole.origin],
    );
    const file = await link(
      emulator.credentialConfig({ source: "file", serviceAccount: "wifkit-reader" }),
      {},
    );
    const credentials = chainCredentials(aws, azure, file);

    expect(await readThroughGoogleAuth(credentials)).toBe(OBJECT_CONTENT);
    expect(credentials.activeLink()).toBe(file);
    expect([awsHole.connections(), azureHole.connections()]).toEqual([1, 1]);
    // Fresh tokens later: straight to the file link, no metadata address is probed again.
    await credentials.getAccessToken({ forceRefresh: true });
    await credentials.getIdToken({ audience: "https://service.example", forceRefresh: true });
    expect([awsHole.connections(), azureHole.connections()]).toEqual([1, 1]);
    expect(emulator.counters.get("iam.generateIdToken")).toBe(1);
  });

  it("stops at a link that applies and fails: on AWS without a role, the file link is not tried", async () => {
    emulator.faults.inject("aws.imds.roleName", { status: 404, times: 10 });
    const aws = await link(emulator.credentialConfig({ source: "aws", imdsv2: true }), {
      env: emulator.awsEnv({ source: "imds" }),
    });
    const file = await link(
      emulator.credentialConfig({ source: "file", serviceAccount: "wifkit-reader" }),
      {},
    );
    await expect(chainCredentials(aws, file).getAccessToken()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_NO_ROLE",
    });
    expect(emulator.counters.get("sts.token")).toBe(0);
    emulator.faults.clear();
  });
});
