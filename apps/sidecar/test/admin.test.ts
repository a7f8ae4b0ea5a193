import { afterEach, describe, expect, it } from "vitest";
import { rawRequest, startTestSidecar, type TestSidecar, upstreamUnavailable, waitFor } from "./helpers.js";

const V1 = "/computeMetadata/v1";

let running: TestSidecar | undefined;
afterEach(async () => {
  await running?.sidecar.close();
  running = undefined;
});

describe("admin server", () => {
  it("answers /healthz, /readyz and 404 elsewhere; only GET and HEAD", async () => {
    running = await startTestSidecar();
    const { sidecar } = running;
    await waitFor(() => sidecar.ready);
    expect((await fetch(`${sidecar.adminUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${sidecar.adminUrl}/readyz`)).text()).toBe("ready\n");
    expect((await fetch(`${sidecar.adminUrl}/nothing`)).status).toBe(404);
    expect((await fetch(`${sidecar.adminUrl}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("reports not ready while shutting down", async () => {
    running = await startTestSidecar({ shutdownTimeoutMs: 1_000 });
    const { sidecar, source } = running;
    await waitFor(() => sidecar.ready);
    // Hold a request in flight so the shutdown has something to wait for: the token has expired and the
    // new one is held upstream.
    source.hold();
    running.clock.advance(3600_000);
    const inFlight = rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/token`);
    await waitFor(() => sidecar.metrics.cacheMisses.get(["access_token"]) === 1);
    const closing = sidecar.close();
    const readyz = await fetch(`${sidecar.adminUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toBe("not ready: shutting down\n");
    source.release();
    expect((await inFlight).status).toBe(200);
    await closing;
  });

  it("exposes Prometheus metrics: requests by route and status, refreshes, failures, latency, cache hits, expiry", async () => {
    running = await startTestSidecar();
    const { sidecar, source, clock } = running;
    await waitFor(() => sidecar.ready);
    const token = `${V1}/instance/service-accounts/default/token`;
    await rawRequest(sidecar.url, token);
    await rawRequest(sidecar.url, token);
    await rawRequest(sidecar.url, `${V1}/project/project-id`);
    await rawRequest(sidecar.url, `${V1}/nothing`);
    await rawRequest(sidecar.url, token, { flavor: false });
    await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/identity?audience=x`);
    source.failWith = upstreamUnavailable();
    await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/identity?audience=y`);
    clock.advance(1000);
    const response = await fetch(`${sidecar.adminUrl}/metrics`);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    const lines = new Set(text.split("\n"));
    for (const line of [
      "# TYPE wif_sidecar_requests_total counter",
      'wif_sidecar_requests_total{route="token",status="200"} 2',
      'wif_sidecar_requests_total{route="metadata",status="200"} 1',
      'wif_sidecar_requests_total{route="not_found",status="404"} 1',
      'wif_sidecar_requests_total{route="refused",status="403"} 1',
      'wif_sidecar_requests_total{route="identity",status="200"} 1',
      'wif_sidecar_requests_total{route="identity",status="503"} 1',
      'wif_sidecar_token_refreshes_total{kind="access_token"} 1',
      'wif_sidecar_token_refreshes_total{kind="id_token"} 1',
      'wif_sidecar_token_refresh_failures_total{kind="id_token",code="ERR_WIF_STS_UNAVAILABLE"} 1',
      'wif_sidecar_token_cache_hits_total{kind="access_token"} 2',
      'wif_sidecar_token_cache_misses_total{kind="id_token"} 2',
      'wif_sidecar_upstream_duration_seconds_count{kind="access_token",outcome="success"} 1',
      'wif_sidecar_upstream_duration_seconds_bucket{kind="access_token",outcome="success",le="+Inf"} 1',
      'wif_sidecar_token_expiry_seconds{kind="access_token",key="https://www.googleapis.com/auth/cloud-platform"} 3599',
      'wif_sidecar_token_expiry_seconds{kind="id_token",key="no-email x"} 3599',
      "wif_sidecar_ready 1",
    ]) {
      expect(lines.has(line), line).toBe(true);
    }
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text.endsWith("\n")).toBe(true);
    // Every sample line is `name{labels} value` or `name value`.
    for (const line of text
      .split("\n")
      .filter((candidate) => candidate !== "" && !candidate.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$/);
    }
  });
});
