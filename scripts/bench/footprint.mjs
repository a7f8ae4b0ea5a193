#!/usr/bin/env node
// Install footprint of the AWS path next to google-auth-library's, each from a real `npm install` into a
// fresh project, offline: wifkit's eight packages as `pnpm pack` publishes them, google-auth-library and its
// dependency tree packed from the pnpm store this workspace installed (the files the registry served), both
// installed with `npm install --offline` and an empty npm cache. Sizes are bytes of files on disk under
// node_modules (1 kB = 1000 bytes, 1 MB = 1000 kB).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  installedPackages,
  installTarballs,
  packStorePackage,
  packWorkspacePackages,
  storeClosure,
} from "../tarballs.mjs";
import { AWS_PATH } from "../workspace.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const TARGET_RATIO = 0.07; // DESIGN.md: at most 0.07x google-auth-library's

const work = mkdtempSync(join(tmpdir(), "wifkit-footprint-"));
try {
  const packed = await packWorkspacePackages(
    AWS_PATH.map((name) => join(root, "packages", name)),
    join(work, "wifkit-tarballs"),
  );
  await installTarballs(join(work, "wifkit"), [...packed.values()]);
  const gal = storeClosure(join(root, "packages", "credentials"), ["google-auth-library"]);
  const galTarballs = await Promise.all(
    gal.map((found) => packStorePackage(found, join(work, "gal-tarballs"))),
  );
  await installTarballs(join(work, "gal"), galTarballs);

  const ours = installedPackages(join(work, "wifkit"));
  const theirs = installedPackages(join(work, "gal"));
  const total = (rows) =>
    rows.reduce((sum, row) => ({ bytes: sum.bytes + row.bytes, files: sum.files + row.files }), {
      bytes: 0,
      files: 0,
    });
  const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;
  const row = (name, { bytes, files }, note = "") =>
    console.log(`  ${name.padEnd(30)} ${kB(bytes).padStart(11)}  ${String(files).padStart(4)} files${note}`);

  console.log(
    "Install footprint, AWS path vs google-auth-library (npm install --offline of packed tarballs)\n",
  );
  for (const installed of ours) row(installed.name, installed);
  const oursTotal = total(ours);
  const theirsTotal = total(theirs);
  const galVersion = gal.find((found) => found.name === "google-auth-library").version;
  row("wifkit AWS path", oursTotal, `, ${ours.length} packages (${(oursTotal.bytes / 1e6).toFixed(2)} MB)`);
  row(
    `google-auth-library ${galVersion}`,
    theirsTotal,
    `, ${theirs.length} packages (${(theirsTotal.bytes / 1e6).toFixed(2)} MB)`,
  );
  const ratio = oursTotal.bytes / theirsTotal.bytes;
  console.log(
    `  ratio ${ratio.toFixed(3)} (target at most ${TARGET_RATIO}) ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
