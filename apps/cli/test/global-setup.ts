/**
 * Builds the CLI once before the tests, which run `dist/main.js` as users do. The build bundles the
 * workspace packages from their sources, so it never waits on (or goes stale against) their own builds.
 * Skipped when turbo runs the tests (its `test` task depends on this package's `build`, so dist is fresh)
 * and with WIF_CLI_SKIP_BUILD=1 (test an existing dist).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const cwd = fileURLToPath(new URL("..", import.meta.url));
  if (process.env.WIF_CLI_SKIP_BUILD === "1") return;
  if (
    process.env.TURBO_HASH &&
    existsSync(`${cwd}/dist/main.js`) &&
    existsSync(`${cwd}/dist/lib/commands.js`)
  )
    return;
  const result = spawnSync(process.platform === "win32" ? "pnpm.cmd" : "pnpm", ["run", "build"], {
    cwd,
    encoding: "utf8",
    timeout: 180_000,
    shell: process.platform === "win32",
  });
  if (result.status !== 0) {
    throw new Error(`Building the CLI failed:\n${result.stdout}\n${result.stderr}`);
  }
}
