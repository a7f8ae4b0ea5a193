import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { baseEnv, runWif, WIF } from "./helpers.js";

describe("wif emulator", () => {
  it("serves the emulated services until SIGTERM, printing their URLs and the origins to allow", async () => {
    const child = spawn(process.execPath, [WIF, "emulator", "--quiet"], {
      env: baseEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const started = new Promise<void>((resolve) => {
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (stderr.includes("Credential configuration (AWS")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    await started;
    const sts = /STS token URL: (http:\/\/127\.0\.0\.1:\d+)\/v1\/token/.exec(stderr)?.[1];
    expect(sts).toBeDefined();
    expect(stderr).toMatch(/export WIF_ALLOW_ORIGINS=http:\/\/127\.0\.0\.1:\d+,/);
    const response = await fetch(`${sts}/v1/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "x" }),
    });
    expect(response.status).toBe(400);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    clearTimeout(timer);
    expect(stderr).toContain("wif emulator: stopped");
  });
});

describe("wif demo", () => {
  it("runs the AWS flow, the Azure flow and the refused request, and exits 0", async () => {
    const result = await runWif(["demo"], { timeoutMs: 60_000 });
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      "✔ IMDSv2: session token, then the instance role's temporary credentials",
    );
    expect(result.stderr).toContain(
      "AWS says the caller is arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role/i-0a1b2c3d4e5f60718",
    );
    expect(result.stderr).toContain(
      '✔ Read gs://wifkit-bucket/hello.txt as the service account\n    200 OK: "hello from wifkit\\n"',
    );
    expect(result.stderr).toContain(
      "✔ Read gs://wifkit-bucket/hello.txt directly as the federated principal",
    );
    expect(result.stderr).toContain("refused as expected: [ERR_WIF_STS_REJECTED_BY_CONDITION]");
    expect(result.stderr).not.toContain("✖");
    expect(result.stderr).toContain("Every step behaved as expected.");
    expect(result.code).toBe(0);
  });
});
