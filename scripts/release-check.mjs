#!/usr/bin/env node
/**
 * `node scripts/release-check.mjs`: proves that wifkit's packages release independently, by running the
 * release machinery itself (`pnpm version-packages`: `app-releases.mjs`, then `changeset version`) on a copy
 * of the repository's manifests and `.changeset/` in a temporary folder.
 *
 * 1. "pending": the changesets waiting in `.changeset/` are versioned as the next release would be.
 * 2. Then, from the versions that release produces, one probe per published library: a changeset with a
 *    minor of that library alone.
 *
 * Every run must leave every package's major version as it was (on 0.x, changesets would otherwise go to
 * 1.0.0), give the probed library its minor and every other library at most a patch (a dependent whose range
 * the new version leaves), leave the libraries that do not depend on it untouched, and release every app that
 * carries a released library. Exits 1 and lists what broke; `checkReleases()` is what the test in
 * `tooling/release-tests` runs.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { writeAppChangeset } from "./app-releases.mjs";
import { appLibraries, mapLimited, publicPackages, workspacePackages } from "./workspace.mjs";

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const changesetBin = join(repoRoot, "node_modules", "@changesets", "cli", "bin.js");

/** What the release machinery reads: root manifest and workspace file, .changeset/, each package's manifest, apps' sources. */
function copyWorkspace(from, to) {
  mkdirSync(to, { recursive: true });
  for (const file of ["package.json", "pnpm-workspace.yaml"]) cpSync(join(from, file), join(to, file));
  cpSync(join(from, ".changeset"), join(to, ".changeset"), { recursive: true });
  for (const { dir } of workspacePackages(from)) {
    cpSync(join(from, dir, "package.json"), join(to, dir, "package.json"));
    if (dir.startsWith("apps/")) cpSync(join(from, dir, "src"), join(to, dir, "src"), { recursive: true });
  }
}

const versionsOf = (root) =>
  new Map(workspacePackages(root).map(({ manifest }) => [manifest.name, manifest.version]));

async function versionPackages(root) {
  await writeAppChangeset(root);
  await run(process.execPath, [changesetBin, "version"], { cwd: root });
}

function bumpOf(before, after) {
  if (before === after) return "none";
  const [a, b] = [before, after].map((version) => version.split(".").map(Number));
  if (a[0] !== b[0]) return "major";
  if (a[1] !== b[1]) return "minor";
  return "patch";
}

/** Libraries that depend on `name` (dependencies or peers), transitively. */
function dependentsOf(packages, name) {
  const found = new Set();
  const pending = [name];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const { manifest } of packages) {
      const uses = { ...manifest.dependencies, ...manifest.peerDependencies };
      if (current in uses && !found.has(manifest.name)) {
        found.add(manifest.name);
        pending.push(manifest.name);
      }
    }
  }
  return found;
}

/** The problems of one versioning run (`probe`: the library given a minor, none for the pending release). */
function problemsOf({ root, before, after, probe }) {
  const packages = publicPackages(root);
  const problems = [];
  const released = new Set();
  for (const { manifest } of packages) {
    const bump = bumpOf(before.get(manifest.name), after.get(manifest.name));
    if (bump !== "none") released.add(manifest.name);
    if (bump === "major") {
      problems.push(
        `${manifest.name} goes to a new major: ${before.get(manifest.name)} -> ${after.get(manifest.name)}`,
      );
    }
  }
  const apps = packages.filter(({ dir }) => dir.startsWith("apps/")).map(({ manifest }) => manifest.name);
  for (const app of apps) {
    const carried = appLibraries(root, packages, app).filter((name) => released.has(name));
    if (carried.length > 0 && !released.has(app)) {
      problems.push(`${app} is not released although it carries ${carried.join(", ")}`);
    }
  }
  if (probe !== undefined) {
    const probeBump = bumpOf(before.get(probe), after.get(probe));
    if (probeBump !== "minor") problems.push(`${probe} gets a ${probeBump} instead of its minor`);
    const dependents = dependentsOf(packages, probe);
    for (const name of released) {
      if (name === probe || apps.includes(name)) continue;
      const bump = bumpOf(before.get(name), after.get(name));
      if (bump === "minor") problems.push(`${name} gets a minor though only ${probe} changed`);
      if (!dependents.has(name)) problems.push(`${name} is released though it does not depend on ${probe}`);
    }
  }
  return {
    problems,
    releases: [...released].map((name) => `${name} ${before.get(name)} -> ${after.get(name)}`),
  };
}

/**
 * Runs the pending release and every probe. `probes` defaults to every published library.
 * @returns {Promise<{ name: string, problems: string[], releases: string[] }[]>} "pending", then one per probe.
 */
export async function checkReleases({ root = repoRoot, probes, concurrency = 3 } = {}) {
  const work = mkdtempSync(join(tmpdir(), "wifkit-release-check-"));
  try {
    const pendingRoot = join(work, "pending");
    copyWorkspace(root, pendingRoot);
    const before = versionsOf(pendingRoot);
    await versionPackages(pendingRoot);
    const released = versionsOf(pendingRoot);
    const results = [{ name: "pending", ...problemsOf({ root: pendingRoot, before, after: released }) }];

    // The probes start from the state after that release: its versions, no changeset left.
    const libraries =
      probes ??
      publicPackages(pendingRoot)
        .filter(({ dir }) => dir.startsWith("packages/"))
        .map(({ manifest }) => manifest.name);
    const probeResults = await mapLimited(libraries, concurrency, async (probe) => {
      const probeRoot = join(work, probe.replace("/", "+"));
      copyWorkspace(pendingRoot, probeRoot);
      for (const file of readdirSync(join(probeRoot, ".changeset"))) {
        if (file.endsWith(".md") && file !== "README.md") rmSync(join(probeRoot, ".changeset", file));
      }
      writeFileSync(join(probeRoot, ".changeset", "probe.md"), `---\n"${probe}": minor\n---\n\nProbe.\n`);
      await versionPackages(probeRoot);
      const after = versionsOf(probeRoot);
      return {
        name: `minor of ${probe}`,
        ...problemsOf({ root: probeRoot, before: released, after, probe }),
      };
    });
    return [...results, ...probeResults];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? "")) {
  const results = await checkReleases();
  for (const { name, problems, releases } of results) {
    process.stdout.write(`${problems.length === 0 ? "ok  " : "FAIL"} ${name}\n`);
    for (const release of releases) process.stdout.write(`       ${release}\n`);
    for (const problem of problems) process.stdout.write(`     ! ${problem}\n`);
  }
  process.exitCode = results.some(({ problems }) => problems.length > 0) ? 1 : 0;
}
