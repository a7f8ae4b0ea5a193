/**
 * The sidecar backed by the emulator through @wifkit/credentials, wired as `main.ts` wires it: the herd, an
 * STS outage, and a credential without a service account. (Google's client libraries against the metadata
 * protocol are tested in @wifkit/metadata-server.)
 */
import { fromConfig } from "@wifkit/credentials";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { metadataValues } from "@wifkit/metadata-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tokenHooks } from "../src/hooks.js";
import { createLogger } from "../src/logger.js";
import { createSidecarMetrics } from "../src/metrics.js";
import { type Sidecar, startSidecar } from "../src/sidecar.js";
import { concurrentRequests, LogCapture, rawRequest, waitFor } from "./helpers.js";

const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.stop();
});

let sidecar: Sidecar | undefined;
let logs: LogCapture;
afterEach(async () => {
  await sidecar?.close();
  sidecar = undefined;
  emulator.faults.clear();
  emulator.counters.reset();
});

/**
 * A sidecar wired as `main.ts` wires it: a credential from `fromConfig` whose hooks feed the sidecar's
 * metrics. `impersonate: false` serves the federated token itself (STS is then the only upstream).
 */
async function startBackedSidecar(options: { impersonate?: boolean; retryBackoffMs?: number } = {}) {
  logs = new LogCapture();
  const logger = createLogger({ level: "debug", destination: logs });
  const metrics = createSidecarMetrics();
  const credentials = await fromConfig(
    emulator.credentialConfig(
      options.impersonate === false ? { source: "url" } : { source: "url", serviceAccount: "wifkit-reader" },
    ),
    {
      allow: { origins: emulator.allowOrigins },
      clock: emulator.clock,
      retry: { baseDelayMs: 10, maxDelayMs: 50, retries: 2 },
      ...(options.retryBackoffMs === undefined ? {} : { retryBackoffMs: options.retryBackoffMs }),
      ...tokenHooks(metrics, logger),
    },
  );
  sidecar = await startSidecar({
    source: credentials,
    metrics,
    metadata: metadataValues(credentials, {}, "test-host"),
    clock: emulator.clock,
    port: 0,
    adminPort: 0,
    logger,
    keepWarmIntervalMs: 25,
  });
  return sidecar;
}

function tokenOf(body: string): string {
  return (JSON.parse(body) as { access_token: string }).access_token;
}

describe("a credential without a service account", () => {
  it("serves the federated token and the documented stand-in email, and no identity route (404, not 503)", async () => {
    const credentials = await fromConfig(emulator.credentialConfig({ source: "url" }), {
      allow: { origins: emulator.allowOrigins },
    });
    sidecar = await startSidecar({
      source: credentials,
      metadata: metadataValues(credentials, { projectId: "wifkit-demo" }, "test-host"),
      port: 0,
      adminPort: 0,
      logger: createLogger({ level: "silent" }),
    });
    const running = sidecar;
    await waitFor(() => running.ready);
    const email = await rawRequest(
      running.url,
      "/computeMetadata/v1/instance/service-accounts/default/email",
    );
    expect(email.body).toBe("wifkit-demo.svc.id.goog");
    const number = await rawRequest(running.url, "/computeMetadata/v1/project/numeric-project-id");
    expect(number.body).toBe("123456789012");
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(0);
    const identity = await rawRequest(
      running.url,
      "/computeMetadata/v1/instance/service-accounts/default/identity?audience=x",
    );
    // As GCE answers for an account the instance does not have: 404, which clients do not retry.
    expect(identity.status).toBe(404);
    expect(identity.headers["retry-after"]).toBeUndefined();
    expect(emulator.counters.get("iam.generateIdToken")).toBe(0);
  });
});

describe("herd", () => {
  it("2,000 concurrent token requests on a cold start cause exactly one STS exchange and one impersonation", async () => {
    // Slow STS down so that every request arrives while the first exchange is in flight.
    emulator.faults.inject("sts.token", { delayMs: 3000 });
    const running = await startBackedSidecar();
    const responses = await concurrentRequests(running.url, TOKEN, 2000);
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(new Set(responses.map((response) => tokenOf(response.body))).size).toBe(1);
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
    // Most of them really did wait on that one exchange.
    expect(running.metrics.cacheMisses.get(["access_token"])).toBeGreaterThan(1000);
  });
});

describe("STS outage", () => {
  // Without impersonation the served token is the STS token itself. (With impersonation, the credential keeps
  // minting service account tokens from its cached federated token while STS is down, until that one expires.)
  it("keeps serving the valid token, reports failures, never serves it expired, and recovers", async () => {
    const running = await startBackedSidecar({ impersonate: false, retryBackoffMs: 100 });
    await waitFor(() => running.ready);
    const first = await rawRequest(running.url, TOKEN);
    const before = tokenOf(first.body);
    expect((JSON.parse(first.body) as { expires_in: number }).expires_in).toBeGreaterThan(3500);

    emulator.faults.inject("sts.token", { status: 503, forMs: 24 * 3600_000 });
    const failures = () =>
      running.metrics.tokenRefreshFailures.get(["access_token", "ERR_WIF_STS_UNAVAILABLE"]);

    // Into the refresh window (5 minutes before expiry): refreshes fail, the valid token is served.
    emulator.clock.advance(56 * 60_000);
    const during = await rawRequest(running.url, TOKEN);
    expect(during.status).toBe(200);
    expect(tokenOf(during.body)).toBe(before);
    await waitFor(() => failures() >= 2);
    // Longer than a refresh cycle later, still the same token, still failing upstream.
    emulator.clock.advance(2 * 60_000);
    const later = await rawRequest(running.url, TOKEN);
    expect(tokenOf(later.body)).toBe(before);
    const failuresSoFar = failures();
    await waitFor(() => failures() > failuresSoFar);
    const metrics = await (await fetch(`${running.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /wif_sidecar_token_refresh_failures_total\{kind="access_token",code="ERR_WIF_STS_UNAVAILABLE"\} [1-9]\d*/,
    );
    expect(metrics).toMatch(
      /wif_sidecar_upstream_duration_seconds_count\{kind="access_token",outcome="failure"\} [1-9]/,
    );

    // Past expiry: 503, never the expired token.
    emulator.clock.advance(3 * 60_000);
    const expired = await rawRequest(running.url, TOKEN);
    expect(expired.status).toBe(503);
    expect(expired.body).toContain("ERR_WIF_STS_UNAVAILABLE");
    expect(expired.body).not.toContain(before);
    expect(expired.headers["metadata-flavor"]).toBe("Google");

    // STS back: a fresh token.
    emulator.faults.clear();
    await waitFor(async () => (await rawRequest(running.url, TOKEN)).status === 200);
    const recovered = await rawRequest(running.url, TOKEN);
    expect(tokenOf(recovered.body)).not.toBe(before);
  });
});
