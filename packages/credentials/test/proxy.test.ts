/**
 * Tokens through a real CONNECT proxy on 127.0.0.1, the way a workload behind a corporate egress proxy gets
 * them: the credential config names the real Google endpoints (so the endpoint policy accepts them as they
 * are), the test proxy tunnels `sts.googleapis.com:443` and `iamcredentials.googleapis.com:443` to a local
 * TLS forwarder that presents a certificate for those names (signed by the test CA) and hands the requests
 * to the emulator; the subject token source stays on the emulator's loopback port. DNS is jailed
 * (`tooling/offline-dns.cjs`): whatever does not go through the proxy cannot reach the real hosts.
 */
import { createRequire } from "node:module";
import type { ExternalAccountConfig } from "@wifkit/config";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { createTransport, type HttpTraceEvent, subscribeHttpTrace } from "@wifkit/http";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startProxy, type TestProxy } from "../../../tooling/test-proxy.js";
import {
  GOOGLE_HOSTS,
  googleRoutes,
  startGoogleForwarder,
  TEST_CA_PEM,
  type TlsForwarder,
  withGoogleEndpoints,
} from "../../../tooling/tls-forwarder.js";
import { fromConfig } from "../src/index.js";
import { readGuardedObject } from "./emulator-helpers.js";

const offlineDns = createRequire(import.meta.url)("../../../tooling/offline-dns.cjs") as {
  install(): () => void;
};

const { sts: STS, regionalSts: REGIONAL_STS, iamCredentials: IAM } = GOOGLE_HOSTS;

let emulator: Emulator;
let forwarder: TlsForwarder;
let restoreDns: () => void;
const closers: Array<{ close(): Promise<void> }> = [];
let trace: HttpTraceEvent[];
let stopTrace: () => void;

beforeAll(async () => {
  restoreDns = offlineDns.install();
  emulator = await startEmulator();
  forwarder = await startGoogleForwarder(emulator.urls);
});
afterAll(async () => {
  await forwarder.close();
  await emulator.stop();
  restoreDns();
});
beforeEach(() => {
  emulator.counters.reset();
  trace = [];
  stopTrace = subscribeHttpTrace((event) => trace.push(event));
});
afterEach(async () => {
  stopTrace();
  await Promise.all(closers.splice(0).map((item) => item.close()));
});

/** A proxy that tunnels the Google hosts to the forwarder (and refuses anything else with 502). */
async function googleProxy(options: Parameters<typeof startProxy>[0] = {}): Promise<TestProxy> {
  const proxy = await startProxy({
    routes: googleRoutes(forwarder),
    ...options,
  });
  closers.push(proxy);
  return proxy;
}

/** The emulator's URL-source config with impersonation, its Google endpoints the real ones. */
function googleConfig(tokenUrl?: string): ExternalAccountConfig {
  return withGoogleEndpoints(
    emulator.credentialConfig({ source: "url", serviceAccount: "wifkit-reader" }),
    tokenUrl,
  );
}

/** Every URL the credential asked for, as its trace shows them. */
const requested = () => trace.filter((event) => event.phase === "request").map((event) => event.url);

describe("through a CONNECT proxy to the real Google host names", () => {
  it("gets an impersonated token with every Google request tunnelled and the subject token fetched direct", async () => {
    const proxy = await googleProxy();
    const config = googleConfig();
    const credentials = await fromConfig(config, {
      transport: createTransport({ proxy: proxy.url, tls: { ca: TEST_CA_PEM } }),
    });
    const token = await credentials.getAccessToken();
    // A token Google (the emulator) accepts: the guarded object reads with it.
    expect((await readGuardedObject(emulator, { authorization: `Bearer ${token.value}` })).status).toBe(200);
    expect(proxy.connects).toEqual([
      { target: `${STS}:443`, tunnelled: true },
      { target: `${IAM}:443`, tunnelled: true },
    ]);
    expect(forwarder.requests.slice(-2).map((request) => `${request.host} ${request.path}`)).toEqual([
      `${STS} /v1/token`,
      `${IAM} /v1/projects/-/serviceAccounts/${emulator.serviceAccountEmail("wifkit-reader")}:generateAccessToken`,
    ]);
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
    // The subject token came from the emulator's loopback port, never through the proxy.
    const subjectTokenUrl = new URL((config.credential_source as { url: string }).url);
    expect(requested()).toContain(`${subjectTokenUrl.origin}${subjectTokenUrl.pathname}`);
    expect(proxy.connects.map((entry) => entry.target)).not.toContain(subjectTokenUrl.host);
    expect(proxy.connects.some((entry) => entry.target.startsWith("127.0.0.1"))).toBe(false);
    // Traces name the proxy on the tunnelled requests, and on those only.
    const viaProxy = trace.filter((event) => event.phase === "request" && event.proxy === proxy.url);
    expect(viaProxy.map((event) => new URL(event.url).host)).toEqual([STS, IAM]);
  });

  it("gets a token from a regional STS endpoint the same way", async () => {
    const proxy = await googleProxy();
    const credentials = await fromConfig(googleConfig(`https://${REGIONAL_STS}/v1/token`), {
      transport: createTransport({ proxy: proxy.url, tls: { ca: TEST_CA_PEM } }),
    });
    await expect(credentials.getAccessToken()).resolves.toMatchObject({ type: "access_token" });
    expect(proxy.connects.map((entry) => entry.target)).toEqual([`${REGIONAL_STS}:443`, `${IAM}:443`]);
    expect(emulator.counters.get("sts.token")).toBe(1);
  });

  it("reads HTTPS_PROXY and NO_PROXY from the env option, not the process environment", async () => {
    const proxy = await googleProxy();
    // Exempted by NO_PROXY, STS is dialled direct: the jailed DNS fails it, and the proxy never sees it.
    const bypassing = await fromConfig(googleConfig(), {
      env: { HTTPS_PROXY: proxy.url, NO_PROXY: ".googleapis.com" },
      retry: false,
    });
    const error = await bypassing.getAccessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_NETWORK" });
    expect((error as Error).message).toContain(`https://${STS}/v1/token failed: ENOTFOUND`);
    expect(proxy.connects).toEqual([]);
    expect(emulator.counters.get("sts.token")).toBe(0);

    // Without NO_PROXY the same env sends STS through the proxy (the tunnel opens; TLS then refuses the
    // test certificate, which this transport was not told to trust).
    const proxied = await fromConfig(googleConfig(), { env: { HTTPS_PROXY: proxy.url }, retry: false });
    await proxied.getAccessToken().catch(() => undefined);
    expect(proxy.connects).toEqual([{ target: `${STS}:443`, tunnelled: true }]);
  });
});

describe("a proxy that refuses", () => {
  const secretProxyUrl = (proxy: TestProxy) => proxy.url.replace("://", "://wif-user:hunter2-proxy-secret@");
  const expectNoProxySecret = (error: unknown) => {
    for (const text of [String((error as Error).stack), JSON.stringify(error), JSON.stringify(trace)]) {
      expect(text).not.toContain("hunter2-proxy-secret");
      expect(text).not.toContain("wif-user");
    }
  };

  it.each([
    [
      "407 (wrong credentials)",
      { credentials: { username: "wif-user", password: "right" } },
      /refused to connect to https:\/\/sts\.googleapis\.com\/v1\/token \(HTTP 407\); the proxy wants credentials/,
    ],
    [
      "502",
      { refuse: 502 as const },
      /refused to connect to https:\/\/sts\.googleapis\.com\/v1\/token \(HTTP 502\)/,
    ],
  ])(
    "%s: fromConfig(..., { proxy }) fails naming the proxy without its credentials",
    async (_name, options, message) => {
      const proxy = await googleProxy(options);
      const credentials = await fromConfig(googleConfig(), { proxy: secretProxyUrl(proxy), retry: false });
      const error = await credentials.getAccessToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "ERR_WIF_PROXY" });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain(proxy.url);
      for (const text of [String((error as Error).stack), JSON.stringify(error), JSON.stringify(trace)]) {
        expect(text).not.toContain("hunter2-proxy-secret");
        expect(text).not.toContain("wif-user");
      }
      expect(proxy.connects.map((entry) => entry.target)).toEqual([`${STS}:443`]);
      expect(emulator.counters.get("sts.token")).toBe(0);
    },
  );

  it("a reset fails the attempt at once, naming the proxy without its credentials; one CONNECT per attempt", async () => {
    const proxy = await googleProxy({ refuse: "reset" });
    const credentials = await fromConfig(googleConfig(), { proxy: secretProxyUrl(proxy), retry: false });
    const error = await credentials.getAccessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_PROXY" });
    expect((error as Error).message).toContain(
      `https://${STS}/v1/token through the proxy ${proxy.url} failed`,
    );
    expect(proxy.connects).toHaveLength(1);
    expectNoProxySecret(error);
  });

  it("a malformed proxy option is refused naming the option, never echoing it", async () => {
    const error = await fromConfig(googleConfig(), {
      proxy: "socks5://wif-user:hunter2-proxy-secret@p:1",
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_INVALID_OPTION", field: "proxy" });
    expect((error as Error).message).not.toContain("hunter2");
  });
});
