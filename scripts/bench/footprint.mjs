#!/usr/bin/env node
// Install footprint of the AWS path (config + aws-supplier + sts-client + token-cache + credentials and the
// wifkit packages they pull in) next to google-auth-library's, both as unpacked bytes on disk, offline:
// wifkit's side is what `npm pack` would publish from each package, google-auth-library's side is the package
// and its whole dependency tree as installed in this workspace.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const AWS_PATH = ["config", "aws-supplier", "sts-client", "token-cache", "credentials"];
const TARGET_RATIO = 0.2;

const manifest = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

/** Every wifkit package the AWS path installs, following runtime dependencies. */
function wifkitClosure(names) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of Object.keys(manifest(join(root, "packages", name)).dependencies ?? {})) {
      if (dep.startsWith("@wifkit/")) visit(dep.slice("@wifkit/".length));
      else throw new Error(`@wifkit/${name} has a third-party runtime dependency (${dep}); count it here`);
    }
  };
  names.forEach(visit);
  return [...seen];
}

function packedSize(name) {
  const dir = join(root, "packages", name);
  if (!existsSync(join(dir, "dist")))
    throw new Error(`packages/${name}/dist is missing; run pnpm build first`);
  const [report] = JSON.parse(
    execFileSync("npm", ["pack", "--dry-run", "--json", "--silent"], { cwd: dir, encoding: "utf8" }),
  );
  return { bytes: report.unpackedSize, files: report.entryCount };
}

function dirSize(dir) {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = dirSize(path);
      bytes += inner.bytes;
      files += inner.files;
    } else if (entry.isFile()) {
      bytes += lstatSync(path).size;
      files += 1;
    }
  }
  return { bytes, files };
}

/** Node's resolution of `dep` from a package directory (handles pnpm's symlinked layout). */
function resolvePackageDir(fromDir, dep) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (!dir.endsWith("/node_modules")) {
      const candidate = join(dir, "node_modules", dep);
      if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function installedTree(entryDir) {
  const seen = new Map();
  const visit = (dir) => {
    if (seen.has(dir)) return;
    seen.set(dir, dirSize(dir));
    const pkg = manifest(dir);
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const found = resolvePackageDir(dir, dep);
      if (found) visit(found);
    }
  };
  visit(realpathSync(entryDir));
  return seen;
}

const wifkit = wifkitClosure(AWS_PATH).map((name) => ({ name: `@wifkit/${name}`, ...packedSize(name) }));
const galDir = resolvePackageDir(join(root, "packages", "config"), "google-auth-library");
if (!galDir) throw new Error("google-auth-library is not installed; run pnpm install");
const gal = [...installedTree(galDir)].map(([dir, size]) => ({ name: manifest(dir).name, ...size }));

const sum = (rows) =>
  rows.reduce((total, row) => ({ bytes: total.bytes + row.bytes, files: total.files + row.files }), {
    bytes: 0,
    files: 0,
  });
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const ours = sum(wifkit);
const theirs = sum(gal);
const ratio = ours.bytes / theirs.bytes;

console.log("Install footprint, AWS path vs google-auth-library (unpacked bytes on disk)\n");
for (const row of wifkit)
  console.log(
    `  ${row.name.padEnd(28)} ${kib(row.bytes).padStart(12)}  ${String(row.files).padStart(4)} files`,
  );
console.log(
  `  ${"wifkit AWS path".padEnd(28)} ${kib(ours.bytes).padStart(12)}  ${String(ours.files).padStart(4)} files, ${wifkit.length} packages`,
);
console.log(
  `  ${`google-auth-library ${manifest(galDir).version}`.padEnd(28)} ${kib(theirs.bytes).padStart(12)}  ${String(theirs.files).padStart(4)} files, ${gal.length} packages`,
);
console.log(
  `  ratio ${ratio.toFixed(3)} (target at most ${TARGET_RATIO}) ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`,
);
