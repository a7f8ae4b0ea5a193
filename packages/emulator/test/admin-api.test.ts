/**
 * The admin APIs at the HTTP level (what gcloud sends, without gcloud's start-up cost): the empty
 * project, the state file, operations, etag conflicts, the gates, and Google's 403 bodies for a disabled
 * API and a missing binding, which client packages read.
 */
import { readFileSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMPTY_EMULATOR_CONFIG, type Emulator, startEmulator } from "../src/index.js";
import { bearer, call, federatedToken, oidcExchange, postJson } from "./helpers.js";

let emulator: Emulator;
let admin: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator();
  admin = bearer(emulator.gcloudEnv().CLOUDSDK_AUTH_ACCESS_TOKEN!);
});
afterAll(() => emulator.stop());

const POOLS = "/v1/projects/wifkit-demo/locations/global/workloadIdentityPools";

function iam(path: string, init: { method?: "GET" | "POST" | "PUT"; body?: unknown } = {}) {
  return call(`${emulator.urls.iam}${path}`, {
    method: init.method ?? "GET",
    headers: { ...admin, "content-type": "application/json" },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

/** DELETE and PATCH are not in the test helper's methods; a raw fetch does them. */
async function send(method: "DELETE" | "PATCH", path: string, body?: unknown) {
  const response = await fetch(`${emulator.urls.iam}${path}`, {
    method,
    headers: { ...admin, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON documents field by field.
  return { status: response.status, json: (await response.json()) as any };
}

describe("gates", () => {
  it("answers 401 without an emulator-issued token and 403 for another project", async () => {
    const anonymous = await call(`${emulator.urls.iam}${POOLS}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json().error.status).toBe("UNAUTHENTICATED");
    const other = await iam("/v1/projects/someone-else/locations/global/workloadIdentityPools");
    expect(other.status).toBe(403);
    const byNumber = await iam("/v1/projects/123456789012/locations/global/workloadIdentityPools");
    expect(byNumber.json().workloadIdentityPools[0].name).toBe(
      "projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool",
    );
    const regional = await iam("/v1/projects/wifkit-demo/locations/us-east1/workloadIdentityPools");
    expect(regional.json().error.message).toMatch(/only supported location .* is global/);
  });
});

describe("pools, providers and operations", () => {
  it("returns finished operations carrying the resource, readable again by name", async () => {
    const created = await iam(`${POOLS}?workloadIdentityPoolId=ops-pool`, {
      method: "POST",
      body: { displayName: "Ops" },
    });
    expect(created.json()).toMatchObject({
      name: expect.stringMatching(
        /^projects\/123456789012\/locations\/global\/workloadIdentityPools\/ops-pool\/operations\/\w+$/,
      ),
      done: true,
      response: {
        "@type": "type.googleapis.com/google.iam.v1.WorkloadIdentityPool",
        name: "projects/123456789012/locations/global/workloadIdentityPools/ops-pool",
        displayName: "Ops",
        state: "ACTIVE",
      },
    });
    const again = await iam(`/v1/${created.json().name}`);
    expect(again.json()).toEqual(created.json());
    expect((await iam(`${POOLS}?workloadIdentityPoolId=ops-pool`, { method: "POST", body: {} })).status).toBe(
      409,
    );
  });

  it("a deleted or disabled pool refuses exchanges; undelete and enable restore them", async () => {
    const token = () => emulator.mintEntraToken();
    expect((await oidcExchange(emulator, token())).status).toBe(200);
    expect((await send("DELETE", `${POOLS}/wifkit-pool`)).json.response.state).toBe("DELETED");
    expect((await oidcExchange(emulator, token())).json()).toMatchObject({ error: "invalid_target" });
    await iam(`${POOLS}/wifkit-pool:undelete`, { method: "POST", body: {} });
    expect((await oidcExchange(emulator, token())).status).toBe(200);
    await send("PATCH", `${POOLS}/wifkit-pool?updateMask=disabled`, { disabled: true });
    expect((await oidcExchange(emulator, token())).json()).toMatchObject({ error: "invalid_target" });
    await send("PATCH", `${POOLS}/wifkit-pool?updateMask=disabled`, { disabled: false });
    expect((await oidcExchange(emulator, token())).status).toBe(200);
  });

  it("refuses a provider the IAM API refuses, leaving the state as it was", async () => {
    const create = (id: string, body: unknown) =>
      iam(`${POOLS}/wifkit-pool/providers?workloadIdentityPoolProviderId=${id}`, { method: "POST", body });
    const cases: Array<[string, unknown, RegExp]> = [
      ["x", { aws: { accountId: "111122223333" } }, /4-32 characters/],
      ["gcp-aws", { aws: { accountId: "111122223333" } }, /prefix `gcp-` is reserved/],
      ["bad-account", { aws: { accountId: "1234" } }, /12 digits/],
      [
        "plain-http",
        {
          oidc: { issuerUri: "http://issuer.example" },
          attributeMapping: { "google.subject": "assertion.sub" },
        },
        /HTTPS/,
      ],
      [
        "bad-cel",
        { aws: { accountId: "111122223333" }, attributeCondition: "assertion.arn.(" },
        /condition/i,
      ],
      ["long-name", { aws: { accountId: "111122223333" }, displayName: "x".repeat(33) }, /32 characters/],
    ];
    for (const [id, body, message] of cases) {
      const reply = await create(id, body);
      expect(reply.status, id).toBe(400);
      expect(reply.json().error).toMatchObject({
        status: "INVALID_ARGUMENT",
        message: expect.stringMatching(message),
      });
    }
    expect(Object.keys(emulator.state.pools["wifkit-pool"]!.providers).sort()).toEqual([
      "aws-provider",
      "azure-provider",
      "oidc-provider",
    ]);
  });
});

describe("IAM policies", () => {
  it("refuses a stale etag: 409 ABORTED on a service account, 412 on a bucket", async () => {
    const account = `/v1/projects/-/serviceAccounts/${emulator.serviceAccountEmail("wifkit-reader")}`;
    const read = (await iam(`${account}:getIamPolicy`, { method: "POST", body: {} })).json();
    const grant = (policy: { etag: string; bindings: unknown[] }, member: string) => ({
      policy: {
        ...policy,
        bindings: [...policy.bindings, { role: "roles/iam.serviceAccountTokenCreator", members: [member] }],
      },
    });
    const first = await iam(`${account}:setIamPolicy`, {
      method: "POST",
      body: grant(read, "user:a@example.com"),
    });
    expect(first.status).toBe(200);
    const stale = await iam(`${account}:setIamPolicy`, {
      method: "POST",
      body: grant(read, "user:b@example.com"),
    });
    expect(stale.status).toBe(409);
    expect(stale.json().error.status).toBe("ABORTED");

    const bucket = `${emulator.urls.storage}/storage/v1/b/wifkit-bucket/iam`;
    const policy = (await call(bucket, { headers: admin })).json();
    expect(policy).toMatchObject({ kind: "storage#policy", resourceId: "projects/_/buckets/wifkit-bucket" });
    const put = (body: unknown) =>
      call(bucket, {
        method: "PUT",
        headers: { ...admin, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await put(policy)).status).toBe(200);
    const changed = {
      ...policy,
      bindings: [...policy.bindings, { role: "roles/storage.objectViewer", members: ["allUsers"] }],
    };
    expect((await put(changed)).status).toBe(200);
    expect((await put(policy)).status).toBe(412);
  });

  it("refuses roles a resource does not take and malformed members", async () => {
    const account = `/v1/projects/-/serviceAccounts/${emulator.serviceAccountEmail("wifkit-admin")}`;
    const set = (binding: unknown) =>
      iam(`${account}:setIamPolicy`, { method: "POST", body: { policy: { bindings: [binding] } } });
    expect(
      (await set({ role: "roles/storage.objectViewer", members: ["user:a@example.com"] })).json().error
        .message,
    ).toBe("Role roles/storage.objectViewer is not supported for this resource.");
    expect((await set({ role: "roles/iam.workloadIdentityUser", members: ["someone"] })).status).toBe(400);
  });
});

describe("Google's 403 bodies for a disabled API and a missing binding", () => {
  it("Storage: SERVICE_DISABLED keeps the JSON API's errors list next to Google's details", async () => {
    const token = await federatedToken(emulator);
    emulator.reconfigure({ services: { "storage.googleapis.com": false } });
    try {
      const reply = await call(`${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt`, {
        headers: bearer(token),
      });
      expect(reply.status).toBe(403);
      const { error } = reply.json();
      expect(error.errors[0]).toMatchObject({ domain: "usageLimits", reason: "accessNotConfigured" });
      expect(error.details[0]).toMatchObject({
        reason: "SERVICE_DISABLED",
        domain: "googleapis.com",
        metadata: { service: "storage.googleapis.com", consumer: "projects/123456789012" },
      });
    } finally {
      emulator.reconfigure({ services: { "storage.googleapis.com": true } });
    }
  });

  it("Storage: the missing binding names the principal and the permission", async () => {
    const token = emulator.issueGoogleToken({ subject: "nobody", provider: "aws-provider" }).accessToken;
    const reply = await call(`${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt`, {
      headers: bearer(token),
    });
    expect(reply.status).toBe(403);
    expect(reply.json().error.message).toBe(
      "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/subject/nobody does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).",
    );
  });
});

describe("the empty project and the state file", () => {
  it("starts empty, records every change in the state file, and a new emulator resumes from it", async () => {
    const stateFile = join(await mkdtemp(join(tmpdir(), "wif-state-")), "state.json");
    const first = await startEmulator({ empty: true, stateFile });
    const resumed: { emulator?: Emulator } = {};
    try {
      expect(first.state.pools).toEqual({});
      expect(first.state.serviceAccounts).toEqual({});
      expect(first.state.services).toEqual(EMPTY_EMULATOR_CONFIG.services);
      const token = bearer(first.gcloudEnv().CLOUDSDK_AUTH_ACCESS_TOKEN!);
      const post = (url: string, body: unknown) => postJson(url, body, token);
      await post(`${first.urls.serviceUsage}/v1/projects/wifkit-demo/services:batchEnable`, {
        serviceIds: ["sts.googleapis.com"],
      });
      await post(`${first.urls.iam}${POOLS}?workloadIdentityPoolId=saved-pool`, {});
      await post(`${first.urls.iam}${POOLS}/saved-pool/providers?workloadIdentityPoolProviderId=entra`, {
        oidc: {
          issuerUri: `${first.urls.entra}/${first.state.azure.tenantId}`,
          allowedAudiences: ["api://wifkit-demo"],
        },
        attributeMapping: { "google.subject": "assertion.sub" },
      });
      expect(statSync(stateFile).mode & 0o777).toBe(0o600);
      // The emulator's own URLs are saved as placeholders: the state survives new ports.
      expect(readFileSync(stateFile, "utf8")).toContain('"issuerUri": "{entra}/');
      await first.stop();

      resumed.emulator = await startEmulator({ stateFile });
      const next = resumed.emulator;
      expect(next.state.services["sts.googleapis.com"]).toBe(true);
      expect(next.state.pools["saved-pool"]!.providers.entra!.issuerUri).toBe(
        `${next.urls.entra}/${next.state.azure.tenantId}`,
      );
      const exchanged = await oidcExchange(next, next.mintEntraToken(), "entra");
      expect(exchanged.status).toBe(200);
    } finally {
      await first.stop();
      await resumed.emulator?.stop();
    }
  });
});
