/**
 * The one test preset: `vitest run --config ../../tooling/vitest.config.ts`, run from a package directory.
 *
 * Workspace packages resolve to their TypeScript sources, so a package's tests never wait on (or race with)
 * another package's build. Tests live beside the code (`src/**\/*.test.ts`) and, for integration tests that
 * start servers, in `test/`.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const packagesDir = fileURLToPath(new URL("../packages/", import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@wifkit\/([a-z-]+)$/, replacement: `${packagesDir}$1/src/index.ts` },
      // Subpath entries (`@wifkit/aws-supplier/identity`): `./dist/NAME.js` is built from `src/NAME.ts`.
      { find: /^@wifkit\/([a-z-]+)\/([a-z-]+)$/, replacement: `${packagesDir}$1/src/$2.ts` },
    ],
  },
  test: {
    root: process.cwd(),
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Every test talks only to loopback; fail fast if something reaches out.
    restoreMocks: true,
  },
});
