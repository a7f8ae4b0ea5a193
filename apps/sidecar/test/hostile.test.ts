/**
 * The hostile corpus (tooling/hostile) through the built `wif-sidecar`: a configuration the policy refuses
 * stops it at start (exit 2, the problem on stderr); a valid configuration whose subject token is refused
 * leaves it running and answering 503 with the reason. Either way no request reaches the emulator, and no
 * stack trace is printed. apps/cli/test/hostile.test.ts runs the same corpus through `wif` and `fromConfig`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type HostileCase, materializeCorpus } from "../../../tooling/hostile/corpus.js";
import { rawRequest } from "./helpers.js";

const bin = join(import.meta.dirname, "..", "dist", "main.js");
const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";
const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

let emulator: Emulator;
let corpus: ReturnType<typeof materializeCorpus>;
let directory: string;

beforeAll(async () => {
  // The binary is what ships; turbo builds it (and the packages it imports) before the tests.
  if (!existsSync(bin))
    execFileSync("pnpm", ["run", "build"], { cwd: join(bin, "..", ".."), stdio: "ignore" });
  emulator = await startEmulator();
  directory = mkdtempSync(join(tmpdir(), "wif-sidecar-hostile-"));
  corpus = materializeCorpus({
    directory,
    sts: emulator.urls.sts,
    audience: emulator.providerAudience("oidc-provider"),
  });
}, 180_000);
/** Sidecars still running: stopped after the test whatever happened to it. */
const running = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  corpus.close();
  await emulator.stop();
  rmSync(directory, { recursive: true, force: true });
});

interface Outcome {
  /** Exit code when it stopped by itself. */
  code: number | null;
  stderr: string;
  /** The token route's status and body when it kept running. */
  token?: { status: number; body: string };
}

/** Starts the sidecar on `entry`; asks for a token if it comes up, then stops it. */
function runSidecar(entry: HostileCase): Promise<Outcome> {
  const child = spawn(
    process.execPath,
    [bin, "--credential-config", entry.configPath, "--port", "0", "--admin-port", "0"],
    {
      env: {
        PATH: process.env.PATH ?? "",
        WIF_SIDECAR_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
        AWS_EC2_METADATA_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve) => {
    let token: Outcome["token"];
    createInterface({ input: child.stdout }).on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg !== "wif-sidecar listening" || !entry.url) return;
      void rawRequest(entry.url, TOKEN).then((response) => {
        token = { status: response.status, body: response.body };
        child.kill("SIGTERM");
      });
    });
    child.once("close", (code) => {
      running.delete(child);
      clearTimeout(killer);
      resolve({ code: token ? null : code, stderr, ...(token ? { token } : {}) });
    });
  });
}

it("refuses every entry of the hostile corpus, with the reason and no request", {
  timeout: 600_000,
}, async () => {
  expect(corpus.cases.length).toBeGreaterThanOrEqual(40);
  const queue = [...corpus.cases];
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        const outcome = await runSidecar(entry);
        const where = `${entry.name} (${entry.what}): ${JSON.stringify(outcome)}`;
        const text = outcome.token ? outcome.token.body : outcome.stderr;
        if (entry.stage === "config") {
          expect(outcome.code, where).toBe(2);
        } else {
          expect(outcome.token?.status, where).toBe(503);
        }
        expect(
          text.split("\n").some((line) => line.includes(entry.names)),
          where,
        ).toBe(true);
        if (entry.says !== undefined) expect(text, where).toContain(entry.says);
        expect(outcome.stderr, where).not.toMatch(STACK_LINE);
      }
    }),
  );
  expect(emulator.counters.all()).toEqual({});
});
