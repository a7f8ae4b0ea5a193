/**
 * The shared test preset plus a global setup that builds the CLI: the tests run the built `wif` as a child
 * process, the way users run it.
 */
import { defineConfig, mergeConfig } from "vitest/config";
import preset from "../../tooling/vitest.config.ts";

export default mergeConfig(
  preset,
  defineConfig({
    test: {
      globalSetup: ["test/global-setup.ts"],
      testTimeout: 30_000,
      hookTimeout: 120_000,
    },
  }),
);
