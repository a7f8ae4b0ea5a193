/**
 * `wif --proxy` and `wif --log-http` as a workload behind a corporate egress proxy runs them: the config
 * names the real Google endpoints, the test proxy tunnels them to a TLS forwarder (certificate signed by the
 * test CA, which the child trusts through NODE_EXTRA_CA_CERTS) in front of the emulator, and the AWS
 * metadata stays on the emulator's loopback ports. DNS is jailed in the child (`tooling/offline-dns.cjs`):
 * whatever does not go through the proxy cannot reach a real host.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startProxy, type TestProxy } from "../../../tooling/test-proxy.js";
import {
  awsFlowSecrets,
  GOOGLE_HOSTS,
  googleRoutes,
  leakedSecrets,
  startGoogleForwarder,
  TEST_CA_PATH,
  type TlsForwarder,
  withGoogleEndpoints,
} from "../../../tooling/tls-forwarder.js";
import { runWif, scratch } from "./helpers.js";

const OFFLINE_DNS = fileURLToPath(new URL("../../../tooling/offline-dns.cjs", import.meta.url));
const PROXY_USER = "wif-proxy-user";
const PROXY_PASSWORD = "hunter2-proxy-password";

let emulator: Emulator;
let forwarder: TlsForwarder;
const dir = scratch();
let awsConfig: string;
const proxies: TestProxy[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  forwarder = await startGoogleForwarder(emulator.urls);
  awsConfig = join(dir.dir, "aws-google-endpoints.json");
  const config = emulator.credentialConfig({ source: "aws", imdsv2: true, serviceAccount: "wifkit-reader" });
  writeFileSync(awsConfig, JSON.stringify(withGoogleEndpoints(config)));
});
afterAll(async () => {
  await forwarder.close();
  await emulator.stop();
  dir.cleanup();
});
beforeEach(() => {
  emulator.counters.reset();
  emulator.faults.clear();
  forwarder.requests.length = 0;
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

async function googleProxy(options: Parameters<typeof startProxy>[0] = {}): Promise<TestProxy> {
  const proxy = await startProxy({ routes: googleRoutes(forwarder), ...options });
  proxies.push(proxy);
  return proxy;
}

const withPassword = (proxy: TestProxy, password = PROXY_PASSWORD) =>
  proxy.url.replace("://", `://${PROXY_USER}:${password}@`);

/** `wif ARGS` on the emulated AWS instance, trusting the test CA, with DNS jailed and no cache. */
function wif(args: string[], env: Record<string, string> = {}) {
  return runWif(args, {
    env: {
      ...emulator.awsEnv(),
      // Only the emulator's AWS metadata needs approving: the Google endpoints are the real ones.
      WIF_ALLOW_ORIGINS: [emulator.urls.awsImds, emulator.urls.awsSts]
        .map((url) => new URL(url).origin)
        .join(","),
      NODE_EXTRA_CA_CERTS: TEST_CA_PATH,
      NODE_OPTIONS: `--require ${OFFLINE_DNS}`,
      WIFKIT_OFFLINE_DNS: "1",
      ...env,
    },
  });
}

/** Every secret of the AWS flow with impersonation that just ran. */
function secretsOfTheRun(accessToken: string): Record<string, string> {
  const aws = emulator.awsCredentials("instance");
  const secrets = awsFlowSecrets(forwarder, {
    "AWS secret access key": aws.secretAccessKey,
    "access token": accessToken,
    "proxy password": PROXY_PASSWORD,
  });
  expect(secrets["AWS session token"]).toBe(aws.sessionToken);
  return secrets;
}

describe("wif token --proxy", () => {
  it("gets an impersonated token through the proxy; the AWS metadata never reaches it", async () => {
    const proxy = await googleProxy({ credentials: { username: PROXY_USER, password: PROXY_PASSWORD } });
    const result = await wif(["token", "--config", awsConfig, "--no-cache", "--proxy", withPassword(proxy)]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\S+\n$/);
    expect(proxy.connects).toEqual([
      { target: `${GOOGLE_HOSTS.sts}:443`, tunnelled: true },
      { target: `${GOOGLE_HOSTS.iamCredentials}:443`, tunnelled: true },
    ]);
    expect(emulator.counters.get("aws.imds.credentials")).toBeGreaterThan(0);
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  });

  it("HTTPS_PROXY is honoured without the flag, and NO_PROXY sends the host direct (where the jailed DNS fails it)", async () => {
    const proxy = await googleProxy();
    const viaEnv = await wif(["token", "--config", awsConfig, "--no-cache"], { HTTPS_PROXY: proxy.url });
    expect(viaEnv.code).toBe(0);
    expect(proxy.connects.map((entry) => entry.target)).toEqual([
      `${GOOGLE_HOSTS.sts}:443`,
      `${GOOGLE_HOSTS.iamCredentials}:443`,
    ]);

    proxy.connects.length = 0;
    const bypassed = await wif(["token", "--config", awsConfig, "--no-cache", "--proxy", proxy.url], {
      NO_PROXY: "127.0.0.1,.googleapis.com",
    });
    expect(bypassed.code).toBe(1);
    expect(bypassed.stderr).toContain(`https://${GOOGLE_HOSTS.sts}/v1/token failed: ENOTFOUND`);
    expect(proxy.connects).toEqual([]);
    expect(emulator.counters.get("sts.token")).toBe(1);
  });

  it.each([
    [
      "407",
      { credentials: { username: PROXY_USER, password: "the-right-one" } },
      "(HTTP 407); the proxy wants credentials: put them in the proxy URL (http://USER:PASSWORD@HOST:PORT)",
    ],
    ["502", { refuse: 502 as const }, "(HTTP 502); check the proxy and NO_PROXY"],
  ])(
    "a proxy answering %s: one clear error naming it, without its credentials",
    async (_status, options, hint) => {
      const proxy = await googleProxy(options);
      const result = await wif([
        "token",
        "--config",
        awsConfig,
        "--no-cache",
        "--proxy",
        withPassword(proxy),
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `error [ERR_WIF_PROXY]: The proxy ${proxy.url} refused to connect to https://${GOOGLE_HOSTS.sts}/v1/token ${hint}.\n`,
      );
      expect(result.stderr).not.toContain(PROXY_USER);
      expect(result.stderr).not.toContain(PROXY_PASSWORD);
      expect(emulator.counters.get("sts.token")).toBe(0);
    },
  );

  it("a proxy that resets every tunnel: one clear error naming it after the retries, and the process exits", async () => {
    const proxy = await googleProxy({ refuse: "reset" });
    const result = await wif(["token", "--config", awsConfig, "--no-cache", "--proxy", withPassword(proxy)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error [ERR_WIF_PROXY]: The request to https://${GOOGLE_HOSTS.sts}/v1/token through the proxy ${proxy.url} failed: ECONNRESET.\n`,
    );
    expect(result.stderr).not.toContain(PROXY_PASSWORD);
    // One CONNECT per attempt (the first and its three retries), never a reconnect loop.
    expect(proxy.connects).toHaveLength(4);
  });

  it("a regional endpoint, as create-cred-config --sts-location writes it, gets a token the same way", async () => {
    const proxy = await googleProxy();
    // The emulator's file source: a Kubernetes token file with the provider's audience.
    const fileConfig = emulator.credentialConfig({ source: "file" });
    const tokenFile = (fileConfig.credential_source as { file: string }).file;
    const regionalConfig = join(dir.dir, "regional.json");
    const email = emulator.serviceAccountEmail("wifkit-reader");
    const created = await wif([
      "create-cred-config",
      fileConfig.audience.replace("//iam.googleapis.com/", ""),
      "--credential-source-file",
      tokenFile,
      "--sts-location",
      "us-east1",
      "--service-account",
      email,
      "--output-file",
      regionalConfig,
    ]);
    expect(created.code).toBe(0);
    const result = await wif(["token", "--config", regionalConfig, "--no-cache", "--proxy", proxy.url]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(proxy.connects.map((entry) => entry.target)).toEqual([
      `${GOOGLE_HOSTS.regionalSts}:443`,
      `${GOOGLE_HOSTS.iamCredentials}:443`,
    ]);
    expect(forwarder.requests.map((request) => `${request.host} ${request.path}`)).toEqual([
      `${GOOGLE_HOSTS.regionalSts} /v1/token`,
      `${GOOGLE_HOSTS.iamCredentials} /v1/projects/-/serviceAccounts/${email}:generateAccessToken`,
    ]);
  });

  it("a malformed --proxy is a usage error naming the flag, never echoing the value", async () => {
    const result = await wif(["token", "--config", awsConfig, "--proxy", `socks5://u:${PROXY_PASSWORD}@p:1`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: wif token: --proxy uses socks5:; only http:\/\/ and https:\/\/ proxies/,
    );
    expect(result.stderr).not.toContain(PROXY_PASSWORD);
  });
});

describe("wif --log-http", () => {
  it.each([
    ["--log-http", ["--log-http"], {}],
    ["WIF_LOG=debug", [], { WIF_LOG: "debug" }],
  ])("%s traces every request and response, and no token, signature or secret", async (_name, flags, env) => {
    const proxy = await googleProxy({ credentials: { username: PROXY_USER, password: PROXY_PASSWORD } });
    emulator.faults.inject("sts.token", { status: 503 });
    const result = await wif(
      [...flags, "token", "--config", awsConfig, "--no-cache", "--proxy", withPassword(proxy)],
      env,
    );
    expect(result.code).toBe(0);
    const trace = result.stderr;
    const email = emulator.serviceAccountEmail("wifkit-reader");
    const imds = new URL(emulator.urls.awsImds).origin;
    const expected = [
      `--> PUT ${imds}/latest/api/token (`,
      `--> GET ${imds}/latest/meta-data/iam/security-credentials/`,
      `--> POST https://${GOOGLE_HOSTS.sts}/v1/token via ${proxy.url} (Google STS token exchange, attempt 1)`,
      new RegExp(`<-- 503 POST https://${GOOGLE_HOSTS.sts}/v1/token \\d+ ms \\(attempt 1\\)`),
      new RegExp(
        `\\.\\.\\. retrying POST https://${GOOGLE_HOSTS.sts}/v1/token in \\d+ ms after HTTP 503 \\(attempt 1\\)`,
      ),
      `--> POST https://${GOOGLE_HOSTS.sts}/v1/token via ${proxy.url} (Google STS token exchange, attempt 2)`,
      new RegExp(`<-- 200 POST https://${GOOGLE_HOSTS.sts}/v1/token \\d+ ms \\(attempt 2\\)`),
      `--> POST https://${GOOGLE_HOSTS.iamCredentials}/v1/projects/-/serviceAccounts/${email}:generateAccessToken via ${proxy.url} (IAM Credentials generateAccessToken, attempt 1)`,
      new RegExp(
        `<-- 200 POST https://${GOOGLE_HOSTS.iamCredentials}/\\S+:generateAccessToken \\d+ ms \\(attempt 1\\)`,
      ),
    ];
    for (const line of expected) {
      if (typeof line === "string") expect(trace).toContain(line);
      else expect(trace).toMatch(line);
    }
    // Every stderr line is a trace line: nothing else was printed.
    expect(
      trace
        .trim()
        .split("\n")
        .every((line) => /^(-->|<--|\.\.\.) /.test(line)),
    ).toBe(true);
    expect(leakedSecrets(trace, secretsOfTheRun(result.stdout.trim()))).toEqual([]);
    expect(trace).not.toContain(PROXY_USER);
    expect(trace).not.toContain("?");
  });
});
