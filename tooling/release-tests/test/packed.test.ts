/**
 * What users install, installed the way they install it: every public package packed with `pnpm pack`, then
 * `npm install --offline` of those tarballs (and of the third-party packages they depend on, packed from the
 * workspace's pnpm store) into fresh projects outside the workspace, with an empty npm cache. Nothing can
 * come from the registry or from the workspace's own node_modules.
 *
 * - an AWS-only application (fixtures/aws-consumer: a chain with caching and impersonation, and `fromConfig`
 *   with the AWS supplier registered explicitly) compiled with `tsc --strict` for nodenext and for
 *   commonjs/node10, run against the emulator (started here, on 127.0.0.1), and bundled by esbuild;
 * - `wif` and `wif-sidecar` from their tarballs;
 * - publint (strict) and attw (its default profile) over every tarball.
 */

import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import {
  cpSync,
  type Dirent,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { checkPackage, createPackageFromTarballData } from "@arethetypeswrong/core";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { build } from "esbuild";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  installTarballs,
  packStorePackage,
  packWorkspacePackages,
  storeClosure,
} from "../../../scripts/tarballs.mjs";
import { AWS_PATH, publicPackages } from "../../../scripts/workspace.mjs";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../../..");
const tsc = join(root, "node_modules/typescript/bin/tsc");
const SERVICE_ACCOUNT = "wifkit-reader";

interface PublicPackage {
  dir: string;
  manifest: { name: string; version: string; dependencies?: Record<string, string> };
}

let work: string;
let tarballs: Map<string, string>;
let emulator: Emulator;
const packages = publicPackages(root) as PublicPackage[];
const versionOf = (name: string) => packages.find(({ manifest }) => manifest.name === name)!.manifest.version;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wifkit-packed-"));
  tarballs = await packWorkspacePackages(
    packages.map(({ dir }) => join(root, dir)),
    join(work, "tarballs"),
  );
  emulator = await startEmulator();
});

afterAll(async () => {
  await emulator?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function counters(...names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, emulator.counters.get(name) ?? 0]));
}

describe("an AWS-only application on the AWS path's tarballs", () => {
  let project: string;
  const settingsFor = (variant: string, source: "aws" | "file") => {
    const config = emulator.credentialConfig({ source, serviceAccount: SERVICE_ACCOUNT });
    const fileConfig = emulator.credentialConfig({ source: "file", serviceAccount: SERVICE_ACCOUNT });
    const settings = {
      audience: config.audience,
      tokenUrl: config.token_url,
      iamCredentialsBaseUrl: emulator.urls.iamCredentials,
      serviceAccount: emulator.serviceAccountEmail(SERVICE_ACCOUNT),
      credentialSource: emulator.credentialConfig({ source: "aws" }).credential_source,
      tokenFile: (fileConfig.credential_source as { file: string }).file,
      cacheDir: join(project, variant, `cache-${source}`),
    };
    const path = join(project, variant, `settings-${source}.json`);
    writeFileSync(path, JSON.stringify(settings));
    return path;
  };
  const runConsumer = async (variant: string, settings: string, env: Record<string, string>) => {
    const { stdout } = await run(process.execPath, [join(project, variant, "dist/consumer.js"), settings], {
      cwd: join(project, variant),
      // No AWS settings of this machine: only what the test gives, and never the real metadata address.
      env: { PATH: process.env.PATH ?? "", AWS_EC2_METADATA_DISABLED: "true", ...env },
    });
    return JSON.parse(stdout) as { principal: string; type: string; expiresAt: string; length: number };
  };

  const compile = (variant: string) =>
    run(process.execPath, [tsc, "-p", join(project, variant)]).catch((error: { stdout: string }) => {
      throw new Error(`tsc failed for ${variant}:\n${error.stdout}`);
    });

  beforeAll(async () => {
    project = join(work, "aws-app");
    await installTarballs(
      project,
      AWS_PATH.map((name) => tarballs.get(`@wifkit/${name}`)!),
    );
    const typeRoots = [join(root, "node_modules/@types")];
    // Each compiled on its own, so one that fails to compile fails only its own test.
    const variants = {
      nodenext: { file: "consumer.ts", module: "nodenext", moduleResolution: "nodenext", type: "module" },
      node10: { file: "consumer.ts", module: "commonjs", moduleResolution: "node10", type: "commonjs" },
      registration: {
        file: "from-config.ts",
        module: "nodenext",
        moduleResolution: "nodenext",
        type: "module",
      },
    };
    for (const [variant, { file, type, ...modules }] of Object.entries(variants)) {
      const dir = join(project, variant);
      mkdirSync(dir);
      cpSync(join(import.meta.dirname, "../fixtures/aws-consumer", file), join(dir, file));
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type }));
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            target: "es2022",
            outDir: "dist",
            typeRoots,
            types: ["node"],
            ...modules,
          },
          files: [file],
        }),
      );
    }
  });

  it("installs only the eight AWS path packages: no Azure supplier, no third-party package", () => {
    const installed = JSON.parse(readFileSync(join(project, "node_modules/.package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    expect(Object.keys(installed.packages).sort()).toEqual(
      AWS_PATH.map((name) => `node_modules/@wifkit/${name}`).sort(),
    );
  });

  it.each(["nodenext", "node10"])(
    "compiles with tsc --strict (%s) and gets a token through the chain",
    async (variant) => {
      await compile(variant);
      // AWS applies (EC2 instance metadata): the first link of the chain.
      const aws = settingsFor(variant, "aws");
      const awsEnv = { ...emulator.awsEnv({ source: "imds" }), AWS_EC2_METADATA_DISABLED: "false" };
      const before = counters("aws.imds.credentials", "sts.token", "iam.generateAccessToken");
      const first = await runConsumer(variant, aws, awsEnv);
      expect(first).toMatchObject({ type: "access_token" });
      expect(first.principal).toContain(emulator.serviceAccountEmail(SERVICE_ACCOUNT));
      expect(new Date(first.expiresAt).getTime()).toBeGreaterThan(Date.now());
      const afterFirst = counters("aws.imds.credentials", "sts.token", "iam.generateAccessToken");
      expect(afterFirst["aws.imds.credentials"]).toBeGreaterThan(before["aws.imds.credentials"]!);
      expect(afterFirst["sts.token"]).toBe(before["sts.token"]! + 1);
      expect(afterFirst["iam.generateAccessToken"]).toBe(before["iam.generateAccessToken"]! + 1);

      // A second run reads the token the first one stored: no exchange, no impersonation call.
      const second = await runConsumer(variant, aws, awsEnv);
      expect(second.expiresAt).toBe(first.expiresAt);
      expect(counters("sts.token", "iam.generateAccessToken")).toEqual({
        "sts.token": afterFirst["sts.token"],
        "iam.generateAccessToken": afterFirst["iam.generateAccessToken"],
      });

      // Not on AWS (no AWS variables, instance metadata disabled): the chain moves on to the token file.
      const file = await runConsumer(variant, settingsFor(variant, "file"), {});
      expect(file).toMatchObject({ type: "access_token" });
      const afterFile = counters("aws.imds.credentials", "sts.token");
      expect(afterFile["aws.imds.credentials"]).toBe(afterFirst["aws.imds.credentials"]);
      expect(afterFile["sts.token"]).toBe(afterFirst["sts.token"]! + 1);
    },
  );

  it("fromConfig with the AWS supplier registered explicitly gets a token (nodenext)", async () => {
    await compile("registration");
    const configPath = emulator.writeCredentialConfig({
      source: "aws",
      serviceAccount: SERVICE_ACCOUNT,
      path: join(project, "registration", "credential-config.json"),
    });
    const before = counters("aws.imds.credentials", "sts.token");
    const { stdout } = await run(
      process.execPath,
      [join(project, "registration/dist/from-config.js"), configPath, emulator.allowOrigins.join(",")],
      { env: { PATH: process.env.PATH ?? "", ...emulator.awsEnv({ source: "imds" }) } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ type: "access_token" });
    const after = counters("aws.imds.credentials", "sts.token");
    expect(after["aws.imds.credentials"]).toBeGreaterThan(before["aws.imds.credentials"]!);
    expect(after["sts.token"]).toBe(before["sts.token"]! + 1);
  });

  it.each(["nodenext/consumer.ts", "registration/from-config.ts"])(
    "bundles %s with esbuild, no flags, and the bundle carries no Azure code",
    async (entry) => {
      const result = await build({
        entryPoints: [join(project, entry)],
        absWorkingDir: project,
        bundle: true,
        platform: "node",
        format: "esm",
        write: false,
        logLevel: "silent",
      });
      const code = result.outputFiles.map((file) => file.text).join("\n");
      expect(code).toContain("GetCallerIdentity");
      // Markers of @wifkit/azure-supplier's code (its names, the variables and hosts it reads), none of
      // which another package carries: credentials may name the Azure supplier in an error message and
      // recognise an Azure metadata URL in a config, which is not Azure code.
      const azure = code.match(
        /.{0,60}(fromAzure|IDENTITY_ENDPOINT|IDENTITY_HEADER|AZURE_FEDERATED_TOKEN_FILE|AZURE_AUTHORITY_HOST|AZURE_CLIENT_ID|login\.microsoftonline|managed identity|himds).{0,60}/gi,
      );
      expect(azure ?? [], "Azure code in the bundle").toEqual([]);
    },
  );
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("wif and wif-sidecar from their tarballs", () => {
  let project: string;
  let configPath: string;
  const children: ChildProcess[] = [];
  const env = () => ({ PATH: process.env.PATH ?? "", AWS_EC2_METADATA_DISABLED: "true" });

  beforeAll(async () => {
    project = join(work, "tools");
    // Every public tarball, and the third-party packages they depend on, from the workspace's store.
    const thirdParty = new Map<string, { name: string; version: string; dir: string }>();
    for (const { dir, manifest } of packages) {
      const names = Object.keys(manifest.dependencies ?? {}).filter((name) => !name.startsWith("@wifkit/"));
      for (const found of storeClosure(join(root, dir), names)) thirdParty.set(found.name, found);
    }
    const store = await Promise.all(
      [...thirdParty.values()].map((found) => packStorePackage(found, join(work, "store"))),
    );
    await installTarballs(project, [...tarballs.values(), ...store]);
    configPath = emulator.writeCredentialConfig({
      source: "aws",
      serviceAccount: SERVICE_ACCOUNT,
      path: join(work, "aws-config.json"),
    });
  });

  afterAll(() => {
    for (const child of children) child.kill("SIGKILL");
  });

  it("npx wif --version and npx @wifkit/cli --version print the CLI's version", async () => {
    for (const command of ["wif", "@wifkit/cli"]) {
      const { stdout } = await run("npx", ["--offline", command, "--version"], { cwd: project, env: env() });
      expect(stdout).toBe(`${versionOf("@wifkit/cli")}\n`);
    }
  });

  it("npx @wifkit/cli demo walks every flow against its in-process emulator", async () => {
    const { stdout, stderr } = await run("npx", ["--offline", "@wifkit/cli", "demo"], {
      cwd: project,
      env: env(),
    });
    expect(`${stdout}${stderr}`).toContain("Every step behaved as expected.");
  });

  it("wif token gets a token from the emulator", async () => {
    const before = counters("sts.token", "iam.generateAccessToken");
    const { stdout } = await run(
      join(project, "node_modules/.bin/wif"),
      [
        "token",
        "--config",
        configPath,
        "--allow-origin",
        emulator.allowOrigins.join(","),
        "--format",
        "json",
        "--no-cache",
      ],
      {
        cwd: project,
        env: { ...env(), ...emulator.awsEnv({ source: "imds" }), AWS_EC2_METADATA_DISABLED: "false" },
      },
    );
    const printed = JSON.parse(stdout) as { access_token: string; principal: { email?: string } };
    expect(printed.access_token.length).toBeGreaterThan(20);
    expect(printed.principal.email).toBe(emulator.serviceAccountEmail(SERVICE_ACCOUNT));
    expect(counters("sts.token", "iam.generateAccessToken")).toEqual({
      "sts.token": before["sts.token"]! + 1,
      "iam.generateAccessToken": before["iam.generateAccessToken"]! + 1,
    });
  });

  it("wif-sidecar serves a token over the GCE metadata protocol", async () => {
    const adminPort = await freePort();
    const child = spawn(
      join(project, "node_modules/.bin/wif-sidecar"),
      ["--credential-config", configPath, "--port", "0", "--allow-origin", emulator.allowOrigins.join(",")],
      {
        cwd: project,
        env: {
          ...env(),
          ...emulator.awsEnv({ source: "imds" }),
          AWS_EC2_METADATA_DISABLED: "false",
          WIF_SIDECAR_ADMIN_PORT: String(adminPort),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    const output: string[] = [];
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        output.push(line);
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "wif-sidecar listening" && entry.url) resolve(entry.url);
      });
      child.on("exit", () => reject(new Error(`wif-sidecar exited:\n${output.join("\n")}`)));
    });
    const response = await fetch(`${url}/computeMetadata/v1/instance/service-accounts/default/token`, {
      headers: { "Metadata-Flavor": "Google" },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBeGreaterThan(0);
    child.kill("SIGTERM");
  });
});

/** The files of a tarball (paths without the leading `package/`), extracted under `work`. */
function unpack(tarball: string): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(work, "unpacked-"));
  execFileSync("tar", ["-xzf", tarball, "-C", dir]);
  const files = (readdirSync(join(dir, "package"), { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => relative(join(dir, "package"), join(entry.parentPath, entry.name)));
  return { dir: join(dir, "package"), files };
}

describe("what every tarball ships", () => {
  it.each(packages.map(({ manifest }) => manifest.name))(
    "%s: only code its entry points reach, no source map, the licences of bundled third-party code",
    (name) => {
      const { dir, files } = unpack(tarballs.get(name)!);
      expect(files.filter((file) => file.endsWith(".map"))).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        main?: string;
        bin?: Record<string, string>;
        exports?: Record<string, string | { default?: string }>;
      };
      const entries = [
        manifest.main,
        ...Object.values(manifest.bin ?? {}),
        ...Object.values(manifest.exports ?? {}).map((target) =>
          typeof target === "string" ? target : target.default,
        ),
      ]
        .filter((path): path is string => path?.endsWith(".js") === true)
        .map((path) => path.replace(/^\.\//, ""));
      // A shipped script is reached when a reached one names it in a string: an import specifier
      // ("./chunk-X.js") or a path it builds (the CLI's entry loads join(__dirname, "lib", "commands.js")).
      const scripts = files.filter((file) => file.endsWith(".js"));
      const reached = new Set(entries);
      for (let grew = true; grew; ) {
        grew = false;
        const text = [...reached].map((file) => readFileSync(join(dir, file), "utf8")).join("\n");
        for (const file of scripts.filter((candidate) => !reached.has(candidate))) {
          if (new RegExp(`["'/]${basename(file).replaceAll(".", "\\.")}["']`).test(text)) {
            reached.add(file);
            grew = true;
          }
        }
      }
      expect(
        scripts.filter((file) => !reached.has(file)),
        "scripts nothing loads",
      ).toEqual([]);

      // esbuild heads each bundled module with its path: those under node_modules are third-party code.
      const bundled = new Set<string>();
      for (const file of scripts) {
        for (const match of readFileSync(join(dir, file), "utf8").matchAll(
          /^\/\/ .*node_modules\/((?:@[^/]+\/)?[^/]+)\//gm,
        )) {
          bundled.add(match[1]!); // the greedy .* leaves the package after the last node_modules/
        }
      }
      const notices = files
        .filter((file) => basename(file) === "THIRD_PARTY_NOTICES.md")
        .map((file) => readFileSync(join(dir, file), "utf8"))
        .join("\n");
      expect(
        [...bundled].filter((pkg) => !notices.includes(`## ${pkg}@`)),
        "bundled without a notice",
      ).toEqual([]);
    },
  );
});

describe("publint and attw over every tarball", () => {
  it.each(packages.map(({ manifest }) => manifest.name))("%s", async (name) => {
    const tarball = tarballs.get(name)!;
    const { messages, pkg } = await publint({
      pack: { tarball: readFileSync(tarball).buffer as ArrayBuffer },
      strict: true,
    });
    const problems = messages
      .filter((message) => message.type !== "suggestion")
      .map((message) => `${message.type}: ${formatMessage(message, pkg)}`);
    expect(problems).toEqual([]);

    // attw's default ("strict") profile: every problem counts.
    const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(tarball))));
    const kinds = [
      ...new Set(("problems" in analysis ? analysis.problems : []).map((problem) => problem.kind)),
    ];
    // Every problem attw reports must be explained in the package's README, by its name, and the only one
    // allowed is `CJSResolvesToESM` (a require() from node16 CommonJS of an ES module, which Node 20.19+
    // loads): every entry point must resolve for node10 too (`typesVersions` for subpath exports).
    const packageDir = packages.find(({ manifest }) => manifest.name === name)!.dir;
    const readme = readFileSync(join(root, packageDir, "README.md"), "utf8");
    expect(
      kinds.filter((kind) => !readme.includes(kind)),
      `attw problems ${name}'s README does not explain`,
    ).toEqual([]);
    expect(
      kinds.filter((kind) => kind !== "CJSResolvesToESM"),
      "attw problems besides require(esm)",
    ).toEqual([]);
  });
});
