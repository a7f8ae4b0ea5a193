import { type FileHandle, open } from "node:fs/promises";
import { resolve } from "node:path";
import { WifError } from "@wifkit/core";
import { ConfigError } from "./errors.js";
import { findJsonErrorOffset } from "./json-position.js";
import { type ParsedCredentialConfig, parseCredentialConfig } from "./parse.js";
import type { AllowOptions } from "./policy.js";

/** Credential configurations are small; anything larger is not one (and is not read into memory). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface LoadCredentialConfigOptions {
  /** Path of the file. Default: the `GOOGLE_APPLICATION_CREDENTIALS` environment variable. */
  path?: string | undefined;
  /** Environment to read `GOOGLE_APPLICATION_CREDENTIALS` from. Default `process.env`. */
  env?: Record<string, string | undefined> | undefined;
  /** Extra origins the endpoint policy accepts (emulators, test servers). */
  allow?: AllowOptions | undefined;
}

export interface LoadedCredentialConfig extends ParsedCredentialConfig {
  /** The absolute path the configuration was read from. */
  path: string;
}

/**
 * Reads, parses and validates a credential configuration file: the explicit `path`, else the file named by
 * `GOOGLE_APPLICATION_CREDENTIALS`. Errors are `WifError`s: `ERR_WIF_CONFIG_NOT_FOUND` (no path, or no such
 * file), `ERR_WIF_CONFIG_UNREADABLE` (a directory, no permission), `ERR_WIF_CONFIG_TOO_LARGE` (over 1 MiB),
 * `ERR_WIF_CONFIG_INVALID` (empty, not JSON (with line and column), or failing validation, with every problem
 * and its JSON path).
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
      { code: "ERR_WIF_CONFIG_NOT_FOUND" },
    );
  }
  const path = resolve(given);
  const origin = options.path === undefined ? `${path} (from GOOGLE_APPLICATION_CREDENTIALS)` : path;
  const text = await readCapped(path, origin);
  if (text.trim() === "") {
    throw new ConfigError([{ path: "", message: "the file is empty" }], { source: origin });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError([{ path: "", message: describeJsonError(text) }], { source: origin });
  }
  return { ...parseCredentialConfig(json, { allow: options.allow, source: origin }), path };
}

async function readCapped(path: string, origin: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new WifError(`Credential configuration ${origin} does not exist.`, {
        code: "ERR_WIF_CONFIG_NOT_FOUND",
        cause,
      });
    }
    throw new WifError(
      `Credential configuration ${origin} cannot be read (${code ?? "error"}); check its permissions.`,
      {
        code: "ERR_WIF_CONFIG_UNREADABLE",
        cause,
      },
    );
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      throw new WifError(
        `Credential configuration ${origin} is a directory; point at the JSON file inside it.`,
        {
          code: "ERR_WIF_CONFIG_UNREADABLE",
        },
      );
    }
    if (stats.size > MAX_CONFIG_BYTES) {
      throw new WifError(
        `Credential configuration ${origin} is ${stats.size} bytes; a credential configuration is at most ${MAX_CONFIG_BYTES} bytes, so this is not one.`,
        { code: "ERR_WIF_CONFIG_TOO_LARGE" },
      );
    }
    // Read at most one byte past the cap, in case the file grew after fstat.
    const buffer = Buffer.alloc(Math.min(MAX_CONFIG_BYTES + 1, Math.max(stats.size, 0) + 1));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_CONFIG_BYTES) {
      throw new WifError(`Credential configuration ${origin} is larger than ${MAX_CONFIG_BYTES} bytes.`, {
        code: "ERR_WIF_CONFIG_TOO_LARGE",
      });
    }
    return buffer
      .subarray(0, bytesRead)
      .toString("utf8")
      .replace(/^\uFEFF/, "");
  } catch (error) {
    if (error instanceof WifError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new WifError(
      `Credential configuration ${origin} cannot be read (${code ?? "error"})${code === "EISDIR" ? "; it is a directory, point at the JSON file" : ""}.`,
      { code: "ERR_WIF_CONFIG_UNREADABLE", cause: error },
    );
  } finally {
    await handle.close();
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
