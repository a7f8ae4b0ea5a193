import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runWif, scratch, WIF } from "./helpers.js";

let emulator: Emulator;
const dir = scratch();
let config: string;
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator();
  config = join(dir.dir, "aws-sa.json");
  writeFileSync(
    config,
    JSON.stringify(emulator.credentialConfig({ source: "aws", serviceAccount: "wifkit-reader" })),
  );
  env = {
    ...emulator.awsEnv(),
    WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
    WIF_CACHE_DIR: join(dir.dir, "cache"),
  };
});
afterAll(async () => {
  await emulator.stop();
  dir.cleanup();
});

const node = process.execPath;

describe("wif exec", () => {
  it("runs the command with both token variables set to the token wif token prints (from the cache)", async () => {
    emulator.counters.reset();
    const token = await runWif(["token", "--config", config], { env });
    const result = await runWif(
      [
        "exec",
        "--config",
        config,
        "--",
        node,
        "-e",
        "console.log(process.env.CLOUDSDK_AUTH_ACCESS_TOKEN); console.log(process.env.GOOGLE_OAUTH_ACCESS_TOKEN)",
      ],
      { env },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${token.stdout}${token.stdout}`);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
  });

  it("accepts the command without -- and passes its arguments untouched", async () => {
    const result = await runWif(
      [
        "exec",
        "--config",
        config,
        node,
        "-e",
        "console.log(process.argv.slice(1).join('|'))",
        "--",
        "--help",
        "x",
      ],
      { env },
    );
    expect(result.stdout).toBe("--help|x\n");
  });

  it("passes the command's exit code through", async () => {
    const result = await runWif(["exec", "--config", config, "--", node, "-e", "process.exit(7)"], { env });
    expect(result.code).toBe(7);
  });

  it("exits 127 when the command does not exist", async () => {
    const result = await runWif(["exec", "--config", config, "--", "/nonexistent/program"], { env });
    expect(result.code).toBe(127);
    expect(result.stderr).toBe("error: wif exec: command not found: /nonexistent/program\n");
  });

  it("does not run the command when no token can be had", async () => {
    const result = await runWif(
      ["exec", "--config", join(dir.dir, "missing.json"), "--", node, "-e", "console.log('ran')"],
      { env },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error \[ERR_WIF_CONFIG_NOT_FOUND\]/);
  });

  it("--metadata: a google-auth-library child gets a token, forces a refresh and gets one again from wif's metadata server", async () => {
    emulator.counters.reset();
    const script = join(import.meta.dirname, "fixtures/metadata-child.cjs");
    const result = await runWif(["exec", "--metadata", "--config", config, "--", node, script], {
      env: {
        ...env,
        GOOGLE_APPLICATION_CREDENTIALS: join(dir.dir, "elsewhere.json"),
        CLOUDSDK_AUTH_ACCESS_TOKEN: "stale",
      },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(3);
    const child = JSON.parse(result.stdout) as {
      env: Record<string, string | null>;
      clientType: string;
      tokens: string[];
      refreshes: number;
      expiryAfterRefresh: number;
      projectId: string;
    };
    const host = child.env.GCE_METADATA_HOST;
    expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(child.env).toEqual({
      GCE_METADATA_HOST: host,
      GCE_METADATA_IP: host,
      GCE_METADATA_ROOT: host,
      GOOGLE_APPLICATION_CREDENTIALS: null,
      CLOUDSDK_AUTH_ACCESS_TOKEN: null,
      GOOGLE_OAUTH_ACCESS_TOKEN: null,
    });
    expect(child.clientType).toBe("Compute");
    expect(child.projectId).toBe("wifkit-demo");
    // Two fetches from the metadata server (the second one forced), each a token that reads the guarded object.
    expect(child.refreshes).toBe(2);
    expect(child.tokens).toHaveLength(2);
    expect(child.expiryAfterRefresh).toBeGreaterThan(Date.now());
    for (const token of child.tokens) {
      const object = await fetch(
        `${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`,
        {
          headers: { Authorization: `Bearer ${token}` },
        },
      );
      expect(object.status).toBe(200);
    }
    // Both answered from wif's credential cache: one exchange, one impersonation.
    expect(emulator.counters.get("sts.token")).toBe(1);
    expect(emulator.counters.get("iam.generateAccessToken")).toBe(1);
    // The server stopped with the command.
    const [, port] = host!.split(":");
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it("--metadata: does not run the command when no token can be had", async () => {
    emulator.faults.inject("sts.token", { status: 400, forMs: 60_000 });
    try {
      const result = await runWif(
        ["exec", "--metadata", "--config", config, "--", node, "-e", "console.log('ran')"],
        {
          env,
        },
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^error \[ERR_WIF_STS_/);
    } finally {
      emulator.faults.clear();
    }
  });

  it("forwards SIGTERM to the command and reports how it ended", async () => {
    const script =
      "process.on('SIGTERM', () => { console.log('child got SIGTERM'); process.exit(42); }); console.log('ready'); setInterval(() => {}, 1000);";
    const child = spawn(node, [WIF, "exec", "--config", config, "--", node, "-e", script], {
      env: { ...baseEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    const ready = new Promise<void>((resolve) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        if (stdout.includes("ready")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await ready;
    child.kill("SIGTERM");
    const code = await exited;
    clearTimeout(timer);
    expect(stdout).toContain("child got SIGTERM");
    expect(code).toBe(42);
  });
});
