import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "./cli.js";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), "wif-emulator-cli-"));
  directories.push(directory);
  return directory;
}

/** Runs the CLI until it has printed its banner, then stops it. */
async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  let stop!: () => void;
  const untilStopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const code = runCli(argv, {
    stdout: (text) => {
      stdout += text;
      stop();
    },
    stderr: (text) => {
      stderr += text;
    },
    untilStopped,
  });
  return { code: await code, stdout, stderr };
}

describe("wif-emulator", () => {
  it("starts from a config file, prints URLs and a credential config pointing at them, and writes configs", async () => {
    const directory = scratch();
    const configPath = join(directory, "emulator.json");
    writeFileSync(configPath, JSON.stringify({ projectNumber: "555555555555" }));
    const output = join(directory, "configs");
    const { code, stdout, stderr } = await run(["--config", configPath, "--write-config", output]);
    expect(code).toBe(0);
    const sts = /^ {2}sts +(http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
    expect(sts).toBeDefined();
    expect(stdout).toContain(`"token_url": "${sts}/v1/token"`);
    expect(stdout).toContain(
      "projects/555555555555/locations/global/workloadIdentityPools/wifkit-pool/providers/aws-provider",
    );
    expect(readdirSync(output).sort()).toEqual(
      ["aws", "aws-imdsv2", "azure", "file", "url"]
        .flatMap((name) => [`${name}-sa.json`, `${name}.json`])
        .sort(),
    );
    const aws = JSON.parse(readFileSync(join(output, "aws-sa.json"), "utf8"));
    expect(aws.service_account_impersonation_url).toMatch(
      /wifkit-reader@wifkit-demo\.iam\.gserviceaccount\.com:generateAccessToken$/,
    );
    expect(statSync(join(output, "aws.json")).mode & 0o777).toBe(0o600);
    expect(stderr).toContain("wif-emulator: stopped");
  });

  it("binds fixed ports from --port-base, and exits 1 when one is taken", async () => {
    // Other processes on the machine may hold ports: try a few bases (bounded) until one is wholly free.
    let result: Awaited<ReturnType<typeof run>> | undefined;
    let base = 0;
    for (let attempt = 0; attempt < 8 && result?.code !== 0; attempt++) {
      base = 20_000 + Math.floor(Math.random() * 20_000);
      result = await run(["--port-base", String(base), "--quiet"]);
      if (result.code !== 0) expect(result.stderr).toContain("EADDRINUSE");
    }
    expect(result?.code).toBe(0);
    expect(result?.stdout).toContain(`sts              http://127.0.0.1:${base}`);
    expect(result?.stdout).toContain(`kubernetes       http://127.0.0.1:${base + 11}`);

    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const taken = (blocker.address() as AddressInfo).port;
      const clash = await run(["--port-base", String(taken), "--quiet"]);
      expect(clash.code).toBe(1);
      expect(clash.stderr).toContain("EADDRINUSE");
    } finally {
      blocker.close();
    }
  });

  it("starts an empty project with --empty, prints gcloud's environment, and keeps the state in --state", async () => {
    const directory = scratch();
    const state = join(directory, "state.json");
    const { code, stdout } = await run(["--empty", "--state", state, "--quiet"]);
    expect(code).toBe(0);
    const iam = /^ {2}iam +(http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
    expect(stdout).toContain(`export CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM=${iam}/`);
    expect(stdout).toMatch(/^ {2}export CLOUDSDK_AUTH_ACCESS_TOKEN=ya29\./m);
    expect(stdout).toContain(`State saved to ${state}`);
    const saved = JSON.parse(readFileSync(state, "utf8"));
    expect(saved.pools).toBeUndefined();
    expect(Object.keys(saved.services).sort()).toEqual([
      "serviceusage.googleapis.com",
      "storage.googleapis.com",
    ]);

    writeFileSync(state, "{ not json");
    const corrupt = await run(["--state", state, "--quiet"]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain(`${state} is not valid JSON`);
  });

  it("exits 2 on bad arguments and unreadable configs, 1 on an invalid config", async () => {
    expect((await run(["--nope"])).code).toBe(2);
    expect((await run(["--port-base", "x"])).code).toBe(2);
    expect((await run(["--config", "/does/not/exist.json"])).code).toBe(2);
    const directory = scratch();
    const bad = join(directory, "bad.json");
    writeFileSync(bad, JSON.stringify({ projectNumber: "wifkit-demo" }));
    const invalid = await run(["--config", bad]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("projectNumber");
  });
});
