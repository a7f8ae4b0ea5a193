/**
 * Google's own client libraries, unmodified, against a metadata server over a real credential (the
 * emulator's STS and IAM Credentials): Node's google-auth-library and gcp-metadata, and Python's google-auth
 * as gcloud bundles it. Each runs as a child process whose environment is what an app next to the server has.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromConfig } from "@wifkit/credentials";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMetadataServer,
  type MetadataServer,
  type MetadataServerAddress,
  metadataEnv,
} from "../src/index.js";
import { waitFor } from "./helpers.js";

const run = promisify(execFile);
const READER = "wifkit-reader@wifkit-demo.iam.gserviceaccount.com";
const AUDIENCE = "https://reports.example.run.app";
const GCLOUD_PYTHON = "/usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3";
const GCLOUD_THIRD_PARTY = "/usr/lib/google-cloud-sdk/lib/third_party";

let emulator: Emulator;
let home: string;
let server: MetadataServer;
let address: MetadataServerAddress;

beforeAll(async () => {
  emulator = await startEmulator();
  home = await mkdtemp(join(tmpdir(), "wif-metadata-clients-"));
  const credentials = await fromConfig(
    emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" }),
    { allow: { origins: emulator.allowOrigins } },
  );
  server = createMetadataServer({ credentials });
  address = await server.listen();
  await waitFor(() => server.ready);
});
afterAll(async () => {
  await server.close();
  await emulator.stop();
  await rm(home, { recursive: true, force: true });
});

/** The environment of an app pointed at the server, with nothing else that could give it credentials. */
function appEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    CLOUDSDK_CONFIG: join(home, "gcloud"),
    ...metadataEnv(address),
  };
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
}

async function readsGuardedObject(accessToken: string): Promise<string> {
  const object = await fetch(`${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`, {
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  return `${object.status} ${await object.text()}`;
}

describe("Google's client libraries against the metadata server", () => {
  it("Node: google-auth-library and gcp-metadata detect GCE and get the project, tokens and an ID token", async () => {
    const { stdout } = await run(
      process.execPath,
      [join(import.meta.dirname, "fixtures/google-client.mjs"), AUDIENCE],
      {
        env: appEnv(),
        cwd: join(import.meta.dirname, ".."),
        timeout: 20_000,
      },
    );
    const result = JSON.parse(stdout) as Record<string, unknown>;
    const account = {
      aliases: ["default"],
      email: READER,
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
    };
    expect(result).toMatchObject({
      isAvailable: true,
      projectIdFromMetadata: "wifkit-demo",
      numericProjectId: "123456789012",
      email: READER,
      universe: "googleapis.com",
      account,
      accounts: { default: account, [READER]: account },
      zone: "projects/123456789012/zones/unknown",
      attributes: "",
      clientType: "Compute",
      projectId: "wifkit-demo",
      universeDomain: "googleapis.com",
      environment: "COMPUTE_ENGINE",
    });
    expect(result.hostname).toBeTypeOf("string");
    expect(await readsGuardedObject(result.accessToken as string)).toBe("200 hello from wifkit\n");
    const idToken = result.fetchedIdToken as string;
    expect(result.idTokenHeader).toBe(`Bearer ${idToken}`);
    expect(claimsOf(idToken)).toMatchObject({
      aud: AUDIENCE,
      iss: "https://accounts.google.com",
      email: READER,
    });
  });

  it("Python: google-auth (bundled with gcloud) detects GCE, refreshes a token and gets an ID token", async (context) => {
    if (!existsSync(GCLOUD_PYTHON)) {
      console.log(`skipped: gcloud's bundled Python (${GCLOUD_PYTHON}) is not installed`);
      context.skip();
    }
    const { stdout } = await run(
      GCLOUD_PYTHON,
      [join(import.meta.dirname, "fixtures/python-client.py"), AUDIENCE],
      {
        env: { ...appEnv(), PYTHONPATH: GCLOUD_THIRD_PARTY },
        timeout: 30_000,
      },
    );
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      onGce: true,
      ping: true,
      credentialsType: "Credentials",
      project: "wifkit-demo",
      email: READER,
      universeDomain: "googleapis.com",
      info: {
        aliases: ["default"],
        email: READER,
        scopes: ["https://www.googleapis.com/auth/cloud-platform"],
      },
    });
    expect(await readsGuardedObject(result.accessToken as string)).toBe("200 hello from wifkit\n");
    expect(claimsOf(result.idToken as string)).toMatchObject({ aud: AUDIENCE, email: READER });
  });
});
