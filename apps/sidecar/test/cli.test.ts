/**
 * The built `wif-sidecar` binary as a child process: exit statuses, --probe, serving from a credential config
 * file (backed by the emulator), a graceful SIGTERM that lets an in-flight request finish, and the Google
 * endpoints reached through a real CONNECT proxy (`--proxy`, `WIF_SIDECAR_PROXY`) with HTTP traced at debug.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type TestProxy } from "../../../tooling/test-proxy.js";
import {
  awsFlowSecrets,
  googleRoutes,
  leakedSecrets,
  startGoogleForwarder,
  TEST_CA_PATH,
  type TlsForwarder,
  withGoogleEndpoints,
} from "../../../tooling/tls-forwarder.js";
import { rawRequest, waitFor } from "./helpers.js";

const appDir = join(import.meta.dirname, "..");
const bin = join(appDir, "dist/main.js");
const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";

function newestSource(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? newestSource(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs,
    ),
  );
}

function runBin(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  output: string[];
  url: Promise<string>;
  exit: Promise<number | null>;
}

function startBin(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const url = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "wif-sidecar listening" && entry.url) resolve(entry.url);
    });
    child.on("exit", () => reject(new Error(`exited before listening: ${output.join("\n")}`)));
  });
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output, url, exit };
}

let emulator: Emulator;
let scratch: string;
let configPath: string;
beforeAll(async () => {
  // The binary is what ships: (re)build it when a source file is newer than it.
  const built = (() => {
    try {
      return statSync(bin).mtimeMs;
    } catch {
      return 0;
    }
  })();
  if (built < newestSource(join(appDir, "src")))
    execFileSync("pnpm", ["run", "build"], { cwd: appDir, stdio: "ignore" });
  emulator = await startEmulator();
  scratch = mkdtempSync(join(tmpdir(), "wif-sidecar-cli-"));
  configPath = emulator.writeCredentialConfig({ source: "url", serviceAccount: "wifkit-reader" });
}, 60_000);
afterAll(async () => {
  await emulator.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  emulator.faults.clear();
});

describe("wif-sidecar binary", () => {
  it("prints help and version with exit 0", async () => {
    const help = await runBin(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--credential-config PATH");
    expect(help.stdout).toContain("WIF_SIDECAR_ALLOWED_HOSTS");
    const version = await runBin(["--version"]);
    expect(version.stdout).toMatch(/^wif-sidecar \d+\.\d+\.\d+\n$/);
  });

  it("exits 2 with one clear line and no stack trace on usage errors and bad credential configs", async () => {
    const badFlag = await runBin(["--credential-config", configPath, "--port", "http"]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toBe(
      'wif-sidecar: --port must be a port number from 0 to 65535, got "http".\nRun wif-sidecar --help for the options.\n',
    );
    const missing = await runBin([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("GOOGLE_APPLICATION_CREDENTIALS");
    const broken = join(scratch, "broken.json");
    writeFileSync(broken, '{"type": "external_account", "audience": 42}');
    const invalid = await runBin(["--credential-config", broken, "--port", "0", "--admin-port", "0"]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("audience");
    // The emulator's endpoints without --allow-origin: the policy error names the flag and the variable.
    const refused = await runBin(["--credential-config", configPath, "--port", "0", "--admin-port", "0"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--allow-origin ORIGIN or WIF_ALLOW_ORIGINS (wif, wif-sidecar)");
    const malformed = await runBin(["--credential-config", configPath], { WIF_ALLOW_ORIGINS: "127.0.0.1:1" });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/^wif-sidecar: WIF_ALLOW_ORIGINS: '127\.0\.0\.1:1' is not an origin/);
    for (const result of [badFlag, missing, invalid, refused, malformed]) {
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("serves a universe other than googleapis.com only when --universe-domain approves it", async () => {
    const sovereign = join(scratch, "sovereign.json");
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    writeFileSync(sovereign, JSON.stringify({ ...config, universe_domain: "sovereign.example" }));
    const args = ["--credential-config", sovereign, "--port", "0", "--admin-port", "0"];
    const origins = ["--allow-origin", emulator.allowOrigins.join(",")];
    const refused = await runBin([...args, ...origins]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--universe-domain sovereign.example (wif, wif-sidecar)");
    expect((await runBin([...args, "--universe-domain", "not a domain"])).stderr).toMatch(
      /^wif-sidecar: --universe-domain must be a domain such as googleapis\.com/,
    );

    const running = startBin([...args, ...origins, "--universe-domain", "sovereign.example"], {});
    children.push(running.child);
    const url = await running.url;
    const universe = await rawRequest(url, "/computeMetadata/v1/universe/universe-domain");
    expect(universe.body).toBe("sovereign.example");
    expect((await rawRequest(url, TOKEN)).status).toBe(200);
  });

  it("serves tokens from a credential config, reports readiness to --probe, and drains on SIGTERM", async () => {
    const adminPort = await freePort();
    const env = { WIF_SIDECAR_ADMIN_PORT: String(adminPort) };
    const running = startBin(
      ["--credential-config", configPath, "--port", "0", "--allow-origin", emulator.allowOrigins.join(",")],
      env,
    );
    children.push(running.child);
    const url = await running.url;
    await waitFor(async () => (await runBin(["--probe"], env)).code === 0, 10_000);
    const probe = await runBin(["--probe"], env);
    expect(probe.stdout).toBe("ready\n");
    const first = await rawRequest(url, TOKEN);
    expect(first.status).toBe(200);
    const token = (JSON.parse(first.body) as { access_token: string }).access_token;

    // A request in flight (a new scope set, its impersonation call held by the emulator) when SIGTERM
    // arrives; the held answer is released by moving the emulator's clock, never by waiting.
    emulator.faults.inject("iam.generateAccessToken", { delayMs: 60_000 });
    const calls = emulator.counters.get("iam.generateAccessToken");
    const inFlight = rawRequest(url, `${TOKEN}?scopes=https://www.googleapis.com/auth/devstorage.read_only`);
    await waitFor(() => emulator.counters.get("iam.generateAccessToken") === calls + 1, 10_000);
    running.child.kill("SIGTERM");
    await waitFor(() => running.output.join("").includes('"msg":"signal received"'), 10_000);
    emulator.clock.advance(60_000);
    const answered = await inFlight;
    emulator.clock.set(Date.now());
    expect(answered.status).toBe(200);
    expect(await running.exit).toBe(0);
    expect((await runBin(["--probe"], env)).code).toBe(1);
    const logs = running.output.join("\n");
    expect(logs).toContain('"msg":"signal received"');
    expect(logs).not.toContain(token);
  });

  it("is not ready while no token can be obtained, and stops on SIGINT", async () => {
    emulator.faults.inject("sts.token", { status: 503, forMs: 3600_000 });
    const adminPort = await freePort();
    // wif's variable for extra origins works for the sidecar too.
    const env = {
      WIF_SIDECAR_ADMIN_PORT: String(adminPort),
      WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(" "),
    };
    const running = startBin(["--credential-config", configPath, "--port", "0"], env);
    children.push(running.child);
    await running.url;
    const probe = await runBin(["--probe"], env);
    expect(probe.code).toBe(1);
    expect(probe.stderr).toContain("waiting for the first token");
    running.child.kill("SIGINT");
    expect(await running.exit).toBe(0);
  });
});

describe("wif-sidecar behind a proxy, logging HTTP at debug level", () => {
  const PROXY_USER = "sidecar-proxy-user";
  const PROXY_PASSWORD = "hunter2-sidecar-proxy";
  const offlineDns = fileURLToPath(new URL("../../../tooling/offline-dns.cjs", import.meta.url));
  let forwarder: TlsForwarder;
  let awsConfigPath: string;
  const proxies: TestProxy[] = [];
  beforeAll(async () => {
    forwarder = await startGoogleForwarder(emulator.urls);
    awsConfigPath = join(scratch, "aws-google-endpoints.json");
    const config = emulator.credentialConfig({
      source: "aws",
      imdsv2: true,
      serviceAccount: "wifkit-reader",
    });
    writeFileSync(awsConfigPath, JSON.stringify(withGoogleEndpoints(config)));
  });
  afterAll(() => forwarder.close());
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  async function googleProxy(options: Parameters<typeof startProxy>[0] = {}) {
    const proxy = await startProxy({ routes: googleRoutes(forwarder), ...options });
    proxies.push(proxy);
    return { proxy, withPassword: proxy.url.replace("://", `://${PROXY_USER}:${PROXY_PASSWORD}@`) };
  }

  /** The sidecar on the emulated AWS instance, trusting the test CA, with DNS jailed. */
  function startAwsSidecar(args: string[], env: Record<string, string>): Running {
    const running = startBin(
      [
        "--credential-config",
        awsConfigPath,
        "--port",
        "0",
        "--admin-port",
        "0",
        "--allow-origin",
        [emulator.urls.awsImds, emulator.urls.awsSts].map((url) => new URL(url).origin).join(","),
        ...args,
      ],
      {
        ...emulator.awsEnv(),
        NODE_EXTRA_CA_CERTS: TEST_CA_PATH,
        NODE_OPTIONS: `--require ${offlineDns}`,
        WIFKIT_OFFLINE_DNS: "1",
        ...env,
      },
    );
    children.push(running.child);
    return running;
  }

  it("WIF_SIDECAR_PROXY: tokens through the proxy, each request and response logged, no secret in any line", async () => {
    const { proxy, withPassword } = await googleProxy({
      credentials: { username: PROXY_USER, password: PROXY_PASSWORD },
    });
    const running = startAwsSidecar(["--log-level", "debug"], { WIF_SIDECAR_PROXY: withPassword });
    const response = await rawRequest(await running.url, TOKEN);
    expect(response.status).toBe(200);
    const accessToken = (JSON.parse(response.body) as { access_token: string }).access_token;
    expect(proxy.connects).toEqual([
      { target: "sts.googleapis.com:443", tunnelled: true },
      { target: "iamcredentials.googleapis.com:443", tunnelled: true },
    ]);
    running.child.kill("SIGTERM");
    await running.exit;

    const lines = running.output.flatMap((chunk) => chunk.split("\n")).filter(Boolean);
    const messages = lines.map((line) => (JSON.parse(line) as { msg?: string; level?: number }).msg ?? "");
    const imds = new URL(emulator.urls.awsImds).origin;
    for (const expected of [
      `--> PUT ${imds}/latest/api/token (`,
      `--> POST https://sts.googleapis.com/v1/token via ${proxy.url} (Google STS token exchange, attempt 1)`,
      "<-- 200 POST https://sts.googleapis.com/v1/token ",
      "--> POST https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/",
      "<-- 200 POST https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/",
    ]) {
      expect(
        messages.some((message) => message.startsWith(expected)),
        expected,
      ).toBe(true);
    }
    const traced = lines.filter((line) => line.includes('"http":{'));
    expect(traced.length).toBeGreaterThanOrEqual(6);
    expect(traced.every((line) => (JSON.parse(line) as { level: number }).level === 20)).toBe(true);
    const aws = emulator.awsCredentials("instance");
    const secrets = awsFlowSecrets(forwarder, {
      "AWS secret access key": aws.secretAccessKey,
      "access token": accessToken,
      "proxy password": PROXY_PASSWORD,
    });
    expect(leakedSecrets(lines.join("\n"), secrets)).toEqual([]);
    expect(lines.join("\n")).not.toContain(PROXY_USER);
  });

  it("--proxy wins over HTTPS_PROXY; a refusing proxy is named without its credentials", async () => {
    const { proxy, withPassword } = await googleProxy({ refuse: 502 });
    const unused = await googleProxy();
    const running = startAwsSidecar(["--proxy", withPassword], { HTTPS_PROXY: unused.proxy.url });
    const response = await rawRequest(await running.url, TOKEN);
    expect(response.status).toBe(503);
    expect(unused.proxy.connects).toEqual([]);
    expect(proxy.connects[0]).toEqual({ target: "sts.googleapis.com:443", tunnelled: false });
    const everything = `${response.body}\n${running.output.join("\n")}`;
    expect(everything).toContain(
      `The proxy ${proxy.url} refused to connect to https://sts.googleapis.com/v1/token (HTTP 502)`,
    );
    expect(everything).not.toContain(PROXY_PASSWORD);
    expect(everything).not.toContain(PROXY_USER);
  });

  it("a malformed --proxy or WIF_SIDECAR_PROXY is a usage error that does not repeat the value", async () => {
    const flag = await runBin([
      "--credential-config",
      configPath,
      "--proxy",
      `socks5://u:${PROXY_PASSWORD}@p:1`,
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^wif-sidecar: --proxy uses socks5:; only http:\/\/ and https:\/\/ proxies/);
    const variable = await runBin(["--credential-config", configPath], { WIF_SIDECAR_PROXY: "http://[bad" });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toMatch(/^wif-sidecar: WIF_SIDECAR_PROXY is not a proxy URL/);
    expect(`${flag.stderr}${variable.stderr}`).not.toContain(PROXY_PASSWORD);
  });
});
