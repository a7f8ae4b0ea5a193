import { afterEach, describe, expect, it } from "vitest";
import {
  concurrentRequests,
  rawRequest,
  startTestSidecar,
  type TestSidecar,
  upstreamUnavailable,
  waitFor,
} from "./helpers.js";

const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";

let running: TestSidecar | undefined;
afterEach(async () => {
  await running?.sidecar.close();
  running = undefined;
});

async function start(options: Parameters<typeof startTestSidecar>[0] = {}): Promise<TestSidecar> {
  running = await startTestSidecar(options);
  return running;
}

async function token(
  url: string,
  query = "",
): Promise<{ status: number; body: Record<string, unknown> | string }> {
  const res = await rawRequest(url, `${TOKEN}${query}`);
  return {
    status: res.status,
    body: res.status === 200 ? (JSON.parse(res.body) as Record<string, unknown>) : res.body,
  };
}

async function metrics(adminUrl: string): Promise<string> {
  return (await fetch(`${adminUrl}/metrics`)).text();
}

function metricValue(text: string, series: string): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("token cache behaviour", () => {
  it("is ready only after the first token was obtained", async () => {
    const { sidecar, source } = await startTestSidecarHeld();
    const notReady = await fetch(`${sidecar.adminUrl}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain("waiting for the first token");
    source.release();
    await waitFor(() => sidecar.ready);
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200);
  });

  it("2,000 concurrent requests on a cold start share one upstream call and get the same token", async () => {
    const held = await startTestSidecarHeld();
    const { sidecar, source } = held;
    const all = concurrentRequests(sidecar.url, TOKEN, 2000);
    // Let the requests reach the server while the first upstream call is still held open.
    await waitFor(
      async () =>
        metricValue(
          await metrics(sidecar.adminUrl!),
          'wif_sidecar_token_cache_misses_total{kind="access_token"}',
        ) === 2000,
      15_000,
    );
    source.release();
    const responses = await all;
    expect(source.count("access")).toBe(1);
    expect(
      new Set(
        responses.map((response) => (JSON.parse(response.body) as { access_token: string }).access_token),
      ),
    ).toEqual(new Set(["access-1"]));
  });

  it("refreshes in the background ahead of expiry without making requests wait", async () => {
    const { sidecar, source, clock } = await start();
    await waitFor(() => sidecar.ready);
    clock.advance(3600_000 - 4 * 60_000);
    source.hold();
    // Inside the refresh window: the cached token is served at once while the refresh is held upstream.
    const during = await token(sidecar.url);
    expect(during.status).toBe(200);
    expect((during.body as { access_token: string }).access_token).toBe("access-1");
    await waitFor(() => source.count("access") === 2);
    expect(source.calls[1]?.forceRefresh).toBe(true);
    source.release();
    await waitFor(
      async () => ((await token(sidecar.url)).body as { access_token: string }).access_token === "access-2",
    );
    expect(source.count("access")).toBe(2);
  });

  it("keeps serving the valid token through an upstream outage, counts the failures, and answers 503 after expiry", async () => {
    const { sidecar, source, clock } = await start({ tokens: { retryBaseMs: 1_000, retryMaxMs: 1_000 } });
    await waitFor(() => sidecar.ready);
    source.failWith = upstreamUnavailable();
    clock.advance(3600_000 - 4 * 60_000);
    // Several refresh cycles fail while the clock moves towards expiry; the old token keeps being served.
    for (let step = 0; step < 5; step++) {
      const res = await token(sidecar.url);
      expect(res.status).toBe(200);
      expect((res.body as { access_token: string }).access_token).toBe("access-1");
      const failuresBefore = metricValue(
        await metrics(sidecar.adminUrl!),
        'wif_sidecar_token_refresh_failures_total{kind="access_token",code="ERR_WIF_STS_UNAVAILABLE"}',
      );
      clock.advance(30_000);
      await waitFor(
        async () =>
          metricValue(
            await metrics(sidecar.adminUrl!),
            'wif_sidecar_token_refresh_failures_total{kind="access_token",code="ERR_WIF_STS_UNAVAILABLE"}',
          ) > failuresBefore,
      );
    }
    const text = await metrics(sidecar.adminUrl!);
    expect(
      metricValue(
        text,
        'wif_sidecar_token_expiry_seconds{kind="access_token",key="https://www.googleapis.com/auth/cloud-platform"}',
      ),
    ).toBe(90);
    clock.advance(90_000);
    const expired = await token(sidecar.url);
    expect(expired.status).toBe(503);
    expect(expired.body).toContain("ERR_WIF_STS_UNAVAILABLE");
    expect(expired.body).not.toContain("access-1");
    // Upstream back: the next attempt after the backoff gets a fresh token.
    source.failWith = undefined;
    clock.advance(10_000);
    await waitFor(async () => (await token(sidecar.url)).status === 200);
    expect(((await token(sidecar.url)).body as { access_token: string }).access_token).toBe("access-2");
  });

  it("never serves a token past its expiry even when upstream is slow to answer", async () => {
    const { sidecar, source, clock } = await start();
    await waitFor(() => sidecar.ready);
    source.hold();
    clock.advance(3600_000);
    const pending = token(sidecar.url);
    await new Promise((resolve) => setTimeout(resolve, 50));
    source.release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect((res.body as { access_token: string }).access_token).toBe("access-2");
  });

  it("answers 503 at once within the backoff after a failed attempt, without another upstream call", async () => {
    const held = await startTestSidecarHeld({
      tokens: { retryBaseMs: 60_000, retryMaxWithoutTokenMs: 60_000 },
    });
    const { sidecar, source } = held;
    source.failWith = upstreamUnavailable();
    source.release();
    await waitFor(
      () =>
        source.count("access") === 1 &&
        sidecar.metrics.tokenRefreshFailures.get(["access_token", "ERR_WIF_STS_UNAVAILABLE"]) === 1,
    );
    const res = await rawRequest(sidecar.url, TOKEN);
    expect(res.status).toBe(503);
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(1);
    expect(source.count("access")).toBe(1);
  });

  it("drops a scope set nobody asked for during a whole token lifetime", async () => {
    const { sidecar, source, clock } = await start({ tokens: { idleMs: 10 * 60_000 } });
    await waitFor(() => sidecar.ready);
    await token(sidecar.url, "?scopes=extra");
    expect(source.count("access")).toBe(2);
    clock.advance(3600_000 + 1000);
    // The default scope set is refreshed by maintenance; the idle one is not.
    await waitFor(() => source.count("access") === 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(source.calls.filter((call) => call.scopes?.[0] === "extra")).toHaveLength(1);
    expect([...sidecar.broker.slots()].map((slot) => slot.key)).toEqual([
      "https://www.googleapis.com/auth/cloud-platform",
    ]);
  });
});

/** A sidecar whose first upstream call is held until `source.release()`. */
function startTestSidecarHeld(options: Parameters<typeof startTestSidecar>[0] = {}): Promise<TestSidecar> {
  return start({ ...options, holdFirstToken: true });
}
