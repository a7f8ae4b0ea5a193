/**
 * The sidecar backed by the emulator through @wifkit/credentials: real Google client libraries, the herd,
 * and an STS outage.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromConfig } from "@wifkit/credentials";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metadataValues } from "../src/credential-source.js";
import { createLogger } from "../src/logger.js";
import { createSidecarMetrics } from "../src/metrics.js";
import { type Sidecar, startSidecar } from "../src/sidecar.js";
import { tokenHooks } from "../src/tokens.js";
import { concurrentRequests, LogCapture, rawRequest, waitFor } from "./helpers.js";

const run = promisify(execFile);
const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";
const READER = "wifkit-reader@wifkit-demo.iam.gserviceaccount.com";

let emulator: Emulator;
let home: string;
beforeAll(async () => {
  emulator = await startEmulator();
  home = await mkdtemp(join(tmpdir(), "wif-sidecar-home-"));
});
afterAll(async () => {
  await emulator.stop();
  await rm(home, { recursive: true, force: true });
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

describe("real Google client libraries against the sidecar", () => {
  it("google-auth-library and gcp-metadata, unmodified, get an access token, the project and an ID token", async () => {
    const running = await startBackedSidecar();
    await waitFor(() => running.ready);
    const audience = "https://reports.example.run.app";
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      CLOUDSDK_CONFIG: join(home, "gcloud"),
      GCE_METADATA_HOST: running.metadataHost!,
    };
    const { stdout } = await run(
      process.execPath,
      [join(import.meta.dirname, "fixtures/google-client.mjs"), audience],
      {
        env,
        cwd: join(import.meta.dirname, ".."),
        timeout: 20_000,
      },
    );
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      isAvailable: true,
      projectIdFromMetadata: "wifkit-demo",
      numericProjectId: "123456789012",
      email: READER,
      universe: "googleapis.com",
      account: {
        aliases: ["default"],
        email: READER,
        scopes: ["https://www.googleapis.com/auth/cloud-platform"],
      },
      clientType: "Compute",
      projectId: "wifkit-demo",
      universeDomain: "googleapis.com",
    });

    // The access token the library got is the impersonated service account's, and it reads the guarded object.
    const object = await fetch(`${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`, {
      headers: { Authorization: `Bearer ${result.accessToken as string}` },
    });
    expect(object.status).toBe(200);
    expect(await object.text()).toBe("hello from wifkit\n");

    // The ID token (format=full through the Compute client) names the audience and carries the email.
    const idToken = result.fetchedIdToken as string;
    expect(result.idTokenHeader).toBe(`Bearer ${idToken}`);
    const claims = JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ aud: audience, iss: "https://accounts.google.com", email: READER });
    expect(emulator.counters.get("iam.generateIdToken")).toBe(1);
    expect(logs.text).not.toContain(result.accessToken as string);
    expect(logs.text).not.toContain(idToken);
  });

  it("without impersonation serves the federated token and the documented stand-in email", async () => {
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
    expect(identity.status).toBe(503);
    expect(identity.body).toContain("ERR_WIF_ID_TOKEN_NEEDS_IMPERSONATION");
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
