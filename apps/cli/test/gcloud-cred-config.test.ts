/**
 * `wif create-cred-config` against the installed gcloud: for every flag set in the matrix, both write a
 * credential configuration (and, for X.509, a certificate configuration) from the same arguments, and the
 * files must parse to the same JSON and carry the same mode. gcloud needs no network for this: its one
 * probe (is this a GCE VM?) is answered by a cache file written first and aimed at a closed loopback port.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProcess, runWif, scratch, type WifResult } from "./helpers.js";

const WORKLOAD = "projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider";
const WORKFORCE = "locations/global/workforcePools/my-pool/providers/my-provider";
const SA = "--service-account=app@my-project.iam.gserviceaccount.com";
const CERT = [
  "--credential-cert-path=/etc/wif/cert.pem",
  "--credential-cert-private-key-path=/etc/wif/key.pem",
];

interface Case {
  name: string;
  resource: string;
  args: string[];
}

/** Flag sets gcloud 528 and wif both accept; each runs in a directory of its own (relative paths stay equal). */
const CASES: Case[] = [
  { name: "--aws", resource: WORKLOAD, args: ["--aws"] },
  { name: "--aws --enable-imdsv2", resource: WORKLOAD, args: ["--aws", "--enable-imdsv2"] },
  {
    name: "--aws --enable-imdsv2 --service-account --service-account-token-lifetime-seconds 7200",
    resource: WORKLOAD,
    args: ["--aws", "--enable-imdsv2", SA, "--service-account-token-lifetime-seconds=7200"],
  },
  { name: "--azure (no --app-id-uri)", resource: WORKLOAD, args: ["--azure"] },
  {
    name: "--azure --app-id-uri --service-account --service-account-token-lifetime-seconds 2h",
    resource: WORKLOAD,
    args: ["--azure", "--app-id-uri=api://my-app", SA, "--service-account-token-lifetime-seconds=2h"],
  },
  { name: "--credential-source-file", resource: WORKLOAD, args: ["--credential-source-file=/var/run/token"] },
  {
    name: "--credential-source-file --credential-source-type text",
    resource: WORKLOAD,
    args: ["--credential-source-file=/var/run/token", "--credential-source-type=text"],
  },
  {
    name: "--credential-source-file --credential-source-type JSON --credential-source-field-name",
    resource: WORKLOAD,
    args: [
      "--credential-source-file=/var/run/token.json",
      "--credential-source-type=JSON",
      "--credential-source-field-name=id_token",
    ],
  },
  {
    name: "SAML: --credential-source-file --subject-token-type saml2",
    resource: WORKLOAD,
    args: [
      "--credential-source-file=/var/run/saml",
      "--subject-token-type=urn:ietf:params:oauth:token-type:saml2",
    ],
  },
  {
    name: "--credential-source-url",
    resource: WORKLOAD,
    args: ["--credential-source-url=https://idp.example/token"],
  },
  {
    name: "--credential-source-url --credential-source-headers --credential-source-type json --service-account",
    resource: WORKLOAD,
    args: [
      "--credential-source-url=https://idp.example/token",
      "--credential-source-headers=Authorization=Bearer x,X-Signature=a=b,X-Empty=",
      "--credential-source-type=json",
      "--credential-source-field-name=access_token",
      SA,
    ],
  },
  {
    name: "--credential-source-url --credential-source-type text --subject-token-type id_token",
    resource: WORKLOAD,
    args: [
      "--credential-source-url=http://127.0.0.1:5000/token",
      "--credential-source-type=text",
      "--subject-token-type=urn:ietf:params:oauth:token-type:id_token",
    ],
  },
  {
    name: "--executable-command (no timeout: 30000)",
    resource: WORKLOAD,
    args: ["--executable-command=/usr/local/bin/token-helper --audience=x"],
  },
  {
    name: "--executable-command --executable-timeout-millis --executable-output-file",
    resource: WORKLOAD,
    args: [
      "--executable-command=/usr/local/bin/token-helper",
      "--executable-timeout-millis=60000",
      "--executable-output-file=/tmp/token-cache.json",
    ],
  },
  {
    name: "--executable-command --executable-timeout-millis 1m30.5s --subject-token-type saml2 --service-account",
    resource: WORKLOAD,
    args: [
      "--executable-command=/usr/local/bin/token-helper",
      "--executable-timeout-millis=1m30.5s",
      "--subject-token-type=urn:ietf:params:oauth:token-type:saml2",
      SA,
    ],
  },
  {
    name: "X.509, default certificate configuration, --service-account",
    resource: WORKLOAD,
    args: [...CERT, SA],
  },
  {
    name: "X.509 --credential-cert-configuration-output-file --credential-cert-trust-chain-path",
    resource: WORKLOAD,
    args: [
      ...CERT,
      "--credential-cert-configuration-output-file=cert-config.json",
      "--credential-cert-trust-chain-path=/etc/wif/chain.pem",
    ],
  },
  {
    name: "--universe-domain --service-account",
    resource: WORKLOAD,
    args: ["--aws", "--universe-domain=example-universe.test", SA],
  },
  {
    name: "workforce --credential-source-file --workforce-pool-user-project",
    resource: WORKFORCE,
    args: ["--credential-source-file=/var/run/oidc", "--workforce-pool-user-project=my-project"],
  },
  {
    name: "workforce --credential-source-url json, SAML, --service-account and lifetime",
    resource: WORKFORCE,
    args: [
      "--credential-source-url=https://idp.example/saml",
      "--credential-source-type=json",
      "--credential-source-field-name=assertion",
      "--subject-token-type=urn:ietf:params:oauth:token-type:saml2",
      "--workforce-pool-user-project=my-project",
      SA,
      "--service-account-token-lifetime-seconds=600",
    ],
  },
  {
    name: "workforce --executable-command --executable-output-file --executable-interactive-timeout-millis",
    resource: WORKFORCE,
    args: [
      "--executable-command=/usr/local/bin/login-helper",
      "--executable-output-file=/tmp/login.json",
      "--executable-interactive-timeout-millis=120000",
      "--workforce-pool-user-project=my-project",
    ],
  },
];

/** The gcloud executable on PATH, or undefined. */
function findGcloud(): string | undefined {
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(directory, "gcloud");
    if (directory !== "" && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const GCLOUD = findGcloud();
const SKIP_REASON =
  "gcloud is not installed (not on PATH): wif create-cred-config was not compared with gcloud";
if (!GCLOUD) console.warn(`SKIPPED: ${SKIP_REASON}`);

/** Newer gcloud releases have --sts-location (not 528): compare it too when the installed one does. */
function gcloudHasStsLocation(gcloud: string): boolean {
  const source = join(
    dirname(dirname(realpathSync(gcloud))),
    "lib/googlecloudsdk/command_lib/iam/byoid_utilities/cred_config.py",
  );
  return existsSync(source) && readFileSync(source, "utf8").includes("sts_location");
}
if (GCLOUD && gcloudHasStsLocation(GCLOUD)) {
  CASES.push(
    {
      name: "--sts-location us-central1 --service-account",
      resource: WORKLOAD,
      args: ["--credential-source-file=/var/run/token", "--sts-location=us-central1", SA],
    },
    { name: "--sts-location global", resource: WORKLOAD, args: ["--aws", "--sts-location=global"] },
  );
}

interface Written {
  result: WifResult;
  config: unknown;
  configMode: number;
  certificateConfig: unknown;
  certificateConfigMode: number | undefined;
}

const dir = scratch("wif-gcloud-compare-");
afterAll(() => dir.cleanup());

/** Runs `command` in a fresh directory whose `sdk` subdirectory is CLOUDSDK_CONFIG, and reads what it wrote. */
async function writeWith(
  tool: "gcloud" | "wif",
  index: number,
  testCase: Case,
  run: (args: string[], options: { cwd: string; env: Record<string, string> }) => Promise<WifResult>,
): Promise<Written> {
  const cwd = join(dir.dir, `${tool}-${index}`);
  const sdk = join(cwd, "sdk");
  mkdirSync(sdk, { recursive: true });
  // gcloud's "on GCE?" cache, fresh: it then never probes the metadata server.
  writeFileSync(join(sdk, "gce"), "False");
  const env = {
    HOME: cwd,
    CLOUDSDK_CONFIG: sdk,
    GCE_METADATA_ROOT: "127.0.0.1:1",
    GCE_METADATA_IP: "127.0.0.1:1",
    CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
    CLOUDSDK_CORE_DISABLE_FILE_LOGGING: "true",
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "true",
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "true",
  };
  const result = await run([testCase.resource, ...testCase.args, "--output-file=cred.json"], { cwd, env });
  const read = (path: string) =>
    existsSync(path)
      ? { json: JSON.parse(readFileSync(path, "utf8")) as unknown, mode: statSync(path).mode & 0o777 }
      : undefined;
  const config = read(join(cwd, "cred.json"));
  if (!config) throw new Error(`${tool} wrote no configuration for ${testCase.name}:\n${result.stderr}`);
  const certificate = read(join(cwd, "cert-config.json")) ?? read(join(sdk, "certificate_config.json"));
  return {
    result,
    config: config.json,
    configMode: config.mode,
    certificateConfig: certificate?.json,
    certificateConfigMode: certificate?.mode,
  };
}

/** Runs `tasks` at most `limit` at a time: gcloud spends about a second of CPU starting. */
async function inParallel<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

const written = new Map<string, { gcloud: Written; wif: Written }>();

beforeAll(async () => {
  if (!GCLOUD) return;
  const gcloud = GCLOUD;
  const runs = await inParallel(
    CASES.flatMap((testCase, index) => {
      const workforce = testCase.resource === WORKFORCE;
      return [
        () =>
          writeWith("gcloud", index, testCase, (args, options) =>
            runProcess(
              gcloud,
              [
                "iam",
                workforce ? "workforce-pools" : "workload-identity-pools",
                "create-cred-config",
                ...args,
              ],
              { ...options, timeoutMs: 60_000 },
            ),
          ),
        () =>
          writeWith("wif", index, testCase, (args, options) =>
            runWif(["create-cred-config", ...args], options),
          ),
      ];
    }),
    Math.max(4, availableParallelism()),
  );
  CASES.forEach((testCase, index) => {
    written.set(testCase.name, { gcloud: runs[2 * index] as Written, wif: runs[2 * index + 1] as Written });
  });
}, 240_000);

describe("wif create-cred-config writes what the installed gcloud writes", () => {
  it.for(CASES.map((testCase) => testCase.name))("%s", (name, context) => {
    if (!GCLOUD) {
      context.skip(SKIP_REASON);
      return;
    }
    const { gcloud, wif } = written.get(name) as { gcloud: Written; wif: Written };
    expect(wif.result.code).toBe(0);
    expect(wif.result.stderr).toContain("Created credential configuration file [");
    expect(wif.config).toStrictEqual(gcloud.config);
    // The same keys in the same order: the files read the same side by side.
    expect(Object.keys(wif.config as object)).toEqual(Object.keys(gcloud.config as object));
    expect(wif.configMode).toBe(gcloud.configMode);
    expect(wif.certificateConfig).toStrictEqual(gcloud.certificateConfig);
    if (gcloud.certificateConfigMode !== undefined) {
      // Deliberately stricter than gcloud's (it names the private key's path): never more open.
      expect(wif.certificateConfigMode).toBe(0o600);
      expect((wif.certificateConfigMode as number) & ~gcloud.certificateConfigMode).toBe(0);
    }
  });
});
