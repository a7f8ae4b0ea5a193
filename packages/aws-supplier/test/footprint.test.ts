import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// Installing @wifkit/aws-supplier must not pull Azure, JWT or HTTP-client code: its published manifest
// depends on @wifkit/core alone, and the sources import nothing else at run time (the SigV4 signer is a
// devDependency that the build bundles).

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

const sourceDir = new URL("../src/", import.meta.url);
const runtimeSources = readdirSync(sourceDir).filter(
  (name) => name.endsWith(".ts") && !name.endsWith(".test.ts"),
);

describe("install footprint", () => {
  it("depends on @wifkit/core only", () => {
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(["@wifkit/core"]);
    expect(manifest.peerDependencies ?? {}).toEqual({});
    expect(manifest.optionalDependencies ?? {}).toEqual({});
  });

  it("imports only node built-ins, @wifkit/core, the bundled signer and its own files", () => {
    const imported = new Set<string>();
    for (const name of runtimeSources) {
      const text = readFileSync(new URL(name, sourceDir), "utf8");
      for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)) {
        if (match[1]) imported.add(match[1]);
      }
    }
    const external = [...imported].filter(
      (specifier) => !specifier.startsWith("./") && !specifier.startsWith("node:"),
    );
    expect(external.sort()).toEqual(["@smithy/signature-v4", "@wifkit/core"]);
  });
});
