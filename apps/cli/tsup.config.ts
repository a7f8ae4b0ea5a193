/**
 * The shared preset, split in two builds so that `wif token` on a warm cache loads exactly one small file.
 *
 * - esbuild puts every module reachable from two chunks into a third, shared chunk, even when one chunk
 *   always loads the other first: a single build would make the entry import a shared chunk on every run.
 *   So the entry (`dist/main.js`: argument sniffing, `--version`, the token cache read) is bundled on its
 *   own with its few dependencies inlined, and everything else (`dist/lib/commands.js` and the chunks it
 *   loads lazily, one per command) is a second build that the entry imports only when it has to. Each build
 *   has its own copy of the small modules both use; none of them keeps state that must be shared.
 * - The entry is CommonJS: Node 20 starts a CommonJS entry in about a fifth of the CPU time the ES module
 *   loader needs for the same code (measured with `perf stat`, see README "Start-up"). `dist/package.json`
 *   says so, and `dist/lib/package.json` keeps the chunks ES modules.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { defineConfig, type Options } from "tsup";
import preset from "../../tooling/tsup.config.ts";

const base = preset as Options;

function packageType(directory: string, type: "commonjs" | "module"): () => Promise<void> {
  return async () => {
    mkdirSync(directory, { recursive: true });
    writeFileSync(`${directory}/package.json`, `${JSON.stringify({ type })}\n`);
  };
}

export default defineConfig([
  {
    ...base,
    entry: { main: "src/main.ts" },
    outDir: "dist",
    format: ["cjs"],
    outExtension: () => ({ js: ".js" }),
    splitting: false,
    // The second build owns dist/lib; the two run concurrently.
    clean: ["!lib/**"],
    onSuccess: packageType("dist", "commonjs"),
  },
  {
    ...base,
    entry: { commands: "src/commands.ts" },
    outDir: "dist/lib",
    splitting: true,
    // undici (HTTPS_PROXY and friends) is CommonJS: bundled into an ES module chunk it can neither require
    // node builtins nor show its named exports, and every proxied request failed. It is loaded from
    // node_modules instead, and only when a proxy applies.
    external: ["undici"],
    clean: true,
    onSuccess: packageType("dist/lib", "module"),
  },
]);
