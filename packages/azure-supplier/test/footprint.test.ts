import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { dependencyClosure, packPackage } from "../../../tooling/packed.js";

// Installing @wifkit/azure-supplier must pull no AWS code: the published manifest depends on @wifkit/core and @wifkit/http
// alone, and nothing of the AWS signer ends up in dist.

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const packagesDir = fileURLToPath(new URL("../..", import.meta.url));

describe("install footprint", () => {
  it("publishes a manifest whose whole dependency tree is @wifkit/core and @wifkit/http", () => {
    expect(dependencyClosure(packagesDir, "@wifkit/azure-supplier")).toEqual([
      "@wifkit/core",
      "@wifkit/http",
    ]);
  });

  it("publishes no AWS code", () => {
    const { files } = packPackage(packageDir);
    const code = [...files].filter(([path]) => path.endsWith(".js")).map(([, text]) => text);
    expect(code.length, "dist is missing: run pnpm build first").toBeGreaterThan(0);
    for (const text of code) {
      expect(text).not.toMatch(/smithy|aws4_request|amazonaws/i);
    }
  });
});
