import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fakeGoogle, manualClock } from "../test/helpers.js";
import { createExternalAccountCredentials } from "./credentials.js";
import { fromSupplier } from "./suppliers/programmatic.js";
import { WIFKIT_VERSION } from "./version.js";

afterEach(cleanup);

const AUDIENCE =
  "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/oidc";
const WORKFORCE = "//iam.googleapis.com/locations/global/workforcePools/staff/providers/okta";
const SA = "app@proj.iam.gserviceaccount.com";
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
const fast = { baseDelayMs: 1, maxDelayMs: 5 };

function countingSupplier() {
  let calls = 0;
  const supplier = fromSupplier({
    type: SUBJECT_TOKEN_TYPES.jwt,
    getSubjectToken: () => `subject-${++calls}`,
  });
  return { supplier, calls: () => calls };
}

describe("createExternalAccountCredentials without impersonation", () => {
  it("exchanges the subject token at STS exactly as Google's libraries do and caches the result", async () => {
    const google = await fakeGoogle();
    const { supplier, calls } = countingSupplier();
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier,
      tokenUrl: `${google.origin}/v1/token`,
      sourceKind: "file",
    });
    const token = await credentials.getAccessToken();
    expect(token).toMatchObject({ value: "federated-1", type: "access_token" });
    expect(await credentials.getAccessToken()).toBe(token);
    expect(calls()).toBe(1);

    const [sts] = google.calls("/v1/token");
    expect(Object.fromEntries(new URLSearchParams(sts?.body))).toEqual({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      audience: AUDIENCE,
      scope: CLOUD_PLATFORM,
      requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
      subject_token: "subject-1",
      subject_token_type: SUBJECT_TOKEN_TYPES.jwt,
    });
    expect(sts?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(sts?.headers.authorization).toBeUndefined();
    expect(sts?.headers["x-goog-api-client"]).toBe(
      `gl-node/${process.versions.node} auth/${WIFKIT_VERSION} google-byoid-sdk source/file sa-impersonation/false config-lifetime/false`,
    );
    expect(credentials.principal).toEqual({
      kind: "federated",
      audience: AUDIENCE,
      description: `federated identity from ${AUDIENCE}`,
    });
  });

  it("keeps one token per scope set, whatever the order", async () => {
    const google = await fakeGoogle();
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
    });
    const a = await credentials.getAccessToken({ scopes: ["https://x/b", "https://x/a"] });
    const b = await credentials.getAccessToken({ scopes: ["https://x/a", "https://x/b", "https://x/a"] });
    const c = await credentials.getAccessToken();
    expect(b).toBe(a);
    expect(c.value).not.toBe(a.value);
    const scopes = google.calls("/v1/token").map((r) => new URLSearchParams(r.body).get("scope"));
    expect(scopes).toEqual(["https://x/a https://x/b", CLOUD_PLATFORM]);
    expect(credentials.peekAccessToken(["https://x/a", "https://x/b"])).toBe(a);
  });

  it("says ID tokens need a service account", async () => {
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: "http://127.0.0.1:1/v1/token",
    });
    const error = await credentials.getIdToken({ audience: "https://svc" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_ID_TOKEN_NEEDS_IMPERSONATION" });
    expect((error as Error).message).toContain("service_account_impersonation_url");
  });

  it("adds x-goog-user-project from the option, else GOOGLE_CLOUD_QUOTA_PROJECT", async () => {
    const google = await fakeGoogle();
    const base = {
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
    };
    const fromEnv = createExternalAccountCredentials({
      ...base,
      env: { GOOGLE_CLOUD_QUOTA_PROJECT: "billing-env" },
    });
    expect(await fromEnv.getRequestHeaders()).toEqual({
      Authorization: "Bearer federated-1",
      "x-goog-user-project": "billing-env",
    });
    const explicit = createExternalAccountCredentials({
      ...base,
      quotaProjectId: "billing-option",
      env: { GOOGLE_CLOUD_QUOTA_PROJECT: "billing-env" },
    });
    expect((await explicit.getRequestHeaders())["x-goog-user-project"]).toBe("billing-option");
    const none = createExternalAccountCredentials({ ...base, env: {} });
    expect(Object.keys(await none.getRequestHeaders())).toEqual(["Authorization"]);
  });

  it("sends userProject for workforce pools, and Basic client auth instead when a client is configured", async () => {
    const google = await fakeGoogle();
    const base = {
      audience: WORKFORCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
    };
    await createExternalAccountCredentials({ ...base, workforcePoolUserProject: "proj-1" }).getAccessToken();
    await createExternalAccountCredentials({
      ...base,
      workforcePoolUserProject: "proj-1",
      clientId: "client",
      clientSecret: "s3cret",
    }).getAccessToken();
    const [plain, withClient] = google.calls("/v1/token");
    expect(new URLSearchParams(plain?.body).get("options")).toBe('{"userProject":"proj-1"}');
    expect(plain?.headers.authorization).toBeUndefined();
    expect(new URLSearchParams(withClient?.body).get("options")).toBeNull();
    expect(withClient?.headers.authorization).toBe(
      `Basic ${Buffer.from("client:s3cret").toString("base64")}`,
    );
  });
});

describe("createExternalAccountCredentials with impersonation", () => {
  it("exchanges for cloud-platform, impersonates with the caller's scopes and lifetime", async () => {
    const google = await fakeGoogle();
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
      serviceAccount: SA,
      iamCredentialsBaseUrl: google.origin,
      tokenLifetimeSeconds: 1800,
      sourceKind: "url",
    });
    const token = await credentials.getAccessToken({
      scopes: ["https://www.googleapis.com/auth/devstorage.read_only"],
    });
    expect(token.value).toBe("sa-2");
    const [sts] = google.calls("/v1/token");
    expect(new URLSearchParams(sts?.body).get("scope")).toBe(CLOUD_PLATFORM);
    expect(sts?.headers["x-goog-api-client"]).toContain(
      "source/url sa-impersonation/true config-lifetime/true",
    );
    const [iam] = google.calls(":generateAccessToken");
    expect(iam?.path).toBe(`/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`);
    expect(iam?.headers.authorization).toBe("Bearer federated-1");
    expect(JSON.parse(iam?.body ?? "")).toEqual({
      scope: ["https://www.googleapis.com/auth/devstorage.read_only"],
      lifetime: "1800s",
    });
    expect(credentials.principal).toMatchObject({
      kind: "service_account",
      serviceAccount: SA,
      audience: AUDIENCE,
    });
  });

  it("shares one federated token between scope sets and ID token audiences", async () => {
    const google = await fakeGoogle();
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
      serviceAccount: SA,
      iamCredentialsBaseUrl: google.origin,
    });
    await credentials.getAccessToken();
    await credentials.getAccessToken({ scopes: ["https://x/other"] });
    const id1 = await credentials.getIdToken({ audience: "https://svc-a" });
    const id2 = await credentials.getIdToken({ audience: "https://svc-a" });
    const id3 = await credentials.getIdToken({ audience: "https://svc-a", includeEmail: true });
    expect(id2).toBe(id1);
    expect(id3.value).not.toBe(id1.value);
    expect(id1.type).toBe("id_token");
    expect(google.calls("/v1/token")).toHaveLength(1);
    expect(google.calls(":generateAccessToken")).toHaveLength(2);
    expect(google.calls(":generateIdToken").map((r) => JSON.parse(r.body))).toEqual([
      { audience: "https://svc-a", includeEmail: false },
      { audience: "https://svc-a", includeEmail: true },
    ]);
  });

  it("refreshes in the background once the clock passes the refresh point, serving the valid token meanwhile", async () => {
    const clock = manualClock();
    const google = await fakeGoogle({ now: clock.now });
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
      serviceAccount: SA,
      iamCredentialsBaseUrl: google.origin,
      clock,
    });
    const first = await credentials.getAccessToken();
    clock.advance(56 * 60_000);
    expect(await credentials.getAccessToken()).toBe(first);
    await expect.poll(() => google.calls(":generateAccessToken").length).toBe(2);
    await expect.poll(() => credentials.peekAccessToken()?.value).not.toBe(first.value);
    expect(google.calls("/v1/token")).toHaveLength(2);
  });

  it("forceRefresh fetches a new federated and service account token", async () => {
    const google = await fakeGoogle();
    const { supplier, calls } = countingSupplier();
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier,
      tokenUrl: `${google.origin}/v1/token`,
      serviceAccount: SA,
      iamCredentialsBaseUrl: google.origin,
    });
    const first = await credentials.getAccessToken();
    const second = await credentials.getAccessToken({ forceRefresh: true });
    expect(second.value).not.toBe(first.value);
    expect(calls()).toBe(2);
    expect(google.calls("/v1/token")).toHaveLength(2);
  });

  it("tells onRefresh and onError which kind of token each event is about", async () => {
    const google = await fakeGoogle();
    const refreshed: Array<{ tokenType: string; key: string | undefined }> = [];
    const failed: Array<{ tokenType: string; key: string | undefined; servingCachedToken: boolean }> = [];
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
      serviceAccount: SA,
      iamCredentialsBaseUrl: google.origin,
      retry: false,
      onRefresh: ({ tokenType, key }) => refreshed.push({ tokenType, key }),
      onError: ({ tokenType, key, servingCachedToken }) =>
        failed.push({ tokenType, key, servingCachedToken }),
    });
    await credentials.getAccessToken();
    await credentials.getIdToken({ audience: "https://svc-a" });
    google.failNext(":generateIdToken", 503);
    await expect(credentials.getIdToken({ audience: "https://svc-b" })).rejects.toThrow();
    google.failNext(":generateAccessToken", 503);
    await expect(credentials.getAccessToken({ scopes: ["https://x/a"] })).rejects.toThrow();
    expect(refreshed.map((event) => event.tokenType)).toEqual(["access_token", "id_token"]);
    expect(refreshed[0]?.key).toBe(CLOUD_PLATFORM);
    expect(refreshed[1]?.key).toContain("https://svc-a");
    expect(failed.map((event) => event.tokenType)).toEqual(["id_token", "access_token"]);
    expect(failed[0]?.key).toContain("https://svc-b");
    expect(failed[1]).toMatchObject({ key: "https://x/a", servingCachedToken: false });
  });

  it("retries transient STS and IAM failures", async () => {
    const google = await fakeGoogle();
    google.failNext("/v1/token", 503, 429);
    google.failNext(":generateAccessToken", 500);
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
      serviceAccount: SA,
      iamCredentialsBaseUrl: google.origin,
      retry: fast,
    });
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(google.calls("/v1/token")).toHaveLength(3);
    expect(google.calls(":generateAccessToken")).toHaveLength(2);
  });

  it("bounds a call by its timeoutMs", async () => {
    const google = await fakeGoogle();
    google.failNext("/v1/token", "hang");
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
      retry: false,
    });
    const error = await credentials.getAccessToken({ timeoutMs: 150 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
    expect((error as Error).message).toContain("150 ms");
  });

  it("stops waiting when the caller aborts", async () => {
    const google = await fakeGoogle();
    google.failNext("/v1/token", "hang");
    const credentials = createExternalAccountCredentials({
      audience: AUDIENCE,
      supplier: countingSupplier().supplier,
      tokenUrl: `${google.origin}/v1/token`,
      retry: false,
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await credentials.getAccessToken({ signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_ABORTED" });
  });
});
