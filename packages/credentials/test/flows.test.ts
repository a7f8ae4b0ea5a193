/**
 * The main flows against the emulator: a file-sourced and a URL-sourced OIDC token each reach a federated
 * token, a service account token and an ID token, and read the emulator's guarded object, through
 * `fromConfig` and through google-auth-library with `toAuthClient`.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { AuthClient, GoogleAuth } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chain,
  createExternalAccountCredentials,
  fromConfig,
  fromFile,
  fromUrl,
  SUBJECT_TOKEN_TYPES,
  toAuthClient,
} from "../src/index.js";
import {
  BUCKET_OBJECT,
  emulatorClock,
  federatedPrincipal,
  OBJECT_CONTENT,
  readGuardedObject,
  verifyIdToken,
} from "./emulator-helpers.js";
import { cleanup, tempDir } from "./helpers.js";

let emulator: Emulator;
const K8S_SUBJECT = "system:serviceaccount:default:wifkit";

beforeAll(async () => {
  emulator = await startEmulator();
  // Let the workload's own federated identity read the object too (direct resource access, no service account).
  emulator.reconfigure({
    storage: {
      buckets: {
        "wifkit-bucket": {
          bindings: {
            "roles/storage.objectViewer": [
              "serviceAccount:wifkit-reader@{projectId}.iam.gserviceaccount.com",
              federatedPrincipal(emulator, K8S_SUBJECT),
            ],
          },
        },
      },
    },
  });
});
afterAll(async () => {
  await cleanup();
  await emulator.stop();
});

describe.each(["file", "url"] as const)("a %s-sourced OIDC token", (source) => {
  it("reaches a federated token that reads the guarded object directly", async () => {
    const credentials = await fromConfig(emulator.credentialConfig({ source }), {
      allow: { origins: emulator.allowOrigins },
      clock: emulatorClock(emulator),
    });
    expect(credentials.principal.kind).toBe("federated");
    const token = await credentials.getAccessToken();
    expect(token.type).toBe("access_token");
    expect(token.expiresAt.getTime()).toBeGreaterThan(emulator.clock.now());
    const object = await readGuardedObject(emulator, await credentials.getRequestHeaders());
    expect(object).toEqual({ status: 200, body: OBJECT_CONTENT });
  });

  it("reaches a service account token and an ID token that verifies against Google's JWKS", async () => {
    const credentials = await fromConfig(
      emulator.credentialConfig({ source, serviceAccount: "wifkit-reader" }),
      {
        allow: { origins: emulator.allowOrigins },
        clock: emulatorClock(emulator),
      },
    );
    const email = emulator.serviceAccountEmail("wifkit-reader");
    expect(credentials.principal).toMatchObject({ kind: "service_account", serviceAccount: email });

    const object = await readGuardedObject(emulator, await credentials.getRequestHeaders());
    expect(object).toEqual({ status: 200, body: OBJECT_CONTENT });

    const audience = "https://my-service-abc123.a.run.app";
    const idToken = await credentials.getIdToken({ audience, includeEmail: true });
    expect(idToken.type).toBe("id_token");
    const { payload, protectedHeader } = await verifyIdToken(emulator, idToken.value, audience);
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload).toMatchObject({ aud: audience, email, email_verified: true });
    expect(idToken.expiresAt.getTime()).toBe((payload.exp as number) * 1000);

    const withoutEmail = await credentials.getIdToken({ audience });
    const verified = await verifyIdToken(emulator, withoutEmail.value, audience);
    expect(verified.payload.email).toBeUndefined();
  });
});

it("re-reads a rotated token file on the next refresh", async () => {
  const dir = await tempDir();
  const path = join(dir, "token");
  const audience = emulator.credentialConfig({ source: "file" }).audience;
  await writeFile(path, emulator.mintKubernetesToken({ audience: `https:${audience}` }));
  const credentials = await fromConfig(emulator.credentialConfig({ source: "file", file: path }), {
    allow: { origins: emulator.allowOrigins },
  });
  await credentials.getAccessToken();
  await writeFile(path, "not-a-jwt");
  const error = await credentials.getAccessToken({ forceRefresh: true }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: expect.stringMatching(/^ERR_WIF_STS_/) });
  await writeFile(path, emulator.mintKubernetesToken({ audience: `https:${audience}` }));
  await expect(credentials.getAccessToken({ forceRefresh: true })).resolves.toMatchObject({
    type: "access_token",
  });
});

it("composes a custom chain: a token file where one is mounted, else a local token URL", async () => {
  const config = emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" });
  const source = config.credential_source as { url: string };
  const dir = await tempDir();
  const supplier = chain(
    fromFile({ path: join(dir, "not-mounted-here") }),
    fromUrl({ url: source.url, format: { type: "json", subjectTokenFieldName: "token" } }),
  );
  const credentials = createExternalAccountCredentials({
    audience: config.audience,
    supplier,
    subjectTokenType: SUBJECT_TOKEN_TYPES.jwt,
    tokenUrl: config.token_url,
    serviceAccount: emulator.serviceAccountEmail("wifkit-reader"),
    iamCredentialsBaseUrl: emulator.urls.iamCredentials,
  });
  const object = await readGuardedObject(emulator, await credentials.getRequestHeaders());
  expect(object).toEqual({ status: 200, body: OBJECT_CONTENT });
  expect(emulator.counters.get("kubernetes.token")).toBeGreaterThan(0);
});

describe("google-auth-library through toAuthClient", () => {
  it("reads the guarded object with a real google-auth-library AuthClient", async () => {
    const credentials = await fromConfig(
      emulator.credentialConfig({ source: "file", serviceAccount: "wifkit-reader" }),
      {
        allow: { origins: emulator.allowOrigins },
      },
    );
    const client = toAuthClient(credentials, { AuthClient });
    const response = await client.request<string>({
      url: `${emulator.urls.storage}${BUCKET_OBJECT}`,
      responseType: "text",
    });
    expect(response.status).toBe(200);
    expect(response.data).toBe(OBJECT_CONTENT);

    const auth = new GoogleAuth({ authClient: client });
    const viaGoogleAuth = await auth.request<string>({
      url: `${emulator.urls.storage}${BUCKET_OBJECT}`,
      responseType: "text",
    });
    expect(viaGoogleAuth.data).toBe(OBJECT_CONTENT);
    expect(emulator.counters.get("storage.get")).toBeGreaterThanOrEqual(2);
  });
});
