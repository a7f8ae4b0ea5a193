#!/usr/bin/env node
// Creates a package (or, with --app, an app) wired to the shared presets, so nothing is copied by hand:
//   pnpm new-package token-cache "Memoized token providers with refresh ahead of expiry."
//   pnpm new-package sidecar "GCE metadata server backed by Workload Identity Federation." --app
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { app: { type: "boolean", default: false } },
});
const [name, description] = positionals;
if (!name || !/^[a-z][a-z0-9-]*$/.test(name) || !description) {
  console.error('usage: pnpm new-package NAME "One sentence saying what it does." [--app]');
  console.error("NAME is lowercase letters, digits and dashes, e.g. token-cache.");
  process.exit(2);
}

const dir = join(values.app ? "apps" : "packages", name);
if (existsSync(dir)) {
  console.error(`${dir} already exists; pick another name or edit it in place.`);
  process.exit(1);
}

const scripts = {
  build: "tsup --config ../../tooling/tsup.config.ts",
  typecheck: "tsc -p tsconfig.json --noEmit",
  test: "vitest run --config ../../tooling/vitest.config.ts",
};
// Apps are published like libraries (bin instead of exports); see CONTRIBUTING "What a package ships".
const published = {
  license: "Apache-2.0",
  repository: { type: "git", url: "git+https://github.com/wifkit/wifkit.git", directory: dir },
  type: "module",
};
const manifest = values.app
  ? {
      name: `@wifkit/${name}`,
      version: "0.0.0",
      description,
      ...published,
      engines: { node: ">=20.19" },
      bin: { [name]: "./dist/main.js" },
      files: ["dist"],
      scripts: { ...scripts, lint: "publint --strict" },
      publishConfig: { access: "public" },
    }
  : {
      name: `@wifkit/${name}`,
      version: "0.0.0",
      description,
      ...published,
      sideEffects: false,
      engines: { node: ">=20.19" },
      // main/types: TypeScript's node10 resolution (module: commonjs) reads these, not exports.
      main: "./dist/index.js",
      types: "./dist/index.d.ts",
      exports: {
        ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
        "./package.json": "./package.json",
      },
      files: ["dist"],
      scripts: { ...scripts, lint: "publint --strict" },
      publishConfig: { access: "public" },
    };

mkdirSync(join(dir, "src"), { recursive: true });
writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(
  join(dir, "tsconfig.json"),
  `${JSON.stringify({ extends: "../../tsconfig.base.json", include: ["src", "test"] }, null, 2)}\n`,
);
writeFileSync(
  join(dir, "README.md"),
  `# @wifkit/${name}\n\n${description}\n\n## Install\n\n\`\`\`sh\nnpm install @wifkit/${name}\n\`\`\`\n`,
);
const entry = values.app ? "main.ts" : "index.ts";
writeFileSync(join(dir, "src", entry), "export {};\n");
execFileSync("pnpm", ["exec", "biome", "format", "--write", dir], { stdio: "ignore" });
console.log(`created ${dir}; next: pnpm install, write src/${entry}, add a changeset (pnpm changeset)`);
