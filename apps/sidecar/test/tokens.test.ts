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

// The sidecar keeps no timing rules of its own: these tests check, through the server and its admin port, that
// the credential's caches (here the test source's, the same @wifkit/token-cache a credential uses) decide
// freshness, and that readiness and the metrics report what they did. (The herd and expiry rules of the token
// route itself are tested in @wifkit/metadata-server.)
describe("token behaviour through the server", () => {
  it("is ready only after the first token was obtained", async () => {
    const { sidecar, source } = await startTestSidecarHeld();
    const notReady = await fetch(`${sidecar.adminUrl}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain("waiting for the first token");
    source.release();
    await waitFor(() => sidecar.ready);
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200);
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
    // More requests while the refresh is held upstream: still the cached token, and no second refresh.
    const more = await concurrentRequests(sidecar.url, TOKEN, 50);
    expect(
      new Set(more.map((res) => (JSON.parse(res.body) as { access_token: string }).access_token)),
    ).toEqual(new Set(["access-1"]));
    expect(source.count("access")).toBe(2);
    source.release();
    await waitFor(
      async () => ((await token(sidecar.url)).body as { access_token: string }).access_token === "access-2",
    );
    expect(source.count("access")).toBe(2);
  });

  it("keeps serving the valid token through an upstream outage, counts the failures, and answers 503 after expiry", async () => {
    const { sidecar, source, clock } = await start({
      cache: { retryBackoffMs: 1_000, maxRetryBackoffMs: 1_000 },
    });
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
    const expired = await rawRequest(sidecar.url, TOKEN);
    expect(expired.status).toBe(503);
    expect(expired.body).toContain("ERR_WIF_STS_UNAVAILABLE");
    expect(expired.body).not.toContain("access-1");
    expect(expired.headers["retry-after"]).toBe("1");
    // Upstream back: the next attempt after the failure backoff gets a fresh token.
    source.failWith = undefined;
    clock.advance(1_000);
    await waitFor(async () => (await token(sidecar.url)).status === 200);
    expect(((await token(sidecar.url)).body as { access_token: string }).access_token).toBe("access-2");
  });

  it("counts failed fetches by error code and is not ready until a token arrives", async () => {
    const { sidecar, source, clock } = await startTestSidecarHeld({ keepWarmIntervalMs: 3600_000 });
    source.failWith = upstreamUnavailable();
    source.release();
    const failed = await token(sidecar.url);
    expect(failed.status).toBe(503);
    expect(
      sidecar.metrics.tokenRefreshFailures.get(["access_token", "ERR_WIF_STS_UNAVAILABLE"]),
    ).toBeGreaterThan(0);
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(503);
    source.failWith = undefined;
    clock.advance(1_000); // past the failure backoff
    expect((await token(sidecar.url)).status).toBe(200);
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200);
  });

  it("does not refresh a scope set nobody asks for, and drops its expired token from the expiry gauge", async () => {
    const { sidecar, source, clock } = await start();
    await waitFor(() => sidecar.ready);
    await token(sidecar.url, "?scopes=extra");
    expect(source.count("access")).toBe(2);
    expect(await metrics(sidecar.adminUrl!)).toContain(
      'wif_sidecar_token_expiry_seconds{kind="access_token",key="extra"}',
    );
    clock.advance(3600_000 + 1000);
    // The default scope set is kept warm by the sidecar's timer; the unused one is left to expire.
    await waitFor(() => source.count("access") === 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(source.calls.filter((call) => call.scopes?.[0] === "extra")).toHaveLength(1);
    const gauge = (await metrics(sidecar.adminUrl!))
      .split("\n")
      .filter((line) => line.startsWith("wif_sidecar_token_expiry_seconds{"));
    expect(gauge).toEqual([
      'wif_sidecar_token_expiry_seconds{kind="access_token",key="https://www.googleapis.com/auth/cloud-platform"} 3600',
    ]);
    // Asked again, it is fetched again (never served expired).
    const again = await token(sidecar.url, "?scopes=extra");
    expect((again.body as { access_token: string }).access_token).toBe("access-4");
  });
});

/** A sidecar whose first upstream call is held until `source.release()`. */
function startTestSidecarHeld(options: Parameters<typeof startTestSidecar>[0] = {}): Promise<TestSidecar> {
  return start({ ...options, holdFirstToken: true });
}
