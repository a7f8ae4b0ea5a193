/**
 * An esbuild plugin of the shared tsup preset: what a build writes is what a user should install.
 *
 * - Unreachable chunks are dropped. With code splitting, esbuild makes a chunk of every module that some
 *   bundled file imports with `import()`, even when tree shaking removed that `import()` (aws-supplier got a
 *   38 KB `event-streams` chunk of @smithy/core that nothing loads). Only the outputs reachable from the
 *   configured entry points, through static and dynamic imports, are written.
 * - `THIRD_PARTY_NOTICES.md` is written beside the entry points when the reachable outputs carry code of
 *   third-party packages (anything bundled from a `node_modules` folder): each package's name, version,
 *   licence, and its licence and NOTICE files verbatim, as their licences require of a redistribution.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Metafile, OutputFile, Plugin } from "esbuild";

export const NOTICES_FILE = "THIRD_PARTY_NOTICES.md";

interface BundledPackage {
  name: string;
  version: string;
  license: string;
  texts: string[];
}

/** The outputs that a configured entry point loads, directly or through imports of any kind. */
export function reachableOutputs(metafile: Metafile, entrySources: string[]): Set<string> {
  const reachable = new Set<string>();
  const pending = Object.entries(metafile.outputs)
    .filter(([, output]) => output.entryPoint !== undefined && entrySources.includes(output.entryPoint))
    .map(([path]) => path);
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (reachable.has(path)) continue;
    reachable.add(path);
    for (const imported of metafile.outputs[path]?.imports ?? []) {
      if (!imported.external && imported.path in metafile.outputs) pending.push(imported.path);
    }
  }
  return reachable;
}

/** The package directory of a bundled input under node_modules (`…/node_modules/@scope/name/…`). */
function packageDirOf(input: string, workingDir: string): string | undefined {
  const at = input.lastIndexOf("node_modules/");
  if (at === -1) return undefined;
  const [first, second] = input.slice(at + "node_modules/".length).split("/");
  if (!first) return undefined;
  const name = first.startsWith("@") && second ? `${first}/${second}` : first;
  return resolve(workingDir, input.slice(0, at), "node_modules", name);
}

function readBundledPackage(dir: string): BundledPackage {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    name: string;
    version: string;
    license?: string;
  };
  const texts = readdirSync(dir)
    .filter((file) => /^(licen[cs]e|copying|notice)([.-].*)?$/i.test(file))
    .sort()
    .map((file) => readFileSync(join(dir, file), "utf8").trim());
  return { name: manifest.name, version: manifest.version, license: manifest.license ?? "UNKNOWN", texts };
}

export function renderNotices(packageName: string, bundled: BundledPackage[]): string {
  // A licence text several packages share (Apache-2.0 of every @smithy package) is written once.
  const firstWithText = new Map<string, string>();
  const sections = bundled.map(({ name, version, license, texts }) => {
    const body = texts.map((text) => {
      const first = firstWithText.get(text);
      if (first !== undefined) return `The same text as for ${first} above.`;
      firstWithText.set(text, name);
      return `\`\`\`text\n${text}\n\`\`\``;
    });
    if (body.length === 0) body.push(`The package ships no licence file; its manifest says \`${license}\`.`);
    return [`## ${name}@${version} (${license})`, ...body].join("\n\n");
  });
  return [
    "# Third-party notices",
    `${packageName} bundles code from the packages below (tree-shaken, unmodified otherwise). Their licences follow.`,
    ...sections,
    "",
  ].join("\n\n");
}

function textFile(path: string, text: string): OutputFile {
  const contents = new TextEncoder().encode(text);
  return { path, contents, hash: "", text };
}

export function publishable(): Plugin {
  return {
    name: "wifkit-publishable",
    setup(build) {
      build.initialOptions.metafile = true;
      const workingDir = build.initialOptions.absWorkingDir ?? process.cwd();
      const entryPoints = build.initialOptions.entryPoints;
      const entrySources = (
        Array.isArray(entryPoints)
          ? entryPoints.map((entry) => (typeof entry === "string" ? entry : entry.in))
          : Object.values(entryPoints ?? {})
      ).map((source) => relative(workingDir, resolve(workingDir, source)));
      const packageName = (
        JSON.parse(readFileSync(join(workingDir, "package.json"), "utf8")) as { name: string }
      ).name;

      build.onEnd((result) => {
        if (result.errors.length > 0 || !result.metafile || !result.outputFiles) return;
        const { metafile, outputFiles } = result;
        const reachable = reachableOutputs(metafile, entrySources);
        const kept = outputFiles.filter((file) => {
          const path = relative(workingDir, file.path).replace(/\.map$/, "");
          return !(path in metafile.outputs) || reachable.has(path);
        });
        outputFiles.splice(0, outputFiles.length, ...kept);

        const packages = new Map<string, BundledPackage>();
        for (const path of reachable) {
          for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[path]?.inputs ?? {})) {
            const dir = bytesInOutput > 0 ? packageDirOf(input, workingDir) : undefined;
            if (dir === undefined || !existsSync(join(dir, "package.json"))) continue;
            const bundled = readBundledPackage(dir);
            packages.set(`${bundled.name}@${bundled.version}`, bundled);
          }
        }
        if (packages.size === 0) return;
        const sorted = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
        const outDir = resolve(workingDir, build.initialOptions.outdir ?? "dist");
        outputFiles.push(textFile(join(outDir, NOTICES_FILE), renderNotices(packageName, sorted)));
      });
    },
  };
}
