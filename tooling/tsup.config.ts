/**
 * The one build preset every wifkit package and app uses: `tsup --config ../../tooling/tsup.config.ts`.
 *
 * Entry points are derived from the package's own manifest, so a package never repeats them: each
 * `./dist/NAME.js` named in `exports` or `bin` is built from `src/NAME.ts`, and every `exports` entry also
 * gets a bundled `.d.ts`. Runtime `dependencies` stay external; anything else a package imports (a
 * devDependency such as zod) is bundled and tree-shaken into `dist`, which keeps the install footprint small.
 *
 * What lands in `dist` is what users install (see CONTRIBUTING "What a package ships"): only chunks reachable
 * from the entry points, a `THIRD_PARTY_NOTICES.md` with the licences of bundled third-party code
 * (`publishable.ts`), and no source maps: the output is unminified, one `// src/FILE.ts` comment per module,
 * so stack traces read as they are, and maps would more than double the install and carry the sources of
 * bundled third-party packages.
 */
import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { publishable } from "./publishable.ts";

interface Manifest {
  exports?: Record<string, string | { default?: string; import?: string }>;
  bin?: string | Record<string, string>;
  private?: boolean;
}

const manifest = JSON.parse(readFileSync("package.json", "utf8")) as Manifest;

function sourceOf(distPath: string): [name: string, source: string] {
  const match = /^\.\/dist\/(.+)\.js$/.exec(distPath);
  if (!match?.[1]) throw new Error(`package.json points at ${distPath}; the preset expects ./dist/NAME.js`);
  return [match[1], `src/${match[1]}.ts`];
}

const exported = Object.values(manifest.exports ?? {})
  .map((target) => (typeof target === "string" ? target : (target.import ?? target.default)))
  .filter((target): target is string => typeof target === "string" && target.endsWith(".js"))
  .map(sourceOf);
const bins = Object.values(
  typeof manifest.bin === "string" ? { bin: manifest.bin } : (manifest.bin ?? {}),
).map(sourceOf);

export default defineConfig({
  entry: Object.fromEntries([...exported, ...bins]),
  format: ["esm"],
  platform: "node",
  target: "node20",
  // Declarations resolve other wifkit packages through node_modules (their built .d.ts, as users will),
  // not through the source paths tests and typecheck use, so no package's types get inlined into another's.
  dts: exported.length > 0 ? { entry: Object.fromEntries(exported), compilerOptions: { paths: {} } } : false,
  sourcemap: false,
  clean: true,
  // Lazily imported modules become chunks of their own (a command of the CLI, a rarely used source);
  // publishable() drops the chunks nothing reaches.
  splitting: true,
  treeshake: true,
  shims: false,
  esbuildPlugins: [publishable()],
});
