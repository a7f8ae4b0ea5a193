/**
 * `wif create-cred-config`: gcloud's `iam workload-identity-pools create-cred-config`, same flags, same
 * file (written by @wifkit/config's buildCredentialConfig), written atomically.
 */
import { randomBytes } from "node:crypto";
import { open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import {
  type BuildCredentialConfigOptions,
  buildCredentialConfig,
  type FormatOptions,
  parseCredentialConfig,
  type SourceOptions,
} from "@wifkit/config";
import { WifError } from "@wifkit/core";
import { allowedOrigins, integerFlag, type ParsedFlags, parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
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
  "subject-token-type": { type: "string" },
  "service-account": { type: "string" },
  "service-account-token-lifetime-seconds": { type: "string" },
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
] as const;

/** The configuration file's mode: it holds no secret (gcloud writes it world-readable too). */
const CONFIG_FILE_MODE = 0o644;

type Values = ParsedFlags<typeof FLAGS>["values"];

function usage(message: string): UsageError {
  return new UsageError(message, COMMAND);
}

/** `--flag` may only be given with `--requires`. */
function only(values: Values, flag: keyof Values, allowedWith: string, present: boolean): void {
  if (values[flag] !== undefined && !present)
    throw usage(`--${String(flag)} can only be used with ${allowedWith}`);
}

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
  const type = values["credential-source-type"];
  const field = values["credential-source-field-name"];
  if (type === undefined) {
    if (field !== undefined)
      throw usage("--credential-source-field-name needs --credential-source-type json");
    return undefined;
  }
  if (type !== "text" && type !== "json") {
    throw usage(`--credential-source-type must be text or json (got '${type}')`);
  }
  if (type === "json" && field === undefined) {
    throw usage("--credential-source-type json needs --credential-source-field-name");
  }
  if (type === "text" && field !== undefined) {
    throw usage("--credential-source-field-name needs --credential-source-type json");
  }
  return field === undefined ? { type } : { type, subjectTokenFieldName: field };
}

function sourceOf(values: Values): SourceOptions {
  const given = SOURCE_FLAGS.filter((flag) => values[flag] !== undefined && values[flag] !== false);
  if (given.length === 0) {
    throw usage(
      "missing credential source: one of --aws, --azure, --credential-source-file, --credential-source-url, --executable-command",
    );
  }
  if (given.length > 1) throw usage(`only one credential source may be given (got --${given.join(", --")})`);
  const kind = given[0];
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
    "subject-token-type",
    "--credential-source-file, --credential-source-url or --executable-command",
    fileOrUrl || executable,
  );

  switch (kind) {
    case "aws":
      return { kind: "aws", enableImdsv2: values["enable-imdsv2"] === true };
    case "azure": {
      const appIdUri = values["app-id-uri"];
      if (!appIdUri) throw usage("--azure needs --app-id-uri (the application ID URI the provider accepts)");
      return { kind: "azure", appIdUri };
    }
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
    default:
      return {
        kind: "executable",
        command: values["executable-command"] as string,
        timeoutMillis: integerFlag(COMMAND, "executable-timeout-millis", values["executable-timeout-millis"]),
        outputFile: values["executable-output-file"],
      };
  }
}

/** Writes `text` to `path` through a temporary file in the same directory and a rename. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new WifError(
      `--output-file ${path} is a directory; name the file to write, e.g. ${join(path, "wif-config.json")}.`,
      {
        code: "ERR_WIF_OUTPUT_IS_DIRECTORY",
      },
    );
  }
  const directory = dirname(path);
  const temporary = join(
    directory,
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(temporary, "wx", CONFIG_FILE_MODE);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new WifError(
      code === "ENOENT"
        ? `Cannot write ${path}: the directory ${directory} does not exist.`
        : `Cannot write ${path} (${code ?? "error"}); check the directory's permissions.`,
      { code: "ERR_WIF_OUTPUT_UNWRITABLE", cause },
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
      code: "ERR_WIF_OUTPUT_UNWRITABLE",
      cause,
    });
  }
}

export async function run(args: readonly string[], { io, env }: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(COMMAND, args, FLAGS, { positionals: true });
  if (positionals.length === 0) {
    throw usage(
      "missing RESOURCE: projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER",
    );
  }
  if (positionals.length > 1) throw usage(`unexpected argument '${positionals[1]}'`);
  const outputFile = values["output-file"];
  if (!outputFile) throw usage("missing --output-file PATH");
  const source = sourceOf(values);
  only(
    values,
    "service-account-token-lifetime-seconds",
    "--service-account",
    values["service-account"] !== undefined,
  );
  const metadataUrl = values["metadata-url"]?.replace(/\/+$/, "");
  const endpoints = {
    ...(values["sts-url"] ? { tokenUrl: values["sts-url"] } : {}),
    ...(values["iam-credentials-url"]
      ? { iamCredentialsBaseUrl: values["iam-credentials-url"].replace(/\/+$/, "") }
      : {}),
    ...(metadataUrl ? { awsMetadataBaseUrl: metadataUrl, azureMetadataBaseUrl: metadataUrl } : {}),
  };
  const options: BuildCredentialConfigOptions = {
    resource: positionals[0] as string,
    source,
    serviceAccount: values["service-account"],
    serviceAccountTokenLifetimeSeconds: integerFlag(
      COMMAND,
      "service-account-token-lifetime-seconds",
      values["service-account-token-lifetime-seconds"],
    ),
    subjectTokenType: values["subject-token-type"],
    universeDomain: values["universe-domain"],
    ...(Object.keys(endpoints).length > 0 ? { endpoints } : {}),
  };
  const config = buildCredentialConfig(options);

  // A file wif would refuse to use is not worth writing; endpoints given on this command line are trusted.
  const origins = [
    ...allowedOrigins(values["allow-origin"], env),
    ...[values["sts-url"], values["iam-credentials-url"], metadataUrl].flatMap((url) => originOfUrl(url)),
  ];
  const { warnings } = parseCredentialConfig(config, { allow: { origins } });
  for (const warning of warnings) io.err(`${io.styles.yellow("warning")}: ${warning}\n`);

  const path = resolve(outputFile);
  await writeAtomically(path, `${JSON.stringify(config, null, 2)}\n`);
  io.err(`Created credential configuration file [${path}].\n`);
  return 0;
}

function originOfUrl(url: string | undefined): string[] {
  if (!url) return [];
  try {
    return [new URL(url).origin];
  } catch {
    return [];
  }
}
