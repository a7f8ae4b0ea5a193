/** Running the built `wif` as a child process, with a clean environment and a private cache directory. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export const WIF = fileURLToPath(new URL("../dist/main.js", import.meta.url));

export interface WifResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** A scratch directory removed by `cleanup`. */
export function scratch(prefix = "wif-cli-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `value` as JSON to `dir/name` and returns the path: a configuration for `--config`. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

/** The gcloud on PATH, or undefined: tests that need it say they were skipped and why. */
export const GCLOUD = (process.env.PATH ?? "")
  .split(delimiter)
  .filter((directory) => directory !== "")
  .map((directory) => join(directory, "gcloud"))
  .find((candidate) => existsSync(candidate));

const shared = scratch();
/** The HOME and cache every run gets unless it says otherwise: nothing leaks in from the developer's. */
export const baseEnv: Record<string, string> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: shared.dir,
  WIF_CACHE_DIR: join(shared.dir, "cache"),
  NO_PROXY: "127.0.0.1,localhost",
};

/** Runs `node dist/main.js ...args`; resolves when it exits (killed after `timeoutMs`). */
export function runWif(args: readonly string[], options: RunOptions = {}): Promise<WifResult> {
  return runProcess(process.execPath, [WIF, ...args], options);
}

export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<WifResult> {
  const env = Object.fromEntries(
    Object.entries({ ...baseEnv, ...options.env }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}
