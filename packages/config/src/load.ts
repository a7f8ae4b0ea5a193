import { resolve } from "node:path";
import {
  READ_FILE_ERROR_CODES,
  type ReadFile,
  type ReadFileError,
  readFileBounded,
  WifError,
} from "@wifkit/core";
import { CONFIG_ERROR_CODES, ConfigError } from "./errors.js";
import { findJsonErrorOffset, findJsonStructureProblem } from "./json-position.js";
import { type ParsedCredentialConfig, parseCredentialConfig } from "./parse.js";
import type { AllowOptions } from "./policy.js";
import { markValidated } from "./validated.js";

/** Credential configurations are small; anything larger is not one (and is not read into memory). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** How long reading the file may take: a pipe (`--config <(...)`) must deliver everything by then. */
export const DEFAULT_CONFIG_READ_TIMEOUT_MS = 5_000;

/**
 * Reads a whole file; rejections carry node's `code` (`ENOENT`, `EACCES`...). The default reads at most
 * `MAX_CONFIG_BYTES + 1` bytes of a regular file or a pipe within `DEFAULT_CONFIG_READ_TIMEOUT_MS`.
 */
export type { ReadFile };

const readConfigFile: ReadFile = (path, options) =>
  readFileBounded(path, {
    maxBytes: MAX_CONFIG_BYTES,
    timeoutMs: DEFAULT_CONFIG_READ_TIMEOUT_MS,
    allowPipes: true,
    signal: options?.signal,
  });

export interface LoadCredentialConfigOptions {
  /** Path of the file. Default: the `GOOGLE_APPLICATION_CREDENTIALS` environment variable. */
  path?: string | undefined;
  /** Environment to read `GOOGLE_APPLICATION_CREDENTIALS` and `WIF_UNIVERSE_DOMAIN` from. Default `process.env`. */
  env?: Record<string, string | undefined> | undefined;
  /** Extra origins and universe domains the endpoint policy accepts (emulators, test servers, sovereign clouds). */
  allow?: AllowOptions | undefined;
  /** File read seam. Default: a bounded read (size cap while reading, pipes without blocking, timeout). */
  readFile?: ReadFile | undefined;
  /** Aborts the read. */
  signal?: AbortSignal | undefined;
}

export interface LoadedCredentialConfig extends ParsedCredentialConfig {
  /** The absolute path the configuration was read from. */
  path: string;
}

/**
 * Reads, parses and validates a credential configuration file, once: the explicit `path`, else the file
 * named by `GOOGLE_APPLICATION_CREDENTIALS`. The result (or its `config`) goes to `fromConfig` as it is.
 * Errors are `WifError`s: `ERR_WIF_CONFIG_NOT_FOUND` (no path, or no such file), `ERR_WIF_CONFIG_UNREADABLE`
 * (a directory, a device, a pipe that does not end, no permission), `ERR_WIF_CONFIG_TOO_LARGE` (over 1 MiB),
 * `ERR_WIF_CONFIG_INVALID` (empty, not JSON (with line and column), nested too deeply, or failing
 * validation, with every problem and its JSON path).
 *
 * @example
 * const { config, warnings } = await loadCredentialConfig({ path: "./wif-config.json" });
 */
export async function loadCredentialConfig(
  options: LoadCredentialConfigOptions = {},
): Promise<LoadedCredentialConfig> {
  const env = options.env ?? process.env;
  const given = options.path ?? env.GOOGLE_APPLICATION_CREDENTIALS;
  if (given === undefined || given.trim() === "") {
    throw new WifError(
      "No credential configuration given: pass its path (--config) or set GOOGLE_APPLICATION_CREDENTIALS to the file gcloud iam workload-identity-pools create-cred-config wrote.",
      { code: CONFIG_ERROR_CODES.notFound },
    );
  }
  const path = resolve(given);
  const origin = options.path === undefined ? `${path} (from GOOGLE_APPLICATION_CREDENTIALS)` : path;
  const text = await readText(options.readFile ?? readConfigFile, path, origin, options.signal);
  const problem = (message: string) => new ConfigError([{ path: "", message }], { source: origin });
  if (text.trim() === "") throw problem("the file is empty");
  // JSON.parse copes with any depth and takes the last of duplicate keys; neither is a configuration's.
  const structure = findJsonStructureProblem(text);
  if (structure) throw new ConfigError([structure], { source: origin });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw problem(describeJsonError(text));
  }
  const parsed = parseCredentialConfig(json, { allow: options.allow, source: origin, env });
  return markValidated({ ...parsed, path });
}

/** The file's text without a byte order mark; read errors become the loader's errors. */
async function readText(
  readFile: ReadFile,
  path: string,
  origin: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  let content: Uint8Array | string;
  try {
    content = await readFile(path, { signal });
  } catch (cause) {
    throw readError(cause as ReadFileError, origin);
  }
  const size = typeof content === "string" ? Buffer.byteLength(content) : content.byteLength;
  if (size > MAX_CONFIG_BYTES) throw tooLarge(origin);
  const text =
    typeof content === "string"
      ? content
      : Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString("utf8");
  return text.replace(/^\uFEFF/, "");
}

function tooLarge(origin: string): WifError {
  return new WifError(
    `Credential configuration ${origin} is larger than ${MAX_CONFIG_BYTES} bytes; a credential configuration is far smaller, so this is not one.`,
    { code: CONFIG_ERROR_CODES.tooLarge },
  );
}

function readError(cause: ReadFileError, origin: string): WifError {
  const code = cause?.code;
  const fail = (what: string, errorCode: string = CONFIG_ERROR_CODES.unreadable) =>
    new WifError(`Credential configuration ${origin} ${what}`, { code: errorCode, cause });
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return fail("does not exist.", CONFIG_ERROR_CODES.notFound);
    case "EISDIR":
      return fail("is a directory; point at the JSON file inside it.");
    case READ_FILE_ERROR_CODES.tooLarge:
      return tooLarge(origin);
    case READ_FILE_ERROR_CODES.notAFile:
      return fail(`is ${cause.fileType ?? "not a regular file"}, not a file; point at the JSON file.`);
    case READ_FILE_ERROR_CODES.timedOut:
      return fail(
        `is a pipe that did not deliver the whole file within ${DEFAULT_CONFIG_READ_TIMEOUT_MS / 1000} s.`,
      );
    case READ_FILE_ERROR_CODES.aborted:
      return fail("was not read: the caller aborted.", CONFIG_ERROR_CODES.aborted);
    case "ELOOP":
      return fail("is a symbolic link loop.");
    default:
      return fail(`cannot be read (${code ?? "error"}); check its permissions.`);
  }
}

/** "not valid JSON: unexpected "}" at line 3, column 8", without quoting the text: it may hold a secret. */
function describeJsonError(text: string): string {
  const offset = findJsonErrorOffset(text);
  const at = offset < 0 ? text.length : offset;
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  const column = at - before.lastIndexOf("\n");
  const found = at >= text.length ? "end of file" : describeChar(text[at] as string);
  return `not valid JSON: unexpected ${found} at line ${line}, column ${column}`;
}

function describeChar(char: string): string {
  if (/\s/.test(char)) return "white space";
  if (char === '"') return "string";
  if (/[{}[\]:,]/.test(char)) return `'${char}'`;
  if (/[\d-]/.test(char)) return "number";
  return "character";
}
