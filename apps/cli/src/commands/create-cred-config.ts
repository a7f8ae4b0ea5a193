/**
 * `wif create-cred-config`: gcloud's `iam workload-identity-pools create-cred-config` and, for a workforce
 * provider, `iam workforce-pools create-cred-config`: same flags, same files (written by @wifkit/config's
 * buildCredentialConfig and buildCertificateConfig), written atomically.
 */

import { randomBytes } from "node:crypto";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import {
  type BuildCredentialConfigOptions,
  type BuildEndpoints,
  buildCertificateConfig,
  buildCredentialConfig,
  ConfigError,
  EXECUTABLE_INTERACTIVE_TIMEOUT_RANGE,
  EXECUTABLE_TIMEOUT_RANGE,
  type FormatOptions,
  parseAudience,
  parseCredentialConfig,
  type SourceOptions,
  TOKEN_LIFETIME_RANGE,
} from "@wifkit/config";
import { WifError } from "@wifkit/core";
import {
  allowedOrigins,
  baseUrlFlag,
  durationFlag,
  type ParsedFlags,
  parseFlags,
  UsageError,
} from "../args.js";
import type { CommandContext } from "../context.js";
import { CLI_ERROR_CODES } from "../errors.js";
import { GLOBAL_FLAGS } from "../specs.js";

const COMMAND = "create-cred-config";

const FLAGS = {
  ...GLOBAL_FLAGS,
  "output-file": { type: "string" },
  aws: { type: "boolean" },
  "enable-imdsv2": { type: "boolean" },
  azure: { type: "boolean" },
  "app-id-uri": { type: "string" },
  "credential-source-file": { type: "string" },
  "credential-source-url": { type: "string" },
  "credential-source-headers": { type: "string" },
  "credential-source-type": { type: "string" },
  "credential-source-field-name": { type: "string" },
  "executable-command": { type: "string" },
  "executable-timeout-millis": { type: "string" },
  "executable-output-file": { type: "string" },
  "executable-interactive-timeout-millis": { type: "string" },
  "credential-cert-path": { type: "string" },
  "credential-cert-private-key-path": { type: "string" },
  "credential-cert-trust-chain-path": { type: "string" },
  "credential-cert-configuration-output-file": { type: "string" },
  "subject-token-type": { type: "string" },
  "service-account": { type: "string" },
  "service-account-token-lifetime-seconds": { type: "string" },
  "workforce-pool-user-project": { type: "string" },
  "sts-location": { type: "string" },
  "universe-domain": { type: "string" },
  "sts-url": { type: "string" },
  "iam-credentials-url": { type: "string" },
  "metadata-url": { type: "string" },
} as const;

const SOURCE_FLAGS = [
  "aws",
  "azure",
  "credential-source-file",
  "credential-source-url",
  "executable-command",
  "credential-cert-path",
] as const;

/** The sources gcloud offers for workforce pools (`gcloud iam workforce-pools create-cred-config`). */
const WORKFORCE_SOURCE_FLAGS: readonly string[] = [
  "credential-source-file",
  "credential-source-url",
  "executable-command",
];

/** The configuration file's mode: it holds no secret (gcloud writes it world-readable too). */
const CONFIG_FILE_MODE = 0o644;
/** The certificate configuration's mode: it names where the private key is, so only its owner reads it. */
const CERTIFICATE_CONFIG_FILE_MODE = 0o600;
/** The file name gcloud and Google's libraries look for in gcloud's configuration directory. */
const CERTIFICATE_CONFIG_FILE = "certificate_config.json";
/** Read before the default certificate configuration by Google's libraries and by wifkit. */
const CERTIFICATE_CONFIG_ENV = "GOOGLE_API_CERTIFICATE_CONFIG";
/** The STS path of `--sts-url` when it names the token endpoint itself rather than its base. */
const STS_TOKEN_PATH = "/v1/token";

type Values = ParsedFlags<typeof FLAGS>["values"];

function usage(message: string): UsageError {
  return new UsageError(message, COMMAND);
}

/** `--flag` may only be given with `--requires`. */
function only(values: Values, flag: keyof Values, allowedWith: string, present: boolean): void {
  if (values[flag] !== undefined && !present)
    throw usage(`--${String(flag)} can only be used with ${allowedWith}`);
}

/**
 * `key=value,key=value`, split as gcloud's ArgDict does: at commas, then at each pair's first `=`. Unlike
 * gcloud, spaces around names and values are dropped (a header name cannot hold one).
 */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    if (at <= 0)
      throw usage(`--credential-source-headers takes key=value pairs separated by commas (got '${pair}')`);
    headers[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return headers;
}

function formatOf(values: Values): FormatOptions | undefined {
  // gcloud reads the type case-insensitively (JSON, Text) and writes it in lower case.
  const type = values["credential-source-type"]?.toLowerCase();
  const field = values["credential-source-field-name"];
  if (type === undefined) {
    if (field !== undefined)
      throw usage("--credential-source-field-name needs --credential-source-type json");
    return undefined;
  }
  if (type !== "text" && type !== "json") {
    throw usage(`--credential-source-type must be text or json (got '${values["credential-source-type"]}')`);
  }
  if (type === "json" && field === undefined) {
    throw usage("--credential-source-type json needs --credential-source-field-name");
  }
  if (type === "text" && field !== undefined) {
    throw usage("--credential-source-field-name needs --credential-source-type json");
  }
  return field === undefined ? { type } : { type, subjectTokenFieldName: field };
}

function sourceOf(values: Values, workforce: boolean): SourceOptions {
  const given = SOURCE_FLAGS.filter((flag) => values[flag] !== undefined && values[flag] !== false);
  if (given.length === 0) {
    throw usage(
      "missing credential source: one of --aws, --azure, --credential-source-file, --credential-source-url, --executable-command, --credential-cert-path",
    );
  }
  if (given.length > 1) throw usage(`only one credential source may be given (got --${given.join(", --")})`);
  const kind = given[0] as (typeof SOURCE_FLAGS)[number];
  if (workforce && !WORKFORCE_SOURCE_FLAGS.includes(kind)) {
    throw usage(
      `a workforce pool provider takes --credential-source-file, --credential-source-url or --executable-command (got --${kind})`,
    );
  }
  only(values, "enable-imdsv2", "--aws", kind === "aws");
  only(values, "app-id-uri", "--azure", kind === "azure");
  only(values, "credential-source-headers", "--credential-source-url", kind === "credential-source-url");
  const fileOrUrl = kind === "credential-source-file" || kind === "credential-source-url";
  only(values, "credential-source-type", "--credential-source-file or --credential-source-url", fileOrUrl);
  only(
    values,
    "credential-source-field-name",
    "--credential-source-file or --credential-source-url",
    fileOrUrl,
  );
  const executable = kind === "executable-command";
  only(values, "executable-timeout-millis", "--executable-command", executable);
  only(values, "executable-output-file", "--executable-command", executable);
  only(
    values,
    "executable-interactive-timeout-millis",
    "--executable-command and a workforce pool provider",
    executable && workforce,
  );
  only(
    values,
    "subject-token-type",
    "--credential-source-file, --credential-source-url or --executable-command",
    fileOrUrl || executable,
  );
  const certificate = kind === "credential-cert-path";
  only(values, "credential-cert-private-key-path", "--credential-cert-path", certificate);
  only(values, "credential-cert-trust-chain-path", "--credential-cert-path", certificate);
  only(values, "credential-cert-configuration-output-file", "--credential-cert-path", certificate);

  switch (kind) {
    case "aws":
      return { kind: "aws", enableImdsv2: values["enable-imdsv2"] === true };
    case "azure":
      // Without --app-id-uri the token is for https://iam.googleapis.com/RESOURCE, as gcloud writes it.
      return { kind: "azure", appIdUri: values["app-id-uri"] };
    case "credential-source-file":
      return { kind: "file", path: values["credential-source-file"] as string, format: formatOf(values) };
    case "credential-source-url": {
      const headers = values["credential-source-headers"];
      return {
        kind: "url",
        url: values["credential-source-url"] as string,
        headers: headers === undefined ? undefined : parseHeaders(headers),
        format: formatOf(values),
      };
    }
    case "credential-cert-path":
      if (!values["credential-cert-private-key-path"]) {
        throw usage(
          "--credential-cert-path needs --credential-cert-private-key-path (the certificate's key)",
        );
      }
      // Without a location, the credential configuration says use_default_certificate_config.
      return {
        kind: "certificate",
        certificateConfigLocation: values["credential-cert-configuration-output-file"],
        trustChainPath: values["credential-cert-trust-chain-path"],
      };
    case "executable-command": {
      const interactiveTimeoutMillis = durationFlag(
        COMMAND,
        "executable-interactive-timeout-millis",
        values["executable-interactive-timeout-millis"],
        { defaultUnit: "ms", unit: "ms", range: EXECUTABLE_INTERACTIVE_TIMEOUT_RANGE },
      );
      if (interactiveTimeoutMillis !== undefined && values["executable-output-file"] === undefined) {
        throw usage("--executable-interactive-timeout-millis needs --executable-output-file");
      }
      return {
        kind: "executable",
        command: values["executable-command"] as string,
        timeoutMillis: durationFlag(
          COMMAND,
          "executable-timeout-millis",
          values["executable-timeout-millis"],
          {
            defaultUnit: "ms",
            unit: "ms",
            range: EXECUTABLE_TIMEOUT_RANGE,
          },
        ),
        outputFile: values["executable-output-file"],
        interactiveTimeoutMillis,
      };
    }
  }
}

/** Whether RESOURCE names a workforce pool provider (`locations/global/workforcePools/POOL/providers/ID`). */
function isWorkforce(resource: string): boolean {
  const audience = resource.startsWith("//") ? resource : `//iam.googleapis.com/${resource}`;
  return parseAudience(audience)?.kind === "workforce";
}

/**
 * The endpoint flags wifkit adds for emulators and tests. Each takes a base URL; `--sts-url` may also name
 * the token endpoint itself (`.../v1/token`), whose base then serves the introspection endpoint too.
 */
function endpointsOf(values: Values): { endpoints: BuildEndpoints; origins: string[] } {
  const sts = baseUrlFlag(COMMAND, "sts-url", values["sts-url"]);
  const iam = baseUrlFlag(COMMAND, "iam-credentials-url", values["iam-credentials-url"]);
  const metadata = baseUrlFlag(COMMAND, "metadata-url", values["metadata-url"]);
  const stsBase = sts?.endsWith(STS_TOKEN_PATH) ? sts.slice(0, -STS_TOKEN_PATH.length) : sts;
  const endpoints: BuildEndpoints = {
    ...(stsBase === undefined
      ? {}
      : { tokenUrl: `${stsBase}${STS_TOKEN_PATH}`, tokenInfoUrl: `${stsBase}/v1/introspect` }),
    ...(iam === undefined ? {} : { iamCredentialsBaseUrl: iam }),
    ...(metadata === undefined ? {} : { awsMetadataBaseUrl: metadata, azureMetadataBaseUrl: metadata }),
  };
  // Endpoints given on this command line are trusted for the check of the file written.
  const origins = [sts, iam, metadata].flatMap((url) => (url === undefined ? [] : [new URL(url).origin]));
  return { endpoints, origins };
}

/** `buildCredentialConfig`, its refusal of `--sts-location` reported as the usage error it is. */
function build(options: BuildCredentialConfigOptions) {
  try {
    return buildCredentialConfig(options);
  } catch (error) {
    const issue = error instanceof ConfigError ? error.issues[0] : undefined;
    if (issue?.path !== "stsLocation") throw error;
    throw usage(`--sts-location ${options.stsLocation}: ${issue.message}`);
  }
}

/**
 * Where gcloud keeps the certificate configuration it writes without --credential-cert-configuration-output-file,
 * and where Google's libraries read it for `use_default_certificate_config`: `$CLOUDSDK_CONFIG`, else gcloud's
 * configuration directory. The same rule as @wifkit/credentials' defaultCertificateConfigPath (the tests read
 * the file back through it), not imported from there because that would load the HTTP layer with this command.
 */
function defaultCertificateConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  if (env.CLOUDSDK_CONFIG) return join(env.CLOUDSDK_CONFIG, CERTIFICATE_CONFIG_FILE);
  if (process.platform === "win32" && env.APPDATA)
    return join(env.APPDATA, "gcloud", CERTIFICATE_CONFIG_FILE);
  return join(homedir(), ".config", "gcloud", CERTIFICATE_CONFIG_FILE);
}

/**
 * Writes `text` to `path` through a temporary file in the same directory and a rename, with `mode`
 * (less the umask). `flag` names the option the path came from, for the error messages.
 */
async function writeAtomically(
  path: string,
  text: string,
  { mode, flag, example }: { mode: number; flag: string; example: string },
): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new WifError(
      `${flag} ${path} is a directory; name the file to write, e.g. ${join(path, example)}.`,
      {
        code: CLI_ERROR_CODES.outputIsDirectory,
      },
    );
  }
  const directory = dirname(path);
  // gcloud creates missing directories of the file it writes.
  await mkdir(directory, { recursive: true }).catch(() => {
    // open() below reports a directory that cannot be had.
  });
  const temporary = join(
    directory,
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(temporary, "wx", mode);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new WifError(
      code === "ENOENT"
        ? `Cannot write ${path}: the directory ${directory} does not exist.`
        : `Cannot write ${path} (${code ?? "error"}); check the directory's permissions.`,
      { code: CLI_ERROR_CODES.outputUnwritable, cause },
    );
  }
  try {
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (cause) {
    await unlink(temporary).catch(() => {});
    throw new WifError(`Cannot write ${path} (${(cause as NodeJS.ErrnoException).code ?? "error"}).`, {
      code: CLI_ERROR_CODES.outputUnwritable,
      cause,
    });
  }
}

export async function run(args: readonly string[], { io, env }: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(COMMAND, args, FLAGS, { positionals: true });
  if (positionals.length === 0) {
    throw usage(
      "missing RESOURCE: projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER (or locations/global/workforcePools/POOL/providers/PROVIDER)",
    );
  }
  if (positionals.length > 1) throw usage(`unexpected argument '${positionals[1]}'`);
  const resource = positionals[0] as string;
  const outputFile = values["output-file"];
  if (!outputFile) throw usage("missing --output-file PATH");
  const workforce = isWorkforce(resource);
  const source = sourceOf(values, workforce);
  only(
    values,
    "service-account-token-lifetime-seconds",
    "--service-account",
    values["service-account"] !== undefined,
  );
  only(
    values,
    "workforce-pool-user-project",
    "a workforce pool provider (locations/global/workforcePools/POOL/providers/PROVIDER)",
    workforce,
  );
  if (workforce && !values["workforce-pool-user-project"]) {
    throw usage(
      "a workforce pool provider needs --workforce-pool-user-project (the project that pays for its API calls)",
    );
  }
  const { endpoints, origins: trusted } = endpointsOf(values);
  const config = build({
    resource,
    source,
    serviceAccount: values["service-account"],
    serviceAccountTokenLifetimeSeconds: durationFlag(
      COMMAND,
      "service-account-token-lifetime-seconds",
      values["service-account-token-lifetime-seconds"],
      { defaultUnit: "s", unit: "s", range: TOKEN_LIFETIME_RANGE },
    ),
    subjectTokenType: values["subject-token-type"],
    universeDomain: values["universe-domain"],
    stsLocation: values["sts-location"],
    workforcePoolUserProject: values["workforce-pool-user-project"],
    ...(Object.keys(endpoints).length > 0 ? { endpoints } : {}),
  });

  // A file wif would refuse to use is not worth writing; endpoints and the universe given on this command
  // line are trusted (those who use the file approve the universe again: --universe-domain, WIF_UNIVERSE_DOMAIN).
  const origins = [...(await allowedOrigins(values["allow-origin"], env, COMMAND)), ...trusted];
  const universeDomains = values["universe-domain"] ? [values["universe-domain"]] : [];
  const { warnings } = parseCredentialConfig(config, { allow: { origins, universeDomains } });
  for (const warning of warnings) io.err(`${io.styles.yellow("warning")}: ${warning}\n`);

  const path = resolve(outputFile);
  if (source.kind === "certificate") {
    await writeCertificateConfig(values, path, { io, env });
  }
  await writeAtomically(path, `${JSON.stringify(config, null, 2)}\n`, {
    mode: CONFIG_FILE_MODE,
    flag: "--output-file",
    example: "wif-config.json",
  });
  io.err(`Created credential configuration file [${path}].\n`);
  return 0;
}

/**
 * The certificate configuration (where the workload's certificate and key are), at
 * --credential-cert-configuration-output-file, which the credential configuration names, else at gcloud's
 * well-known location, which it reads through use_default_certificate_config.
 */
async function writeCertificateConfig(
  values: Values,
  credentialConfigPath: string,
  { io, env }: Pick<CommandContext, "io" | "env">,
): Promise<void> {
  const explicit = values["credential-cert-configuration-output-file"];
  const path = explicit === undefined ? defaultCertificateConfigPath(env) : resolve(explicit);
  if (path === credentialConfigPath) {
    throw usage("--credential-cert-configuration-output-file and --output-file name the same file");
  }
  if (explicit === undefined) {
    // gcloud creates its configuration directory too; 0700 as gcloud's own is.
    await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => {
      // writeAtomically reports a directory that cannot be had.
    });
    const override = env[CERTIFICATE_CONFIG_ENV];
    if (override && resolve(override) !== path) {
      io.err(
        `${io.styles.yellow("warning")}: ${CERTIFICATE_CONFIG_ENV} is set, so Google's libraries and wif read the certificate configuration at ${override}, not at ${path}; unset it, or pass --credential-cert-configuration-output-file ${override}\n`,
      );
    }
  }
  const certificateConfig = buildCertificateConfig({
    certPath: values["credential-cert-path"] as string,
    keyPath: values["credential-cert-private-key-path"] as string,
  });
  await writeAtomically(path, `${JSON.stringify(certificateConfig, null, 2)}\n`, {
    mode: CERTIFICATE_CONFIG_FILE_MODE,
    flag:
      explicit === undefined
        ? "The certificate configuration"
        : "--credential-cert-configuration-output-file",
    example: CERTIFICATE_CONFIG_FILE,
  });
  io.err(`Created certificate configuration file [${path}].\n`);
}
