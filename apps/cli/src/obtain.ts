/**
 * The cold path of `token`, `id-token` and `exec`: validate the configuration, build the credential, fetch,
 * and keep the result in the file cache under the key the entry's warm path reads.
 */
import { readFile } from "node:fs/promises";
import type { CredentialConfig } from "@wifkit/config";
import { createFileTokenStore } from "@wifkit/token-cache";
import { allowedOrigins, withOriginFlagHint } from "./args.js";
import { cacheDirectory, type TokenRequest, tokenCacheKey } from "./cache.js";
import type { CommandContext } from "./context.js";
import type { CachedToken, TokenPrincipal } from "./token-output.js";

/** Bigger files are not credential configurations: let the loader say so. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ObtainOptions {
  /** `--config`; default `GOOGLE_APPLICATION_CREDENTIALS`. */
  configPath: string | undefined;
  request: TokenRequest;
  /** The origins to allow, read only when the cache cannot answer (a hit loads no more than the cache). */
  allowOrigins: () => Promise<string[]>;
  cacheDir: string | undefined;
  noCache: boolean;
}

/** The flags `token`, `id-token` and `exec` share. */
export interface TokenFlagValues {
  config?: string | undefined;
  "allow-origin"?: string[] | undefined;
  "cache-dir"?: string | undefined;
  "no-cache"?: boolean | undefined;
}

/** `obtainToken` for a command's parsed `--config`, `--allow-origin`, `--cache-dir` and `--no-cache`. */
export function obtainTokenForFlags(
  values: TokenFlagValues,
  request: TokenRequest,
  context: CommandContext,
): Promise<CachedToken> {
  return obtainToken(
    {
      configPath: values.config,
      request,
      allowOrigins: () => allowedOrigins(values["allow-origin"], context.env),
      cacheDir: values["cache-dir"],
      noCache: values["no-cache"] === true,
    },
    context,
  );
}

export interface LoadedConfig {
  config: CredentialConfig;
  path: string;
  bytes: Buffer;
}

/**
 * Reads and validates the credential configuration once: the bytes that are validated are the bytes the
 * cache key is made of. Any problem (no path, no file, not JSON, invalid) is reported by @wifkit/config's
 * loader, whose messages say where and how to fix it (its endpoint policy hint naming wif's flag).
 */
export async function loadConfig(
  configPath: string | undefined,
  allowOrigins: string[],
  context: CommandContext,
): Promise<LoadedConfig> {
  const { loadCredentialConfig, parseCredentialConfig } = await import("@wifkit/config");
  const allow = { origins: allowOrigins };
  const path = configPath ?? context.env.GOOGLE_APPLICATION_CREDENTIALS;
  let bytes: Buffer | undefined;
  let json: unknown;
  if (path) {
    bytes = await readFile(path).catch(() => undefined);
    if (bytes && bytes.length > 0 && bytes.length <= MAX_CONFIG_BYTES) {
      try {
        json = JSON.parse(bytes.toString("utf8"));
      } catch {
        json = undefined;
      }
    }
  }
  if (bytes === undefined || json === undefined || path === undefined) {
    // Unreadable, empty, oversized or not JSON: the loader produces the precise error (or, for a BOM, succeeds).
    const loaded = await loadCredentialConfig({ path: configPath, env: context.env, allow }).catch(
      (error: unknown) => {
        throw withOriginFlagHint(error);
      },
    );
    printWarnings(loaded.warnings, context);
    return { config: loaded.config, path: loaded.path, bytes: bytes ?? (await readFile(loaded.path)) };
  }
  const source = configPath === undefined ? `${path} (from GOOGLE_APPLICATION_CREDENTIALS)` : path;
  let parsed: ReturnType<typeof parseCredentialConfig>;
  try {
    parsed = parseCredentialConfig(json, { allow, source });
  } catch (error) {
    throw withOriginFlagHint(error);
  }
  const { config, warnings } = parsed;
  printWarnings(warnings, context);
  return { config, path, bytes };
}

function printWarnings(warnings: readonly string[], { io }: CommandContext): void {
  for (const warning of warnings) io.err(`${io.styles.yellow("warning")}: ${warning}\n`);
}

/**
 * An access or ID token for the request, from the cache when possible, stored there when fetched. The cache
 * is read before anything is validated or loaded: a hit is keyed by the exact bytes of a configuration that
 * already passed validation (see cache.ts), which is what lets `wif exec` start as fast as `wif token`.
 */
async function obtainToken(options: ObtainOptions, context: CommandContext): Promise<CachedToken> {
  const { io, env } = context;
  const store = options.noCache
    ? undefined
    : createFileTokenStore<CachedToken>({ directory: cacheDirectory(options.cacheDir, env) });
  const path = options.configPath ?? env.GOOGLE_APPLICATION_CREDENTIALS;
  const bytes = path ? await readFile(path).catch(() => undefined) : undefined;
  if (store && bytes && bytes.length > 0 && bytes.length <= MAX_CONFIG_BYTES) {
    try {
      const cached = await store.read(tokenCacheKey(bytes, options.request, env));
      if (cached && cached.type === options.request.kind) return cached;
    } catch (error) {
      io.err(`${io.styles.yellow("warning")}: ${(error as Error).message}\n`);
    }
  }

  const allowOrigins = await options.allowOrigins();
  const loaded = await loadConfig(options.configPath, allowOrigins, context);
  const key = tokenCacheKey(loaded.bytes, options.request, env);
  const { fromConfig } = await import("@wifkit/credentials");
  const spinner = io.spinner(
    options.request.kind === "access_token" ? "Getting an access token…" : "Getting an ID token…",
  );
  let token: CachedToken;
  try {
    const credentials = await fromConfig(loaded.config as Parameters<typeof fromConfig>[0], {
      allow: { origins: allowOrigins },
      env,
    });
    const principal: TokenPrincipal = {
      kind: credentials.principal.kind,
      serviceAccount: credentials.principal.serviceAccount,
      audience: credentials.principal.audience,
    };
    const fetched =
      options.request.kind === "access_token"
        ? await credentials.getAccessToken({ scopes: options.request.scopes })
        : await credentials.getIdToken({
            audience: options.request.audience,
            includeEmail: options.request.includeEmail,
          });
    token = { value: fetched.value, expiresAt: fetched.expiresAt, type: fetched.type, principal };
  } finally {
    spinner.stop();
  }
  if (store) {
    await store.write(key, token).catch((error: unknown) => {
      io.err(`${io.styles.yellow("warning")}: ${(error as Error).message}\n`);
    });
  }
  return token;
}
