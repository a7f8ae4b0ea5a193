/**
 * The shared preset, split in two builds so that `wif token` on a warm cache loads exactly one file.
 *
 * esbuild puts every module reachable from two chunks into a third, shared chunk, even when one chunk
 * always loads the other first: a single build would make the entry import a shared chunk on every run.
 * So the entry (`dist/main.js`: argument sniffing, `--version`, the token cache read) is bundled on its own,
 * with its few dependencies inlined, and everything else (`dist/lib/commands.js` and the chunks it loads
 * lazily, one per heavy command) is a second build that the entry imports only when it has to. Each build
 * gets its own copy of the small modules both use; none of them keeps state that must be shared.
 */
import { defineConfig, type Options } from "tsup";
import preset from "../../tooling/tsup.config.ts";

const base = preset as Options;

export default defineConfig([
  {
    ...base,
    entry: { main: "src/main.ts" },
    outDir: "dist",
    splitting: false,
    // The second build owns dist/lib; the two run concurrently.
    clean: ["!lib/**"],
  },
  {
    ...base,
    entry: { commands: "src/commands.ts" },
    outDir: "dist/lib",
    splitting: true,
    clean: true,
  },
]);
