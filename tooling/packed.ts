/**
 * What `npm install @wifkit/NAME` would install, read from the package as `pnpm pack` publishes it: the
 * manifest (with `workspace:` ranges rewritten to versions) and the files. For tests that check a package's
 * install footprint.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PackedPackage {
  manifest: {
    name: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    optionalDependencies?: Record<string, string>;
  };
  /** Path inside the tarball (without the leading `package/`) to its text. */
  files: Map<string, string>;
}

export function packPackage(packageDir: string): PackedPackage {
  const out = mkdtempSync(join(tmpdir(), "wifkit-pack-"));
  try {
    execFileSync("pnpm", ["pack", "--pack-destination", out], { cwd: packageDir, stdio: "ignore" });
    const tarball = readdirSync(out).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`pnpm pack wrote no tarball for ${packageDir}`);
    execFileSync("tar", ["-xzf", join(out, tarball), "-C", out]);
    const files = new Map<string, string>();
    const walk = (dir: string, prefix: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`);
        else files.set(`${prefix}${entry.name}`, readFileSync(path, "utf8"));
      }
    };
    walk(join(out, "package"), "");
    const manifest = JSON.parse(files.get("package.json") ?? "{}") as PackedPackage["manifest"];
    return { manifest, files };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Every package installing `name` installs, following wifkit packages through their own packed manifests:
 * dependencies and required peers (npm installs those), not optional peers.
 */
export function dependencyClosure(packagesDir: string, name: string): string[] {
  const seen = new Set<string>();
  const visit = (packageName: string) => {
    const short = packageName.replace(/^@wifkit\//, "");
    const { manifest } = packPackage(join(packagesDir, short));
    const optional = manifest.peerDependenciesMeta ?? {};
    const peers = Object.keys(manifest.peerDependencies ?? {}).filter((peer) => !optional[peer]?.optional);
    for (const dep of [...Object.keys(manifest.dependencies ?? {}), ...peers]) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      if (dep.startsWith("@wifkit/")) visit(dep);
    }
  };
  visit(name);
  return [...seen].sort();
}
