import { describe, expect, it } from "vitest";
import {
  concurrentRequests,
  echoedSecretsError,
  rawRequest,
  serverPerTest,
  TEST_METADATA,
  upstreamUnavailable,
  waitFor,
} from "./helpers.js";

const V1 = "/computeMetadata/v1";
const TOKEN = `${V1}/instance/service-accounts/default/token`;
const IDENTITY = `${V1}/instance/service-accounts/default/identity`;
const SA = TEST_METADATA.serviceAccountEmail;

const start = serverPerTest();

describe("token route", () => {
  it("serves {access_token, expires_in, token_type} for the default scopes and under the email", async () => {
    const { url, server, clock, source } = await start();
    await waitFor(() => server.ready);
    clock.advance(10_500);
    const res = await rawRequest(url, TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["metadata-flavor"]).toBe("Google");
    expect(JSON.parse(res.body)).toEqual({
      access_token: "access-1",
      expires_in: 3589,
      token_type: "Bearer",
    });
    const byEmail = await rawRequest(url, `${V1}/instance/service-accounts/${SA}/token`);
    expect(JSON.parse(byEmail.body).access_token).toBe("access-1");
    expect(source.count("access")).toBe(1);
  });

  it("counts expires_in down as the clock moves, with the same token", async () => {
    const { url, server, clock } = await start();
    await waitFor(() => server.ready);
    const first = JSON.parse((await rawRequest(url, TOKEN)).body);
    clock.advance(61_000);
    const later = JSON.parse((await rawRequest(url, TOKEN)).body);
    expect(later.access_token).toBe(first.access_token);
    expect(first.expires_in - later.expires_in).toBe(61);
  });

  it("serves a token the credential refreshed from the next request on", async () => {
    const { url, server, clock, source } = await start();
    await waitFor(() => server.ready);
    expect(JSON.parse((await rawRequest(url, TOKEN)).body).access_token).toBe("access-1");
    // Into the refresh window: the credential refreshes in the background; the clock does not move after.
    clock.advance(3600_000 - 4 * 60_000);
    await waitFor(async () => JSON.parse((await rawRequest(url, TOKEN)).body).access_token === "access-2");
    expect(source.count("access")).toBe(2);
  });

  it("keeps one token per scope set: order and duplicates do not matter, commas may be encoded", async () => {
    const { url, server, source } = await start();
    await waitFor(() => server.ready);
    const a = JSON.parse((await rawRequest(url, `${TOKEN}?scopes=s2,s1`)).body);
    const b = JSON.parse((await rawRequest(url, `${TOKEN}?scopes=s1%2Cs2%2Cs1`)).body);
    const repeated = JSON.parse((await rawRequest(url, `${TOKEN}?scopes=s1&scopes=s2`)).body);
    expect(repeated.access_token).toBe(a.access_token);
    const c = JSON.parse((await rawRequest(url, `${TOKEN}?scopes=s1`)).body);
    expect(a.access_token).toBe(b.access_token);
    expect(c.access_token).not.toBe(a.access_token);
    const scopeCalls = source.calls.filter((call) => call.kind === "access").map((call) => call.scopes);
    expect(scopeCalls).toEqual([["https://www.googleapis.com/auth/cloud-platform"], ["s1", "s2"], ["s1"]]);
  });

  it("serves alt=text as key value lines", async () => {
    const { url, server } = await start();
    await waitFor(() => server.ready);
    const res = await rawRequest(url, `${TOKEN}?alt=text`);
    expect(res.body).toMatch(/^access_token access-1\nexpires_in \d+\ntoken_type Bearer\n$/);
  });

  it("rejects malformed scopes and wait_for_change with 400", async () => {
    const { url } = await start();
    expect((await rawRequest(url, `${TOKEN}?scopes=${"x".repeat(600)}`)).status).toBe(400);
    expect((await rawRequest(url, `${TOKEN}?scopes=a%22b`)).status).toBe(400);
    expect((await rawRequest(url, `${TOKEN}?wait_for_change=true`)).status).toBe(400);
  });

  it("2,000 concurrent requests on a cold start share one upstream call and get the same token", async () => {
    const { url, source, metrics } = await start({ holdFirstToken: true });
    const all = concurrentRequests(url, TOKEN, 2000);
    await waitFor(() => metrics.get("tokenCache access_token miss") === 2000, 15_000);
    source.release();
    const responses = await all;
    expect(source.count("access")).toBe(1);
    expect(new Set(responses.map((res) => JSON.parse(res.body).access_token))).toEqual(new Set(["access-1"]));
  });

  it("never serves a token past its expiry: the request waits for the next one", async () => {
    const { url, server, source, clock } = await start();
    await waitFor(() => server.ready);
    source.hold();
    clock.advance(3600_000);
    const pending = rawRequest(url, TOKEN);
    await waitFor(() => source.count("access") === 2);
    source.release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).access_token).toBe("access-2");
  });
});

describe("failures", () => {
  it("answers 503 with Retry-After and the error code when no token can be had; waiting requests share the call", async () => {
    const { url, server, source, metrics, clock } = await start({
      holdFirstToken: true,
      keepWarmIntervalMs: 3600_000,
    });
    source.failWith = upstreamUnavailable();
    const all = concurrentRequests(url, TOKEN, 20);
    await waitFor(() => metrics.get("tokenCache access_token miss") === 20);
    source.release();
    const responses = await all;
    expect(responses.map((res) => res.status)).toEqual(Array(20).fill(503));
    expect(responses[0]?.body).toContain("ERR_WIF_STS_UNAVAILABLE");
    expect(responses[0]?.headers["retry-after"]).toBe("1");
    expect(responses[0]?.headers["metadata-flavor"]).toBe("Google");
    expect(source.count("access")).toBe(1);
    expect(server.ready).toBe(false);
    source.failWith = undefined;
    // Within the cache's failure backoff the same error is answered without another upstream call.
    expect((await rawRequest(url, TOKEN)).status).toBe(503);
    expect(source.count("access")).toBe(1);
    clock.advance(1_000);
    expect((await rawRequest(url, TOKEN)).status).toBe(200);
    expect(server.ready).toBe(true);
  });

  it("never quotes secrets upstream echoed back in a 503 body, URL-encoded or not", async () => {
    const { url, source } = await start({ keepWarmIntervalMs: 3600_000 });
    const echoed = echoedSecretsError();
    source.failWith = echoed.error;
    // A scope set of its own: the default token was fetched at start, before the failure was set up.
    const res = await rawRequest(url, `${TOKEN}?scopes=s1`);
    expect(res.status).toBe(503);
    expect(res.body).toContain("ERR_WIF_STS_INVALID_SUBJECT_TOKEN");
    expect(res.body).toContain(echoed.shown);
    expect(res.body).toContain("https://sts.googleapis.com/v1/token");
    for (const secret of echoed.secrets) expect(res.body).not.toContain(secret);
  });

  it("refuses to serve a token value that would break the response framing (503)", async () => {
    const { url, source } = await start({ keepWarmIntervalMs: 3600_000 });
    source.tokenOf = () => 'ya29.a"b\nHTTP/1.1 200 OK';
    for (const path of [`${TOKEN}?scopes=s1`, `${TOKEN}?scopes=s2&alt=text`, `${IDENTITY}?audience=x`]) {
      const res = await rawRequest(url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(res.body).not.toContain("HTTP/1.1 200 OK");
    }
  });
});

describe("identity route", () => {
  it("answers 400 without an audience, and for an unknown format", async () => {
    const { url } = await start();
    const res = await rawRequest(url, IDENTITY);
    expect(res.status).toBe(400);
    expect(res.body).toContain("audience");
    expect(res.headers["metadata-flavor"]).toBe("Google");
    expect((await rawRequest(url, `${IDENTITY}?audience=a&format=compact`)).status).toBe(400);
  });

  it("returns the JWT as text; format=full asks for the email claim; tokens are cached per audience and format", async () => {
    const { url, source } = await start();
    const full = await rawRequest(url, `${IDENTITY}?audience=https://svc.example&format=full&licenses=TRUE`);
    expect(full.status).toBe(200);
    expect(full.body).toBe("id-1");
    expect(full.headers["content-type"]).toBe("application/text");
    const again = await rawRequest(url, `${IDENTITY}?format=full&audience=https%3A%2F%2Fsvc.example`);
    expect(again.body).toBe("id-1");
    const standard = await rawRequest(url, `${IDENTITY}?audience=https://svc.example`);
    expect(standard.body).not.toBe("id-1");
    expect(
      source.calls.filter((call) => call.kind === "id").map((call) => [call.audience, call.includeEmail]),
    ).toEqual([
      ["https://svc.example", true],
      ["https://svc.example", false],
    ]);
  });

  it("answers 404 (not 503) when there is no service account, and does not list the route", async () => {
    const { url, source } = await start({ metadata: { ...TEST_METADATA, identity: false } });
    const res = await rawRequest(url, `${IDENTITY}?audience=https://svc.example`);
    expect(res.status).toBe(404);
    expect(res.headers["retry-after"]).toBeUndefined();
    expect(res.headers["metadata-flavor"]).toBe("Google");
    expect((await rawRequest(url, `${V1}/instance/service-accounts/default/`)).body).toBe(
      "aliases\nemail\nscopes\ntoken\n",
    );
    expect(source.count("id")).toBe(0);
  });

  it("refreshes a cached ID token in the background near its expiry and never serves it expired", async () => {
    const { url, clock, source } = await start();
    expect((await rawRequest(url, `${IDENTITY}?audience=aud`)).body).toBe("id-1");
    clock.advance(3600_000 - 30_000);
    expect((await rawRequest(url, `${IDENTITY}?audience=aud`)).body).toBe("id-1");
    await waitFor(async () => (await rawRequest(url, `${IDENTITY}?audience=aud`)).body === "id-2");
    expect(source.count("id")).toBe(2);
    source.hold();
    clock.advance(3600_000);
    const pending = rawRequest(url, `${IDENTITY}?audience=aud`);
    await waitFor(() => source.count("id") === 3);
    source.release();
    const third = await pending;
    expect(third.status).toBe(200);
    expect(third.body).toBe("id-3");
    expect(third.headers.etag).toMatch(/^[0-9a-f]{16}$/);
  });
});
