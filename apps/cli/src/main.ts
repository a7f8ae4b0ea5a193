#!/usr/bin/env node
/**
 * The `wif` entry point. It answers on its own only what must be fast: `--version` and a `wif token` /
 * `wif id-token` whose token is in the file cache. Everything else, including every error, is handed to
 * `lib/commands.js`, which this file loads only then. Keep this file's imports to node builtins and the
 * token store, and write with `writeSync` (process.stdout on a pipe loads the net and stream modules): see
 * tsup.config.ts for why it is bundled apart from the rest, as CommonJS.
 */
import { writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readFileBoundedSync } from "@wifkit/core";
import { createFileTokenStore } from "@wifkit/token-cache";
import packageJson from "../package.json" with { type: "json" };
import { cacheDirectory, MAX_FILE_BYTES, quickCacheKey, type TokenRequest, type WarmStart } from "./cache.js";
import {
  ID_TOKEN_FLAGS,
  ID_TOKEN_FORMATS,
  parseScopes,
  TOKEN_FLAGS,
  TOKEN_FORMATS,
  type TokenFormat,
} from "./specs.js";
import { type CachedToken, formatToken } from "./token-output.js";

interface CommandsModule {
  run(argv: readonly string[], context: { version: string; warm?: WarmStart | undefined }): Promise<number>;
}

/**
 * The token for a `token` or `id-token` invocation from the file cache, printed (`true`); otherwise what
 * was learned on the way (flags, files read, the key that missed) for the full command, or undefined for
 * any other command. Anything unusual is left to the full path, which reports errors.
 */
async function answerFromCache(argv: readonly string[]): Promise<true | WarmStart | undefined> {
  const command = argv[0];
  if (command !== "token" && command !== "id-token") return undefined;
  let request: TokenRequest | undefined;
  let format: TokenFormat;
  let values: {
    config?: string | undefined;
    "cache-dir"?: string | undefined;
    "no-cache"?: boolean | undefined;
  };
  try {
    if (command === "token") {
      const parsed = parseArgs({
        args: argv.slice(1),
        options: TOKEN_FLAGS,
        strict: true,
        allowPositionals: false,
      });
      values = parsed.values;
      const scopes = parseScopes(parsed.values.scopes);
      if (scopes.length > 0) request = { kind: "access_token", scopes };
      format = (parsed.values.format ?? "text") as TokenFormat;
      if (!TOKEN_FORMATS.includes(format)) request = undefined;
    } else {
      const parsed = parseArgs({
        args: argv.slice(1),
        options: ID_TOKEN_FLAGS,
        strict: true,
        allowPositionals: false,
      });
      values = parsed.values;
      const audience = parsed.values.audience?.trim();
      if (audience) {
        request = { kind: "id_token", audience, includeEmail: parsed.values["include-email"] === true };
      }
      format = (parsed.values.format ?? "text") as TokenFormat;
      if (!(ID_TOKEN_FORMATS as readonly string[]).includes(format)) request = undefined;
    }
  } catch {
    return undefined;
  }
  const warm: WarmStart = { command, values, files: new Map() };
  const configPath = values.config ?? process.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!request || values["no-cache"] || (values as { help?: boolean }).help || !configPath) return warm;
  let configBytes: Buffer;
  try {
    // A regular file only: a pipe (`--config <(...)`) is read by the full path, with its timeout.
    configBytes = readFileBoundedSync(configPath, { maxBytes: MAX_FILE_BYTES });
  } catch {
    return warm;
  }
  warm.files.set(configPath, configBytes);
  const key = quickCacheKey(configBytes, request, process.env, warm.files);
  if (key === undefined) return warm;
  try {
    const store = createFileTokenStore<CachedToken>({
      directory: cacheDirectory(values["cache-dir"], process.env),
    });
    const token = await store.read(key);
    warm.checkedKey = key;
    if (!token || token.type !== request.kind || typeof token.value !== "string") return warm;
    writeStdout(formatToken(token, format));
    return true;
  } catch {
    // An unreadable cache is the full path's business (it reports it and fetches a token).
    return warm;
  }
}

/** Writes to fd 1 directly; falls back to process.stdout if the descriptor is non-blocking and full. */
function writeStdout(text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(1, bytes, offset);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    process.stdout.write(bytes.subarray(offset));
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    writeStdout(`${packageJson.version}\n`);
    return;
  }
  const warm = await answerFromCache(argv);
  if (warm === true) return;
  // A computed specifier keeps the bundler from inlining the commands into this file.
  // node:url only now: a cache hit never needs it.
  const { pathToFileURL } = process.getBuiltinModule("node:url");
  const commandsUrl = pathToFileURL(join(__dirname, "lib", "commands.js")).href;
  const commands = (await import(commandsUrl)) as CommandsModule;
  process.exitCode = await commands.run(argv, { version: packageJson.version, warm });
}

main().catch((error: unknown) => {
  // Only a bug gets here: commands.run reports every error itself.
  process.stderr.write(`wif: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 70;
});
