/**
 * Integration tests against the emulator, over real HTTP on 127.0.0.1: an emulator-minted OIDC token is
 * exchanged at STS, the federated token impersonates a service account (access and ID tokens), the access
 * token reads the emulator's guarded object, the ID token verifies against the emulator's Google JWKS, and
 * IAM's refusals map to their codes.
 */

import { type Emulator, startEmulator } from "@wifkit/emulator";
import { httpRequest } from "@wifkit/http";
import { exchangeToken } from "@wifkit/sts-client";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  generateAccessToken,
  generateIdToken,
  type ImpersonationError,
  parseImpersonationUrl,
} from "../src/index.js";

let emulator: Emulator;
let federatedToken: string;
let reader: { baseUrl: string; serviceAccount: string };

const KUBERNETES_SUBJECT = "system:serviceaccount:default:wifkit";
const SCOPES = ["https://www.googleapis.com/auth/cloud-platform"];
const fast = { baseDelayMs: 1, maxDelayMs: 5 };

beforeAll(async () => {
  emulator = await startEmulator();
  const audience = emulator.providerAudience("oidc-provider");
  const federated = await exchangeToken({
    tokenUrl: `${emulator.urls.sts}/v1/token`,
    audience,
    subjectToken: emulator.mintKubernetesToken({ audience: `https:${audience}` }),
    subjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
  });
  federatedToken = federated.accessToken;
  const config = emulator.credentialConfig({ source: "file", serviceAccount: "wifkit-reader" });
  if (!config.service_account_impersonation_url)
    throw new Error("the emulator config has no impersonation URL");
  reader = parseImpersonationUrl(config.service_account_impersonation_url);
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  emulator.faults.clear();
  emulator.counters.reset();
});

const principal = () =>
  `principal://iam.googleapis.com/projects/${emulator.state.projectNumber}/locations/global/workloadIdentityPools/wifkit-pool/subject/${KUBERNETES_SUBJECT}`;

async function rejection(promise: Promise<unknown>): Promise<ImpersonationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as ImpersonationError;
}

describe("impersonation against the emulator", () => {
  it("parses the emulator config's impersonation URL", () => {
    expect(reader).toEqual({
      baseUrl: emulator.urls.iamCredentials,
      serviceAccount: emulator.serviceAccountEmail("wifkit-reader"),
    });
  });

  it("mints a service account token that reads the guarded object", async () => {
    const started = Date.now();
    const { accessToken, expiresAt } = await generateAccessToken({
      ...reader,
      bearer: federatedToken,
      scopes: SCOPES,
    });
    expect(expiresAt.getTime()).toBeGreaterThan(started + 59 * 60 * 1000);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(emulator.clock.now() + 3600 * 1000);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);

    const object = await httpRequest({
      url: `${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`,
      headers: { authorization: `Bearer ${accessToken}` },
      retry: false,
    });
    expect(object.status).toBe(200);
    expect(object.body.toString("utf8")).toBe("hello from wifkit\n");
  });

  it("mints an ID token that verifies against the emulator's Google JWKS", async () => {
    const audience = "https://wifkit-service.example.run.app";
    const { idToken, expiresAt } = await generateIdToken({
      ...reader,
      bearer: federatedToken,
      audience,
      includeEmail: true,
    });
    const jwks = createRemoteJWKSet(new URL(`${emulator.urls.googleCerts}/oauth2/v3/certs`));
    const { payload } = await jwtVerify(idToken, jwks, {
      issuer: "https://accounts.google.com",
      audience,
      currentDate: new Date(emulator.clock.now()),
    });
    expect(payload.email).toBe(reader.serviceAccount);
    expect(expiresAt).toEqual(new Date((payload.exp ?? 0) * 1000));
  });

  it("names the principal and the missing binding when IAM says 403", async () => {
    const admin = emulator.serviceAccountEmail("wifkit-admin");
    const error = await rejection(
      generateAccessToken({
        baseUrl: reader.baseUrl,
        serviceAccount: admin,
        bearer: federatedToken,
        scopes: SCOPES,
        principal: principal(),
      }),
    );
    expect(error.code).toBe("ERR_WIF_IAM_PERMISSION_DENIED");
    expect(error.status).toBe(403);
    expect(error.permission).toBe("iam.serviceAccounts.getAccessToken");
    expect(error.message).toContain(
      `${principal()} needs roles/iam.workloadIdentityUser on service account ${admin}`,
    );
    expect(error.message).not.toContain(federatedToken);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  });

  it("names the real project number, pool and subject from the audience when no principal is given", async () => {
    const admin = emulator.serviceAccountEmail("wifkit-admin");
    const audience = emulator.providerAudience("oidc-provider");
    const init = { baseUrl: reader.baseUrl, serviceAccount: admin, bearer: federatedToken, scopes: SCOPES };
    const bySubject = await rejection(
      generateAccessToken({ ...init, audience, subject: KUBERNETES_SUBJECT }),
    );
    const command = `gcloud iam service-accounts add-iam-policy-binding ${admin} --role=roles/iam.workloadIdentityUser --member="${principal()}"`;
    expect(bySubject.code).toBe("ERR_WIF_IAM_PERMISSION_DENIED");
    expect(bySubject.fix).toBe(command);
    expect(bySubject.message).toContain(command);
    expect(bySubject.message).not.toMatch(/PROJECT_NUMBER|POOL_ID|SUBJECT\b/);

    const byPool = await rejection(generateAccessToken({ ...init, audience }));
    const poolSet = `principalSet://iam.googleapis.com/projects/${emulator.state.projectNumber}/locations/global/workloadIdentityPools/wifkit-pool/*`;
    expect(byPool.fix).toBe(
      `gcloud iam service-accounts add-iam-policy-binding ${admin} --role=roles/iam.workloadIdentityUser --member="${poolSet}"`,
    );
    expect(byPool.message).toContain("every identity of the pool");

    // The command works: run its API call, and the same request succeeds.
    emulator.reconfigure({
      serviceAccounts: { "wifkit-admin": { bindings: { "roles/iam.workloadIdentityUser": [principal()] } } },
    });
    const minted = await generateAccessToken({ ...init, audience, subject: KUBERNETES_SUBJECT });
    expect(minted.accessToken).toMatch(/^ya29\./);
  });

  it("maps SERVICE_DISABLED to ERR_WIF_SERVICE_DISABLED with the enable command, not a binding hint", async () => {
    emulator.reconfigure({ services: { "iamcredentials.googleapis.com": false } });
    try {
      const error = await rejection(
        generateAccessToken({
          baseUrl: reader.baseUrl,
          serviceAccount: reader.serviceAccount,
          bearer: federatedToken,
          scopes: SCOPES,
          audience: emulator.providerAudience("oidc-provider"),
        }),
      );
      const command = `gcloud services enable iamcredentials.googleapis.com --project=${emulator.state.projectNumber}`;
      expect(error.code).toBe("ERR_WIF_SERVICE_DISABLED");
      expect(error.status).toBe(403);
      expect(error.reason).toBe("SERVICE_DISABLED");
      expect(error.fix).toBe(command);
      expect(error.message).toContain(
        `the IAM Service Account Credentials API (iamcredentials.googleapis.com) is not enabled in project ${emulator.state.projectNumber}. Enable it: ${command}`,
      );
      expect(error.message).not.toContain("workloadIdentityUser");
      expect(error.message).not.toContain(federatedToken);
    } finally {
      emulator.reconfigure({ services: { "iamcredentials.googleapis.com": true } });
    }
  });

  it("maps an unknown service account to ERR_WIF_IAM_NOT_FOUND", async () => {
    const error = await rejection(
      generateAccessToken({
        baseUrl: reader.baseUrl,
        serviceAccount: `nobody@${emulator.state.projectId}.iam.gserviceaccount.com`,
        bearer: federatedToken,
        scopes: SCOPES,
      }),
    );
    expect(error.code).toBe("ERR_WIF_IAM_NOT_FOUND");
  });

  it("maps a bearer IAM does not know to ERR_WIF_IAM_UNAUTHENTICATED", async () => {
    const error = await rejection(
      generateIdToken({
        ...reader,
        bearer: "ya29.not-a-token-the-emulator-issued",
        audience: "https://x.example",
      }),
    );
    expect(error.code).toBe("ERR_WIF_IAM_UNAUTHENTICATED");
    expect(error.message).not.toContain("ya29.not-a-token-the-emulator-issued");
  });

  it("maps a lifetime over the allowed maximum to ERR_WIF_IAM_BAD_REQUEST with the org policy hint", async () => {
    const error = await rejection(
      generateAccessToken({ ...reader, bearer: federatedToken, scopes: SCOPES, lifetimeSeconds: 7200 }),
    );
    expect(error.code).toBe("ERR_WIF_IAM_BAD_REQUEST");
    expect(error.upstreamError).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("constraints/iam.allowServiceAccountCredentialLifetimeExtension");
  });

  it("retries a 503 and a 429 with Retry-After, then succeeds", async () => {
    emulator.faults.inject("iam.generateAccessToken", { status: 503 });
    emulator.faults.inject("iam.generateAccessToken", { retryAfterSeconds: 1 });
    const { accessToken } = await generateAccessToken({
      ...reader,
      bearer: federatedToken,
      scopes: SCOPES,
      retry: fast,
    });
    expect(accessToken.length).toBeGreaterThan(0);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(3);
  });

  it("times out a hanging IAM Credentials", async () => {
    emulator.faults.inject("iam.generateIdToken", { delayMs: 2_000 });
    const error = await rejection(
      generateIdToken({
        ...reader,
        bearer: federatedToken,
        audience: "https://x.example",
        timeoutMs: 200,
        retry: false,
      }),
    );
    expect(error.code).toBe("ERR_WIF_TIMEOUT");
  });
});
