/**
 * Packages installed the way users install them, without the registry: workspace packages packed with
 * `pnpm pack` (what `changeset publish` uploads), third-party packages packed from the pnpm store this
 * workspace installed, then `npm install --offline` of those files into a fresh project with an empty npm
 * cache, so anything the tarballs do not provide fails the install instead of being downloaded.
 * Used by the packed-tarball test (tooling/release-tests) and the footprint benchmark.
 */
import { execFile } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { mapLimited } from "./workspace.mjs";

const run = promisify(execFile);

/** `pnpm pack` of each workspace package directory into `destination`; returns name -> tarball path. */
export async function packWorkspacePackages(packageDirs, destination) {
  mkdirSync(destination, { recursive: true });
  const packed = await mapLimited(packageDirs, 3, async (dir) => {
    const { stdout } = await run("pnpm", ["pack", "--json", "--pack-destination", destination], {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    });
    const report = JSON.parse(stdout);
    return [report.name, report.filename];
  });
  return new Map(packed);
}

/** Node's resolution of package `name` from `fromDir`, through pnpm's symlinked layout, as a real path. */
export function resolvePackageDir(fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (basename(dir) !== "node_modules") {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The third-party packages `names` resolve to from `fromDir`, with their dependencies (optional ones when
 * installed), as `{ name, version, dir }`. One version per name: the install puts them all at the top level.
 */
export function storeClosure(fromDir, names) {
  const found = new Map();
  const visit = (from, name) => {
    const dir = resolvePackageDir(from, name);
    if (dir === undefined)
      throw new Error(`${name} is not installed where ${from} can see it; run pnpm install`);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const known = found.get(manifest.name);
    if (known?.version === manifest.version) return;
    if (known) throw new Error(`two versions of ${manifest.name} (${known.version}, ${manifest.version})`);
    found.set(manifest.name, { name: manifest.name, version: manifest.version, dir });
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dir, dep);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) {
      if (resolvePackageDir(dir, dep)) visit(dir, dep);
    }
  };
  for (const name of names) visit(fromDir, name);
  return [...found.values()];
}

/** A tarball of an installed third-party package, as the registry would serve it (one top-level folder). */
export async function packStorePackage({ name, version, dir }, destination) {
  mkdirSync(destination, { recursive: true });
  const file = join(destination, `${name.replace("@", "").replace("/", "-")}-${version}.tgz`);
  // pnpm hard-links identical files; a registry tarball holds each as a file of its own.
  await run("tar", ["--hard-dereference", "-czf", file, "-C", dirname(dir), basename(dir)]);
  return file;
}

/** `npm install --offline` of `tarballs` into a new project at `projectDir`, with an npm cache of its own. */
export async function installTarballs(
  projectDir,
  tarballs,
  { cacheDir = join(projectDir, ".npm-cache") } = {},
) {
  mkdirSync(projectDir, { recursive: true });
  writeFileSync(
    join(projectDir, "package.json"),
    `${JSON.stringify({ name: basename(projectDir), version: "0.0.0", private: true }, null, 2)}\n`,
  );
  await run(
    "npm",
    [
      "install",
      "--offline",
      "--cache",
      cacheDir,
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
      "--loglevel=error",
      ...tarballs,
    ],
    {
      cwd: projectDir,
      env: { ...process.env, npm_config_update_notifier: "false" },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}

/** Bytes and files on disk under `dir` (file sizes, symlinks not followed). */
export function diskUsage(dir) {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = diskUsage(path);
      bytes += inner.bytes;
      files += inner.files;
    } else if (entry.isFile()) {
      bytes += lstatSync(path).size;
      files += 1;
    }
  }
  return { bytes, files };
}

/** Each installed package under `projectDir/node_modules` (`@scope/name` or `name`) and its disk usage. */
export function installedPackages(projectDir) {
  const root = join(projectDir, "node_modules");
  const packages = [];
  const visit = (dir, prefix) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      if (entry.name.startsWith("@")) visit(join(dir, entry.name), `${entry.name}/`);
      else packages.push({ name: `${prefix}${entry.name}`, ...diskUsage(join(dir, entry.name)) });
    }
  };
  visit(root, "");
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}
