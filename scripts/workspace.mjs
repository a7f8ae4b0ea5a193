/**
 * The workspace as the release scripts see it: every package of `packages/*` and `apps/*` with its manifest,
 * and the wifkit packages an app carries (what it bundles or depends on, followed through the libraries'
 * own dependencies).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const WORKSPACE_FOLDERS = ["packages", "apps"];

/** The AWS path: what `npm install @wifkit/credentials @wifkit/aws-supplier` installs (package folders). */
export const AWS_PATH = [
  "core",
  "http",
  "config",
  "sts-client",
  "impersonation",
  "token-cache",
  "credentials",
  "aws-supplier",
];

/** `task` over `items`, at most `limit` at a time (packing, versioning: 2 cores are shared). */
export async function mapLimited(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await task(items[index]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** @returns {{ dir: string, manifest: Record<string, any> }[]} `dir` relative to `root` (`packages/core`). */
export function workspacePackages(root) {
  return WORKSPACE_FOLDERS.flatMap((folder) =>
    readdirSync(join(root, folder))
      .map((name) => `${folder}/${name}`)
      .filter((dir) => existsSync(join(root, dir, "package.json")))
      .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) })),
  );
}

/** Published packages: libraries and apps alike (no `private`). */
export function publicPackages(root) {
  return workspacePackages(root).filter(({ manifest }) => manifest.private !== true);
}

const wifkitNames = (fields) =>
  Object.keys(Object.assign({}, ...fields)).filter((name) => name.startsWith("@wifkit/"));

/** The wifkit packages the non-test sources under `dir/src` import. */
function importedWifkitPackages(dir) {
  const imported = new Set();
  for (const file of readdirSync(join(dir, "src"), { recursive: true, encoding: "utf8" })) {
    if (!/\.[cm]?tsx?$/.test(file) || /\.test\.[cm]?tsx?$/.test(file)) continue;
    const text = readFileSync(join(dir, "src", file), "utf8");
    for (const match of text.matchAll(/(?:from |import\()"(@wifkit\/[a-z0-9-]+)"/g)) imported.add(match[1]);
  }
  return imported;
}

/**
 * The wifkit libraries an app's published build contains or installs: its dependencies, the
 * devDependencies its sources import (the shared tsup preset bundles those into dist; the others are
 * test tools), then each library's dependencies and peer dependencies, transitively.
 */
export function appLibraries(root, packages, appName) {
  const byName = new Map(packages.map((entry) => [entry.manifest.name, entry]));
  const app = byName.get(appName);
  if (!app) throw new Error(`${appName} is not a workspace package`);
  const imported = importedWifkitPackages(join(root, app.dir));
  const pending = [
    ...wifkitNames([app.manifest.dependencies]),
    ...wifkitNames([app.manifest.devDependencies]).filter((name) => imported.has(name)),
  ];
  const seen = new Set();
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const library = byName.get(name)?.manifest;
    if (library) pending.push(...wifkitNames([library.dependencies, library.peerDependencies]));
  }
  return [...seen].sort();
}
