import { SourceUnavailableError } from "@wifkit/core";
import type { HttpTransport } from "@wifkit/http";
import { afterEach, describe, expect, it } from "vitest";
import { tick, virtualTime } from "../../../tooling/virtual-time.js";
import { fromAzure } from "../src/index.js";
import type { FakeServer } from "./helpers/fake-server.js";
import { FAST_RETRY, fakeAzureJwt, manualClock, sendJson, startFakeServer } from "./helpers/fake-server.js";

const RESOURCE = "api://wifkit-test";
let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An App Service endpoint handing out numbered tokens valid for `lifetimeSeconds`. */
async function startNumbered(lifetimeSeconds: number, failFrom = Number.POSITIVE_INFINITY) {
  server = await startFakeServer((_request, response, index) =>
    index >= failFrom
      ? sendJson(response, 503, {})
      : sendJson(response, 200, {
          access_token: fakeAzureJwt({ jti: `t${index}` }),
          expires_in: String(lifetimeSeconds),
        }),
  );
  return server;
}

const env = (url: string) => ({ IDENTITY_ENDPOINT: `${url}/msi/token`, IDENTITY_HEADER: "h" });

describe("fromAzure caching", () => {
  it("serves the cached token until shortly before it expires, then refreshes it in the background", async () => {
    const clock = manualClock();
    const fake = await startNumbered(3600);
    let refreshed: () => void = () => {};
    const kinds: string[] = [];
    const supplier = fromAzure({
      resource: RESOURCE,
      env: env(fake.url),
      clock,
      onRefresh: (event) => {
        kinds.push(event.kind);
        refreshed();
      },
    });
    const first = await supplier();
    clock.advance(50 * 60_000);
    expect((await supplier()).token).toBe(first.token);
    expect(fake.requests).toHaveLength(1);
    clock.advance(6 * 60_000); // inside the 5-minute refresh window: still valid, so served while a new one comes
    const background = new Promise<void>((resolve) => {
      refreshed = resolve;
    });
    expect((await supplier()).token).toBe(first.token);
    await background;
    expect(fake.requests).toHaveLength(2);
    expect((await supplier()).token).not.toBe(first.token);
    expect(kinds).toEqual(["blocking", "background"]);
  });

  it("never waits past half the lifetime of a short-lived token", async () => {
    const clock = manualClock();
    const fake = await startNumbered(120);
    let refreshed: () => void = () => {};
    const supplier = fromAzure({
      resource: RESOURCE,
      env: env(fake.url),
      clock,
      onRefresh: () => refreshed(),
    });
    await supplier();
    clock.advance(59_000);
    await supplier();
    expect(fake.requests).toHaveLength(1);
    clock.advance(2_000);
    const background = new Promise<void>((resolve) => {
      refreshed = resolve;
    });
    await supplier();
    await background;
    expect(fake.requests).toHaveLength(2);
  });

  it("fetches again on forceRefresh", async () => {
    const fake = await startNumbered(3600);
    const supplier = fromAzure({ resource: RESOURCE, env: env(fake.url) });
    const first = await supplier();
    expect((await supplier({ forceRefresh: true })).token).not.toBe(first.token);
  });

  it("shares one fetch among concurrent callers", async () => {
    const fake = await startNumbered(3600);
    const supplier = fromAzure({ resource: RESOURCE, env: env(fake.url) });
    const tokens = await Promise.all(Array.from({ length: 25 }, () => supplier()));
    expect(new Set(tokens.map((token) => token.token)).size).toBe(1);
    expect(fake.requests).toHaveLength(1);
  });

  it("keeps a still-valid token when a refresh fails, and never returns an expired one", async () => {
    const clock = manualClock();
    const fake = await startNumbered(3600, 1);
    const supplier = fromAzure({
      resource: RESOURCE,
      env: env(fake.url),
      clock,
      retry: { ...FAST_RETRY, retries: 1 },
    });
    const first = await supplier();
    clock.advance(57 * 60_000);
    expect((await supplier()).token).toBe(first.token);
    clock.advance(3 * 60_000);
    await expect(supplier()).rejects.toMatchObject({ code: "ERR_WIF_AZURE_UNAVAILABLE" });
  });

  it("lets one caller abort without failing the others sharing the fetch", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fake = await startFakeServer((_request, response) => {
      void gate.then(() => sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "3600" }));
    });
    server = fake;
    const supplier = fromAzure({ resource: RESOURCE, env: env(fake.url) });
    const controller = new AbortController();
    const aborted = supplier({ signal: controller.signal });
    const patient = supplier();
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "ERR_WIF_ABORTED" });
    release();
    await expect(patient).resolves.toMatchObject({ type: "urn:ietf:params:oauth:token-type:jwt" });
  });

  it("ends only the caller's wait when it aborts: the request stays bounded by its own timeout", async () => {
    const time = virtualTime();
    let seenSignal: AbortSignal | undefined;
    const transport: HttpTransport = (request) => {
      seenSignal = request.signal;
      return new Promise((_resolve, reject) => {
        request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true });
      });
    };
    const supplier = fromAzure({
      resource: RESOURCE,
      env: env("http://127.0.0.1:9"),
      transport,
      clock: time.clock,
      sleep: time.sleep,
      retry: false,
      timeoutMs: 5_000,
    });
    const controller = new AbortController();
    const pending = supplier({ signal: controller.signal });
    await tick();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "ERR_WIF_ABORTED" });
    expect(seenSignal?.aborted).toBe(false);
    await time.advance(5_000);
    expect(seenSignal?.aborted).toBe(true);
  });
});

describe("fromAzure source selection", () => {
  it("uses the configured source even when another one's variables are set", async () => {
    const fake = await startFakeServer((request, response) =>
      request.headers.metadata === "true"
        ? sendJson(response, 200, { access_token: fakeAzureJwt(), expires_in: "3600" })
        : sendJson(response, 400, {}),
    );
    server = fake;
    const supplier = fromAzure({
      resource: RESOURCE,
      source: "imds",
      env: { ...env("http://127.0.0.1:9"), AZURE_IMDS_ENDPOINT: fake.url },
    });
    await supplier();
    expect(supplier.lastSource()).toBe("imds");
  });

  it("reports a configured source whose variables are missing as not applicable", async () => {
    const supplier = fromAzure({ resource: RESOURCE, source: "aks", env: { AZURE_CLIENT_ID: "c" } });
    const error = await supplier().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({
      code: "ERR_WIF_AZURE_SOURCE_UNAVAILABLE",
      message: expect.stringContaining("AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID not set"),
    });
  });

  it("validates the resource when the supplier is built", () => {
    expect(() => fromAzure({ resource: " " })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_AZURE_CONFIG_INVALID" }),
    );
  });
});

describe("secrets stay out of errors", () => {
  it("never puts a token, header or key into a message across failure paths", async () => {
    const secrets = [fakeAzureJwt({ jti: "leak" }), "identity-header-secret"];
    server = await startFakeServer((_request, response, index) => {
      const bodies = [
        [400, { error: "invalid_request", error_description: `bad token ${secrets[0]}` }],
        [403, { message: `header ${secrets[1]} refused` }],
        [200, `{"access_token":"${secrets[0]}"`],
        [200, { access_token: "opaque-token-value" }],
      ] as const;
      const [status, body] = bodies[index % bodies.length] ?? [500, {}];
      if (typeof body === "string") {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(body);
      } else sendJson(response, status, body);
    });
    const messages: string[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const supplier = fromAzure({
        resource: RESOURCE,
        env: { IDENTITY_ENDPOINT: `${server.url}/msi/token`, IDENTITY_HEADER: secrets[1] as string },
        retry: false,
      });
      const error = (await supplier().catch((caught: unknown) => caught)) as Error & Record<string, unknown>;
      messages.push(`${error.message} ${String(error.upstreamDescription)} ${String(error.cause)}`);
    }
    expect(messages).toHaveLength(4);
    for (const message of messages) {
      for (const secret of [...secrets, "opaque-token-value"]) expect(message).not.toContain(secret);
    }
  });
});
