#!/usr/bin/env node
/**
 * The `wif` entry point. It answers on its own only what must be fast: `--version` and a `wif token` /
 * `wif id-token` whose token is in the file cache. Everything else, including every error, is handed to
 * `lib/commands.js`, which this file loads only then. Keep this file's imports to node builtins and the
 * token store, and write with `writeSync` (process.stdout on a pipe loads the net and stream modules): see
 * tsup.config.ts for why it is bundled apart from the rest, as CommonJS.
 */
import { readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createFileTokenStore } from "@wifkit/token-cache";
import packageJson from "../package.json" with { type: "json" };
import { cacheDirectory, type TokenRequest, tokenCacheKey } from "./cache.js";
import {
  ID_TOKEN_FLAGS,
  ID_TOKEN_FORMATS,
  parseScopes,
  TOKEN_FLAGS,
  TOKEN_FORMATS,
  type TokenFormat,
} from "./specs.js";
import { type CachedToken, formatToken } from "./token-output.js";

/** Bigger than any credential configuration (@wifkit/config caps them at 1 MiB): leave it to the full path. */
const MAX_FAST_CONFIG_BYTES = 1024 * 1024;

interface CommandsModule {
  run(argv: readonly string[], context: { version: string }): Promise<number>;
}

/**
 * The token for a `token` or `id-token` invocation from the file cache, printed; `false` when the full
 * command has to run (a miss, `--no-cache`, `--help`, anything unusual: the full parser reports errors).
 */
async function answerFromCache(argv: readonly string[]): Promise<boolean> {
  const command = argv[0];
  if (command !== "token" && command !== "id-token") return false;
  let request: TokenRequest;
  let format: TokenFormat;
  let values: { config?: string | undefined; "cache-dir"?: string | undefined };
  try {
    if (command === "token") {
      const parsed = parseArgs({
        args: argv.slice(1),
        options: TOKEN_FLAGS,
        strict: true,
        allowPositionals: false,
      });
      if (parsed.values.help || parsed.values["no-cache"]) return false;
      const scopes = parseScopes(parsed.values.scopes);
      if (scopes.length === 0) return false;
      request = { kind: "access_token", scopes };
      format = (parsed.values.format ?? "text") as TokenFormat;
      if (!TOKEN_FORMATS.includes(format)) return false;
      values = parsed.values;
    } else {
      const parsed = parseArgs({
        args: argv.slice(1),
        options: ID_TOKEN_FLAGS,
        strict: true,
        allowPositionals: false,
      });
      if (parsed.values.help || parsed.values["no-cache"] || !parsed.values.audience) return false;
      request = {
        kind: "id_token",
        audience: parsed.values.audience,
        includeEmail: parsed.values["include-email"] === true,
      };
      format = (parsed.values.format ?? "text") as TokenFormat;
      if (!(ID_TOKEN_FORMATS as readonly string[]).includes(format)) return false;
      values = parsed.values;
    }
  } catch {
    return false;
  }
  const configPath = values.config ?? process.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!configPath) return false;
  let configBytes: Buffer;
  try {
    configBytes = readFileSync(configPath);
  } catch {
    return false;
  }
  if (configBytes.length === 0 || configBytes.length > MAX_FAST_CONFIG_BYTES) return false;
  try {
    const store = createFileTokenStore<CachedToken>({
      directory: cacheDirectory(values["cache-dir"], process.env),
    });
    const token = await store.read(tokenCacheKey(configBytes, request, process.env));
    if (!token || token.type !== request.kind || typeof token.value !== "string") return false;
    writeStdout(formatToken(token, format));
    return true;
  } catch {
    // An unreadable cache is the full path's business (it reports it and fetches a token).
    return false;
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
  if (await answerFromCache(argv)) return;
  // A computed specifier keeps the bundler from inlining the commands into this file.
  const commandsUrl = pathToFileURL(join(__dirname, "lib", "commands.js")).href;
  const commands = (await import(commandsUrl)) as CommandsModule;
  process.exitCode = await commands.run(argv, { version: packageJson.version });
}

main().catch((error: unknown) => {
  // Only a bug gets here: commands.run reports every error itself.
  process.stderr.write(`wif: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 70;
});
