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
