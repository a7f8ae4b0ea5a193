import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { baseEnv, runWif, scratch, WIF } from "./helpers.js";

describe("wif emulator", () => {
  it("runs wif-emulator until SIGTERM: its flags, the URLs and origins to allow on stdout, configurations written", async () => {
    const dir = scratch();
    const configs = join(dir.dir, "configs");
    const child = spawn(process.execPath, [WIF, "emulator", "--quiet", "--write-config", configs], {
      env: baseEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const started = new Promise<void>((resolve) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        if (stdout.includes("Credential configs written to")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    try {
      await started;
      const sts = /STS token URL: (http:\/\/127\.0\.0\.1:\d+)\/v1\/token/.exec(stdout)?.[1];
      expect(sts).toBeDefined();
      expect(stdout).toMatch(/export WIF_ALLOW_ORIGINS=http:\/\/127\.0\.0\.1:\d+,/);
      expect(stdout).toContain(`"token_url": "${sts}/v1/token"`);
      const written = JSON.parse(readFileSync(join(configs, "aws-sa.json"), "utf8"));
      expect(written.token_url).toBe(`${sts}/v1/token`);
      const response = await fetch(`${sts}/v1/token`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "x" }),
      });
      expect(response.status).toBe(400);
      // --quiet: no request log.
      expect(stderr).toBe("");
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr).toBe("wif-emulator: stopped\n");
    } finally {
      clearTimeout(timer);
      child.kill("SIGKILL");
      dir.cleanup();
    }
  });

  it("reports an invalid emulator configuration with its code, exit 1", async () => {
    const dir = scratch();
    try {
      const config = join(dir.dir, "emulator.json");
      writeFileSync(config, JSON.stringify({ projectNumber: "my-project" }));
      const result = await runWif(["emulator", "--config", config]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^error \[ERR_WIF_EMULATOR_CONFIG\]: .*projectNumber/);
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    } finally {
      dir.cleanup();
    }
  });

  it("shows wif-emulator's flags in its help", async () => {
    const result = await runWif(["emulator", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Usage: wif emulator [--empty] [--state FILE] [--config FILE] [--host ADDR] [--port-base N] [--write-config DIR] [--quiet]",
    );
    for (const flag of [
      "--empty",
      "--state FILE",
      "--config FILE",
      "--host ADDR",
      "--port-base N",
      "--write-config DIR",
      "--quiet",
      "--debug",
    ]) {
      expect(result.stdout).toContain(`\n  ${flag} `);
    }
    expect(result.stdout).not.toContain("wif-emulator [");
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
    // The administrator's half: an empty project set up with wif plan's commands (their API calls).
    expect(result.stderr).toContain(
      "    $ gcloud iam workload-identity-pools providers create-aws aws-provider --project=wifkit-demo",
    );
    expect(result.stderr).toContain(
      "✔ Apply the plan: APIs, project number, pool, AWS provider, service account, bindings",
    );
    expect(result.stderr).toContain(
      '200 OK: "hello from wifkit\\n" (as wif-demo-reader@wifkit-demo.iam.gserviceaccount.com)',
    );
    expect(result.stderr).not.toContain("✖");
    expect(result.stderr).toContain("Every step behaved as expected.");
    expect(result.code).toBe(0);
  });
});
