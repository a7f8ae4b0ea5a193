/**
 * The cold path of `token`, `id-token` and `exec`: load the configuration (once), bind the cache key to the
 * subject credential, look in the cache (once), else take the key's lock (other processes may be fetching
 * the same token), look again, build the credential, fetch, and keep the result under the key the entry's
 * warm path reads.
 */
import type { AllowOptions, LoadedCredentialConfig } from "@wifkit/config";
import { readFileBounded, type SubjectToken, type SubjectTokenSupplier } from "@wifkit/core";
import type { ConfigSourceKind } from "@wifkit/credentials";
import { createFileTokenStore } from "@wifkit/token-cache";
import { allowedOrigins } from "./args.js";
import {
  cacheDirectory,
  ensureCacheDirectory,
  MAX_FILE_BYTES,
  quickCacheKey,
  subjectBindingOf,
  subjectDigest,
  type TokenRequest,
  tokenCacheKey,
} from "./cache.js";
import type { CommandContext } from "./context.js";
import type { CachedToken, TokenPrincipal } from "./token-output.js";

/**
 * Bound on obtaining the subject token before the cache is looked up (URL, executable and certificate
 * sources): an executable may take up to 120 s (its `timeout_millis`), a URL 30 s with its retries.
 */
export const SUBJECT_TOKEN_TIMEOUT_MS = 125_000;

export interface ObtainOptions {
  /** `--config`; default `GOOGLE_APPLICATION_CREDENTIALS`. */
  configPath: string | undefined;
  request: TokenRequest;
  /** What the policy accepts beyond Google's own; read only when the cache cannot answer. */
  allow: () => Promise<AllowOptions>;
  cacheDir: string | undefined;
  noCache: boolean;
}

/** The flags every command that loads a configuration shares. */
export interface ConfigFlagValues {
  config?: string | undefined;
  "allow-origin"?: string[] | undefined;
  "universe-domain"?: string | undefined;
}

/** The flags `token`, `id-token` and `exec` share. */
export interface TokenFlagValues extends ConfigFlagValues {
  "cache-dir"?: string | undefined;
  "no-cache"?: boolean | undefined;
}

/**
 * What the endpoint policy accepts beyond Google's own for these flags: `--allow-origin` (else
 * `WIF_ALLOW_ORIGINS`) and `--universe-domain` (else the loader reads `WIF_UNIVERSE_DOMAIN`). A malformed
 * origin is a usage error of `command`.
 */
export async function allowFor(
  values: ConfigFlagValues,
  env: CommandContext["env"],
  command?: string,
): Promise<AllowOptions> {
  const universe = values["universe-domain"]?.trim();
  return {
    origins: await allowedOrigins(values["allow-origin"], env, command),
    ...(universe ? { universeDomains: [universe] } : {}),
  };
}

/** `obtainToken` for a command's parsed flags. */
export function obtainTokenForFlags(
  values: TokenFlagValues,
  request: TokenRequest,
  context: CommandContext,
  command?: string,
): Promise<CachedToken> {
  return obtainToken(
    {
      configPath: values.config,
      request,
      allow: () => allowFor(values, context.env, command),
      cacheDir: values["cache-dir"],
      noCache: values["no-cache"] === true,
    },
    context,
  );
}

export interface LoadedConfig extends LoadedCredentialConfig {
  /** The bytes that were validated: what the cache key is made of. */
  bytes: Buffer;
}

/**
 * A `ReadFile` that serves what was read already (by the entry, or earlier on this path) and reads anything
 * else, bounded, remembering it in `seen`. A file is served from memory once: a later refresh of a subject
 * token file reads it afresh. Pipes only for the configuration (`--config <(...)`): a token file is a file.
 */
function readOnce(files: Map<string, Buffer>, seen: Map<string, Buffer>, allowPipes: boolean) {
  return async (path: string, options?: { signal?: AbortSignal | undefined }): Promise<Buffer> => {
    const known = files.get(path);
    files.delete(path);
    const bytes =
      known ??
      (await readFileBounded(path, { maxBytes: MAX_FILE_BYTES, allowPipes, signal: options?.signal }));
    seen.set(path, bytes);
    return bytes;
  };
}

/**
 * Reads and validates the credential configuration once (through @wifkit/config's loader, whose messages
 * say where and how to fix it), printing its warnings; `files` holds what the entry read already.
 */
export async function loadConfig(
  configPath: string | undefined,
  allow: AllowOptions,
  context: CommandContext,
  files: Map<string, Buffer> = new Map(),
): Promise<LoadedConfig> {
  const { loadCredentialConfig } = await import("@wifkit/config");
  const seen = new Map<string, Buffer>();
  const read = readOnce(files, seen, true);
  let path: string | undefined;
  const loaded = await loadCredentialConfig({
    path: configPath,
    env: context.env as Record<string, string | undefined>,
    allow,
    readFile: (resolved, options) => {
      // The loader resolves the path; the entry read it by the name it was given.
      const given = configPath ?? context.env.GOOGLE_APPLICATION_CREDENTIALS ?? resolved;
      path = files.has(given) ? given : resolved;
      return read(path, options);
    },
  });
  for (const warning of loaded.warnings) {
    context.io.err(`${context.io.styles.yellow("warning")}: ${warning}\n`);
  }
  return { ...loaded, bytes: seen.get(path as string) as Buffer };
}

/** A supplier that answers `first` once, then asks `supplier`: the subject token the key was made of is the one exchanged. */
function replayFirst(first: SubjectToken, supplier: SubjectTokenSupplier): SubjectTokenSupplier {
  let pending: SubjectToken | undefined = first;
  return async (options) => {
    const token = pending;
    pending = undefined;
    return token ?? supplier(options);
  };
}

/**
 * An access or ID token for the request, from the cache when possible, stored there when fetched. Each
 * file is read once and the cache looked up once before the lock (a key the entry already looked up is not
 * looked up again), and once more under it.
 */
async function obtainToken(options: ObtainOptions, context: CommandContext): Promise<CachedToken> {
  const { io, env } = context;
  const files = context.warm?.files ?? new Map<string, Buffer>();
  // Checked before anything is fetched: a cache directory under /proc would otherwise fail only at the end.
  const store = options.noCache
    ? undefined
    : createFileTokenStore<CachedToken>({
        directory: ensureCacheDirectory(cacheDirectory(options.cacheDir, env)),
      });
  let checkedKey = context.warm?.checkedKey;
  const lookUp = async (key: string): Promise<CachedToken | undefined> => {
    if (!store || key === checkedKey) return undefined;
    checkedKey = key;
    try {
      const cached = await store.read(key);
      return cached?.type === options.request.kind ? cached : undefined;
    } catch (error) {
      io.err(`${io.styles.yellow("warning")}: ${(error as Error).message}\n`);
      return undefined;
    }
  };

  // Before validating: a hit is keyed by the bytes of a configuration that passed validation (see cache.ts),
  // which is what lets `wif exec` start about as fast as `wif token`. The entry did this for token/id-token.
  const path = options.configPath ?? env.GOOGLE_APPLICATION_CREDENTIALS;
  if (store && path && !files.has(path) && checkedKey === undefined) {
    const bytes = await readFileBounded(path, { maxBytes: MAX_FILE_BYTES, allowPipes: true }).catch(
      () => undefined,
    );
    if (bytes) files.set(path, bytes);
    const quick = bytes && quickCacheKey(bytes, options.request, env, files);
    const hit = quick ? await lookUp(quick) : undefined;
    if (hit) return hit;
  }

  const allow = await options.allow();
  const loaded = await loadConfig(options.configPath, allow, context, files);
  const binding = subjectBindingOf(loaded.config);
  const { fromConfig, subjectTokenSupplierFromConfig } = await import("@wifkit/credentials-all");
  let replacement: { supplier: SubjectTokenSupplier; sourceKind: ConfigSourceKind } | undefined;
  let key: string;
  if (binding.kind === "environment" || loaded.config.type !== "external_account") {
    key = tokenCacheKey(loaded.bytes, options.request, env, undefined);
  } else {
    // The subject token first, so the key is bound to it, and only then the cache.
    const seen = new Map<string, Buffer>();
    const { supplier, source } = await subjectTokenSupplierFromConfig(loaded.config, {
      env,
      transport: context.transport,
      readFile: readOnce(files, seen, false),
    });
    const subject = await supplier({ signal: AbortSignal.timeout(SUBJECT_TOKEN_TIMEOUT_MS) });
    const fileBytes = binding.kind === "file" ? seen.get(binding.path) : undefined;
    key = tokenCacheKey(loaded.bytes, options.request, env, subjectDigest(fileBytes ?? subject.token));
    replacement = { supplier: replayFirst(subject, supplier), sourceKind: source };
  }
  const cached = await lookUp(key);
  if (cached) return cached;

  const fetchAndStore = async (): Promise<CachedToken> => {
    const credentials = await fromConfig(loaded.config, {
      allow,
      env,
      transport: context.transport,
      ...replacement,
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
    const token: CachedToken = {
      value: fetched.value,
      expiresAt: fetched.expiresAt,
      type: fetched.type,
      principal,
    };
    await store?.write(key, token).catch((error: unknown) => {
      io.err(`${io.styles.yellow("warning")}: ${(error as Error).message}\n`);
    });
    return token;
  };

  const spinner = io.spinner(
    options.request.kind === "access_token" ? "Getting an access token…" : "Getting an ID token…",
  );
  try {
    if (!store) return await fetchAndStore();
    // One exchange across processes: concurrent runs on a cold cache queue on the key's lock file, and each
    // one after the first finds the token the first one stored. The wait is bounded (the store's
    // DEFAULT_LOCK_WAIT_MS), a dead holder is taken over at the next poll, and a lock that cannot be had
    // never stops the fetch (see @wifkit/token-cache's README, "One fetch across processes").
    return await store.withLock(key, async () => {
      const stored = await store.read(key).catch(() => undefined);
      return stored?.type === options.request.kind ? stored : fetchAndStore();
    });
  } finally {
    spinner.stop();
  }
}
