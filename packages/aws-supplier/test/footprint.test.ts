import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { dependencyClosure, packPackage } from "../../../tooling/packed.js";

// Installing @wifkit/aws-supplier must pull no Azure, JWT or HTTP-client code: the published manifest
// depends on @wifkit/core and @wifkit/http alone, and the SigV4 signer is a devDependency the build bundles into dist.

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const packagesDir = fileURLToPath(new URL("../..", import.meta.url));

describe("install footprint", () => {
  it("publishes a manifest whose whole dependency tree is @wifkit/core and @wifkit/http", () => {
    expect(dependencyClosure(packagesDir, "@wifkit/aws-supplier")).toEqual(["@wifkit/core", "@wifkit/http"]);
  });

  it("publishes no Azure or JWT code", () => {
    const { files } = packPackage(packageDir);
    const code = [...files].filter(([path]) => path.endsWith(".js")).map(([, text]) => text);
    expect(code.length, "dist is missing: run pnpm build first").toBeGreaterThan(0);
    for (const text of code) {
      expect(text).not.toMatch(/azure|jose|login\.microsoftonline/i);
    }
  });

  it("imports only node built-ins, @wifkit/core and http, the bundled signer and its own files", () => {
    const sourceDir = new URL("../src/", import.meta.url);
    const imported = new Set<string>();
    for (const name of readdirSync(sourceDir).filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))) {
      const text = readFileSync(new URL(name, sourceDir), "utf8");
      for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)) {
        if (match[1]) imported.add(match[1]);
      }
    }
    const external = [...imported].filter(
      (specifier) => !specifier.startsWith("./") && !specifier.startsWith("node:"),
    );
    expect(external.sort()).toEqual(["@smithy/signature-v4", "@wifkit/core", "@wifkit/http"]);
  });
});
