/**
 * Builds the CLI once before the tests, which run `dist/main.js` as users do. The build bundles the
 * workspace packages from their sources, so it never waits on (or goes stale against) their own builds.
 * Set WIF_CLI_SKIP_BUILD=1 to test an existing dist.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  if (process.env.WIF_CLI_SKIP_BUILD === "1") return;
  const cwd = fileURLToPath(new URL("..", import.meta.url));
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
