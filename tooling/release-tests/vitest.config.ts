/**
 * The shared test preset, with the time packing, installing and compiling takes. These tests run the built
 * packages (turbo builds every workspace package first: each is a devDependency here).
 */
import { defineConfig, mergeConfig } from "vitest/config";
import preset from "../vitest.config.ts";

export default mergeConfig(
  preset,
  defineConfig({
    test: {
      testTimeout: 60_000,
      hookTimeout: 180_000,
    },
  }),
);
