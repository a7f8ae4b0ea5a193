#!/usr/bin/env node
/**
 * `node scripts/sidecar-image-tag.mjs`, run by `pnpm version-packages` after `changeset version`: the
 * Kubernetes manifests in apps/sidecar/deploy/kubernetes name the image the release workflow pushes for the
 * sidecar's version (`ghcr.io/wifkit/wif-sidecar:VERSION`), so a new sidecar version updates them in the same
 * "Version Packages" pull request.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const SIDECAR_IMAGE = "ghcr.io/wifkit/wif-sidecar";

/** Rewrites every `image: ghcr.io/wifkit/wif-sidecar[:TAG]` of the manifests under `root` to the sidecar's version. */
export function syncSidecarImageTags(root) {
  const sidecarDir = join(root, "apps", "sidecar");
  const { version } = JSON.parse(readFileSync(join(sidecarDir, "package.json"), "utf8"));
  const manifestsDir = join(sidecarDir, "deploy", "kubernetes");
  const image = new RegExp(`(image:\\s*)${SIDECAR_IMAGE.replaceAll(".", "\\.")}(:[\\w.+-]+)?`, "g");
  const changed = [];
  for (const file of readdirSync(manifestsDir).filter((name) => name.endsWith(".yaml"))) {
    const path = join(manifestsDir, file);
    const text = readFileSync(path, "utf8");
    const updated = text.replace(image, `$1${SIDECAR_IMAGE}:${version}`);
    if (updated !== text) {
      writeFileSync(path, updated);
      changed.push(file);
    }
  }
  return { version, changed };
}

if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? "")) {
  const { version, changed } = syncSidecarImageTags(resolve(fileURLToPath(import.meta.url), "../.."));
  for (const file of changed) process.stdout.write(`${file}: ${SIDECAR_IMAGE}:${version}\n`);
}
