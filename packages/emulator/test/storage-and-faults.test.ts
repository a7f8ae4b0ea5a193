import { httpRequest } from "@wifkit/http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { awsExchange, bearer, call, federatedToken, oidcExchange } from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
afterEach(() => {
  emulator.faults.clear();
  emulator.counters.reset();
  emulator.clock.set(Date.now());
});

const object = (path = "wifkit-bucket/o/hello.txt", query = "?alt=media") =>
  `${emulator.urls.storage}/storage/v1/b/${path}${query}`;

describe("the guarded storage object", () => {
  it("serves content and metadata to a federated principal that holds the role", async () => {
    const token = await federatedToken(emulator);
    const content = await call(object(), { headers: bearer(token) });
    expect(content.status).toBe(200);
    expect(content.text).toBe("hello from wifkit\n");
    const metadata = await call(object(undefined, ""), { headers: bearer(token) });
    expect(metadata.json()).toMatchObject({
      kind: "storage#object",
      name: "hello.txt",
      bucket: "wifkit-bucket",
      size: "18",
    });
  });

  it("answers 401 without a token or with an unknown one, 403 to a principal without the role, 404 for a missing object", async () => {
    const none = await call(object());
    expect(none.status).toBe(401);
    expect(none.json().error.message).toMatch(/^Anonymous caller does not have storage\.objects\.get access/);
    expect((await call(object(), { headers: bearer("ya29.forged") })).status).toBe(401);

    // The user-assigned Azure identity is not a member of the bucket's binding.
    const stranger = (
      await oidcExchange(emulator, emulator.mintEntraToken({ identity: "wifkit-identity" }))
    ).json().access_token;
    const denied = await call(object(), { headers: bearer(stranger) });
    expect(denied.status).toBe(403);
    expect(denied.json().error).toMatchObject({
      code: 403,
      message: expect.stringContaining("does not have storage.objects.get access"),
    });

    const token = await federatedToken(emulator);
    expect((await call(object("wifkit-bucket/o/missing.txt"), { headers: bearer(token) })).status).toBe(404);
    expect((await call(object("other-bucket/o/hello.txt"), { headers: bearer(token) })).status).toBe(403);
  });

  it("serves a service account token whose account holds the role, and refuses tokens without a storage scope", async () => {
    const readerToken = emulator.issueGoogleToken({ serviceAccount: "wifkit-reader" }).accessToken;
    expect((await call(object(), { headers: bearer(readerToken) })).status).toBe(200);
    const adminToken = emulator.issueGoogleToken({ serviceAccount: "wifkit-admin" }).accessToken;
    expect((await call(object(), { headers: bearer(adminToken) })).status).toBe(403);
    const narrow = emulator.issueGoogleToken({
      serviceAccount: "wifkit-reader",
      scopes: ["https://www.googleapis.com/auth/iam"],
    });
    expect((await call(object(), { headers: bearer(narrow.accessToken) })).status).toBe(403);
  });
});

describe("fault injection and counters", () => {
  it("answers an injected status for the next N requests, in the service's own error shape, then recovers", async () => {
    const handle = emulator.faults.inject("sts.token", { status: 503, times: 2 });
    const first = await awsExchange(emulator, emulator.awsSubjectToken());
    const second = await awsExchange(emulator, emulator.awsSubjectToken());
    const third = await awsExchange(emulator, emulator.awsSubjectToken());
    expect([first.status, second.status, third.status]).toEqual([503, 503, 200]);
    expect(first.json()).toEqual({
      error: { code: 503, message: "The service is currently unavailable.", status: "UNAVAILABLE" },
    });
    expect(handle.hits).toBe(2);
    expect(handle.active).toBe(false);
    expect(emulator.counters.get("sts.token")).toBe(3);
  });

  it("answers 429 with Retry-After, and custom bodies", async () => {
    emulator.faults.inject("aws.imds.*", { retryAfterSeconds: 7 });
    const throttled = await call(`${emulator.urls.awsImds}/latest/meta-data/iam/security-credentials`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers["retry-after"]).toBe("7");
    emulator.faults.inject("azure.imds.token", { status: 500, body: { error: "boom" } });
    const custom = await call(
      `${emulator.urls.azureImds}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://wifkit-demo`,
      {
        headers: { Metadata: "true" },
      },
    );
    expect(custom.status).toBe(500);
    expect(custom.json()).toEqual({ error: "boom" });
  });

  it("holds a delayed answer until the emulator clock passes the delay, and drops connections", async () => {
    // An hour on the emulator clock: only the test's advance can release it.
    emulator.faults.inject("google.certs", { delayMs: 3_600_000 });
    let settled = false;
    const delayed = call(`${emulator.urls.googleCerts}/oauth2/v3/certs`).finally(() => {
      settled = true;
    });
    await expect.poll(() => emulator.counters.get("google.certs")).toBe(1);
    // Several of the fault's clock checks pass, and the answer is still held.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(false);
    emulator.clock.advance(3_600_000);
    expect((await delayed).status).toBe(200);

    emulator.faults.inject("google.certs", { drop: true });
    const dropped = httpRequest({
      url: `${emulator.urls.googleCerts}/oauth2/v3/certs`,
      retry: false,
      timeoutMs: 5000,
    });
    await expect(dropped).rejects.toMatchObject({ code: "ERR_WIF_NETWORK" });
    expect((await call(`${emulator.urls.googleCerts}/oauth2/v3/certs`)).status).toBe(200);
  });

  it("applies a time-window fault until the emulator clock passes it, and clears on request", async () => {
    emulator.faults.inject("iam.*", { status: 503, forMs: 60_000 });
    const url = `${emulator.urls.iamCredentials}/v1/projects/-/serviceAccounts/x@y:generateAccessToken`;
    for (let attempt = 0; attempt < 3; attempt++)
      expect((await call(url, { method: "POST" })).status).toBe(503);
    emulator.clock.advance(61_000);
    expect((await call(url, { method: "POST" })).status).toBe(401);
    const handle = emulator.faults.inject("*", { status: 418 });
    handle.clear();
    expect((await call(url, { method: "POST" })).status).toBe(401);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(5);
  });

  it("counts unmatched paths and lists every counter", async () => {
    await call(`${emulator.urls.sts}/v1/nothing`);
    await call(`${emulator.urls.sts}/v1/token`);
    expect(emulator.counters.all()).toEqual({ "sts.methodNotAllowed": 1, "sts.notFound": 1 });
  });

  it("rejects faults that do nothing", () => {
    expect(() => emulator.faults.inject("sts.token", {})).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "fault" }),
    );
    expect(() => emulator.faults.inject("sts.token", { status: 99 })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "fault.status" }),
    );
  });
});
