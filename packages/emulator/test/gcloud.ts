/**
 * Runs the installed gcloud (Google Cloud SDK) against the emulator. Tests that need it skip with a
 * printed reason when it is absent; the machines the suite runs on have it.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

function findGcloud(): string | undefined {
  const candidates = [
    process.env.WIF_TEST_GCLOUD,
    "/usr/bin/gcloud",
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "gcloud")),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export const GCLOUD = findGcloud();

/**
 * A cap for tests that run several gcloud commands: each costs about a second of CPU, and the machines
 * running the suite are shared. A cap, not an assertion on elapsed time.
 */
export const GCLOUD_TEST_TIMEOUT_MS = 240_000;

/** True when gcloud is missing; says so once in the test output. */
export function gcloudMissing(suite: string): boolean {
  if (GCLOUD !== undefined) return false;
  console.warn(`${suite}: skipped, gcloud is not installed (set WIF_TEST_GCLOUD or put gcloud on PATH)`);
  return true;
}

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One gcloud command with exactly `env` (plus PATH and locale): no proxy, credential or gcloud settings
 * leak in from the machine, and `env` is expected to hold `CLOUDSDK_CONFIG` (emulator.gcloudEnv() does).
 */
export function gcloud(args: string[], env: Record<string, string>): Promise<GcloudResult> {
  if (!GCLOUD) throw new Error("gcloud is not installed");
  return new Promise((resolve) => {
    execFile(
      GCLOUD,
      [...args, "--quiet"],
      {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...env },
        timeout: 60_000,
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like {@link gcloud}, but throws with gcloud's own error output when the command fails. */
export async function gcloudOk(args: string[], env: Record<string, string>): Promise<string> {
  const result = await gcloud(args, env);
  if (result.code !== 0) throw new Error(`gcloud ${args.slice(0, 4).join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}
