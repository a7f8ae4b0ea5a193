#!/usr/bin/env node
/**
 * `node scripts/app-releases.mjs [--cwd DIR]`, run by `pnpm version-packages` before `changeset version`:
 * a release of any wifkit library an app carries releases the app too.
 *
 * Changesets bumps a dependent only through `dependencies`, `optionalDependencies` and `peerDependencies`,
 * and then only when the library's new version leaves the dependent's range; through `devDependencies` it
 * never does. The CLI bundles every library it uses (declared as devDependencies, so nothing is installed
 * twice) and the sidecar image pins the versions it was built with, so without this step a library fix
 * would leave both silently stale. This writes `.changeset/apps-follow-libraries.md`: a patch of each app
 * (apps/*, published) whose libraries (`appLibraries`) have a release pending, naming them.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import getReleasePlan from "@changesets/get-release-plan";
import { appLibraries, publicPackages } from "./workspace.mjs";

export const APP_CHANGESET = "apps-follow-libraries";

/** For each published app, the pending library releases it carries (`[app, releases]`, apps without any left out). */
export function appReleases(root, packages, releases) {
  const releasing = new Map(
    releases.filter((release) => release.type !== "none").map((release) => [release.name, release]),
  );
  return packages
    .filter(({ dir }) => dir.startsWith("apps/"))
    .map(({ manifest }) => [
      manifest.name,
      appLibraries(root, packages, manifest.name)
        .map((name) => releasing.get(name))
        .filter((release) => release !== undefined),
    ])
    .filter(([, carried]) => carried.length > 0);
}

export function renderAppChangeset(appBumps) {
  const header = appBumps.map(([app]) => `"${app}": patch`);
  const lines = appBumps.map(
    ([app, carried]) =>
      `${app}: built with ${carried.map((release) => `${release.name}@${release.newVersion}`).join(", ")}.`,
  );
  return `---\n${header.join("\n")}\n---\n\n${lines.join("\n")}\n`;
}

/** Writes (or removes, when no app follows a release) the app changeset in `cwd`. */
export async function writeAppChangeset(cwd) {
  const file = join(cwd, ".changeset", `${APP_CHANGESET}.md`);
  rmSync(file, { force: true }); // a previous run's, computed from older changesets
  const plan = await getReleasePlan(cwd);
  const bumps = appReleases(cwd, publicPackages(cwd), plan.releases);
  if (bumps.length > 0) writeFileSync(file, renderAppChangeset(bumps));
  return bumps;
}

if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? "")) {
  const { values } = parseArgs({ options: { cwd: { type: "string" } } });
  const bumps = await writeAppChangeset(resolve(values.cwd ?? process.cwd()));
  for (const [app, carried] of bumps) {
    process.stdout.write(`${app}: patch, carries ${carried.map((release) => release.name).join(", ")}\n`);
  }
}
