/**
 * Bundler safety: credentials never imports a cloud supplier itself, so an application that registers only
 * `awsSupplier` bundles with esbuild as it is (no externals, no flags beyond the Node platform) and its
 * bundle carries the AWS supplier and no Azure code. The batteries-included entry is the control: it carries
 * both. Built from the sources (resolved through the repository's tsconfig paths), so no dist is needed.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** The part of esbuild's API this test uses. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: Array<{ text: string }> }>;
}

// esbuild is the bundler tsup is built on; take the copy tsup resolves rather than pinning a second one.
const esbuild = createRequire(createRequire(import.meta.url).resolve("tsup"))("esbuild") as Esbuild;

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const tsconfig = fileURLToPath(new URL("../tsconfig.json", import.meta.url));

/** Code only the Azure supplier has: its Entra authority, the Arc agent, App Service's header, its factory. */
const AZURE_CODE = /login\.microsoftonline\.com|azcmagent|X-IDENTITY-HEADER|fromAzure/i;
/** Code only the AWS supplier has: the GetCallerIdentity signing and the IMDS session token path. */
const AWS_CODE = /GetCallerIdentity[\s\S]*\/latest\/api\/token|\/latest\/api\/token[\s\S]*GetCallerIdentity/;

async function bundle(contents: string): Promise<string> {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: packageDir, loader: "ts", sourcefile: "app.ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    tsconfig,
    logLevel: "silent",
  });
  return result.outputFiles.map((file) => file.text).join("\n");
}

describe("bundling an application", () => {
  it("AWS only: bundles without externals, with the AWS supplier and no Azure code", async () => {
    const code = await bundle(`
      import { fromConfig } from "@wifkit/credentials";
      import { awsSupplier } from "@wifkit/aws-supplier";
      export const credentials = await fromConfig(process.env.GOOGLE_APPLICATION_CREDENTIALS, { suppliers: [awsSupplier] });
    `);
    expect(code).toMatch(AWS_CODE);
    expect(code).not.toMatch(AZURE_CODE);
  }, 30_000);

  it("without any supplier: neither cloud's code", async () => {
    const code = await bundle(`
      import { fromConfig } from "@wifkit/credentials";
      export const credentials = await fromConfig();
    `);
    expect(code).not.toMatch(AWS_CODE);
    expect(code).not.toMatch(AZURE_CODE);
  }, 30_000);

  it("the batteries-included entry carries both (the control for the checks above)", async () => {
    const code = await bundle(`
      import { fromConfig } from "@wifkit/credentials-all";
      export const credentials = await fromConfig();
    `);
    expect(code).toMatch(AWS_CODE);
    expect(code).toMatch(AZURE_CODE);
  }, 30_000);
});
