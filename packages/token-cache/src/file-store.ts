import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Clock, Provider, Token } from "@wifkit/core";
import { abortedError, durationOption, systemClock, WifError } from "@wifkit/core";

/** A stored token is not handed out when it has less than this left before expiry. */
export const DEFAULT_FILE_STORE_MIN_VALIDITY_MS = 60_000;
/** Bound on one store operation (read, write or delete). */
export const DEFAULT_FILE_STORE_TIMEOUT_MS = 5_000;
/** The `version` field of files this store writes; files with another version are ignored. */
export const FILE_STORE_FORMAT_VERSION = 1;

const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;
// Windows may refuse to replace a file another process has open for a moment; POSIX never needs this.
const RENAME_ATTEMPTS = 5;

/** Options every store operation accepts. */
export interface TokenStoreCallOptions {
  signal?: AbortSignal;
  /** Default `DEFAULT_FILE_STORE_TIMEOUT_MS`. */
  timeoutMs?: number;
}

export interface TokenStoreReadOptions extends TokenStoreCallOptions {
  /** Treat a token with less than this left as absent. Default: the store's `minValidityMs`. */
  minValidityMs?: number;
}

/** Somewhere tokens survive the process: what `withFileStore` needs. */
export interface TokenStore<T> {
  /** The stored token for `key`, or `undefined` if there is none, it is unreadable, or it is (nearly) expired. */
  read(key: string, options?: TokenStoreReadOptions): Promise<T | undefined>;
  /** Stores `token` under `key`, replacing any previous one atomically. */
  write(key: string, token: T, options?: TokenStoreCallOptions): Promise<void>;
  /** Removes the token stored under `key`, if any. */
  delete(key: string, options?: TokenStoreCallOptions): Promise<void>;
}

export interface FileTokenStore<T> extends TokenStore<T> {
  readonly directory: string;
  /** The file that holds `key`'s token (the key is hashed, so any string is a safe key). */
  pathOf(key: string): string;
}

export interface FileTokenStoreOptions {
  /** Cache directory; created with mode 0700 if missing. Use a directory only this user can write to. */
  directory: string;
  /** Time source for expiry decisions. Default `systemClock`. */
  clock?: Clock;
  /** Default margin for `read`. Default `DEFAULT_FILE_STORE_MIN_VALIDITY_MS`. */
  minValidityMs?: number;
}

/**
 * Creates a token store that keeps one JSON file per key under `directory`, for processes that start often
 * (a CLI) and should reuse a token across runs. File names are a SHA-256 of the key. Files are created with
 * mode 0600 and replaced atomically (a temporary file in the same directory, fsync, rename), so concurrent
 * writers, even in different processes, leave exactly one complete file and readers never see a partial
 * one. A corrupt, truncated or foreign file reads as absent and is replaced by the next write; a token that
 * has expired, or has less than `minValidityMs` left, is never returned (an expired file is removed).
 * Tokens are stored as JSON with `expiresAt` as an ISO string and read back with `expiresAt` as a `Date`;
 * other fields must survive `JSON.stringify`.
 *
 * @example
 * const store = createFileTokenStore({ directory: join(homedir(), ".cache", "wifkit") });
 * await store.write("sts:cloud-platform", token);
 * const again = await store.read("sts:cloud-platform"); // in a later process, too
 */
export function createFileTokenStore<T extends { expiresAt: Date } = Token>(
  options: FileTokenStoreOptions,
): FileTokenStore<T> {
  const { directory } = options;
  if (typeof directory !== "string" || directory === "") {
    throw new TypeError("createFileTokenStore needs a `directory` path.");
  }
  const clock = options.clock ?? systemClock;
  const defaultMinValidityMs = durationOption(
    options.minValidityMs,
    DEFAULT_FILE_STORE_MIN_VALIDITY_MS,
    "minValidityMs",
  );

  const fileNameOf = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");
  const pathOf = (key: string) => join(directory, `${fileNameOf(key)}.json`);

  async function read(key: string, readOptions: TokenStoreReadOptions = {}): Promise<T | undefined> {
    const minValidityMs = durationOption(readOptions.minValidityMs, defaultMinValidityMs, "minValidityMs");
    const signal = operationSignal(readOptions);
    const file = pathOf(key);
    let text: string;
    try {
      text = await readFile(file, { encoding: "utf8", signal });
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      throw storeError("read", file, error, signal, readOptions);
    }
    const token = parseStoredToken<T>(text);
    if (!token) return undefined;
    const expiresAtMs = token.expiresAt.getTime();
    const now = clock.now();
    if (expiresAtMs <= now) {
      // Best effort: the next write replaces it anyway, and a racing writer's fresh file removed here only
      // costs that process one extra fetch.
      await unlink(file).catch(() => {});
      return undefined;
    }
    return expiresAtMs - now > minValidityMs ? token : undefined;
  }

  async function write(key: string, token: T, callOptions: TokenStoreCallOptions = {}): Promise<void> {
    const expiresAt: unknown = (token as { expiresAt?: unknown } | null | undefined)?.expiresAt;
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
      throw new WifError("Cannot store a token without a valid `expiresAt` Date in the token cache.", {
        code: "ERR_WIF_TOKEN_INVALID",
      });
    }
    const signal = operationSignal(callOptions);
    const file = pathOf(key);
    const temporary = join(
      directory,
      `.${fileNameOf(key)}.${process.pid}.${randomBytes(8).toString("hex")}.tmp`,
    );
    const body = JSON.stringify({ version: FILE_STORE_FORMAT_VERSION, token });
    let created = false;
    try {
      signal.throwIfAborted();
      await mkdir(directory, { recursive: true, mode: DIRECTORY_MODE });
      // "wx": never follow or reuse something already at the temporary name.
      const handle = await open(temporary, "wx", FILE_MODE);
      created = true;
      try {
        await handle.writeFile(body, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      signal.throwIfAborted();
      await renameReplacing(temporary, file);
      created = false;
    } catch (error) {
      if (created) await unlink(temporary).catch(() => {});
      throw storeError("write", file, error, signal, callOptions);
    }
    await syncDirectory(directory);
  }

  async function remove(key: string, callOptions: TokenStoreCallOptions = {}): Promise<void> {
    const signal = operationSignal(callOptions);
    const file = pathOf(key);
    try {
      signal.throwIfAborted();
      await unlink(file);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return;
      throw storeError("delete", file, error, signal, callOptions);
    }
  }

  return { directory, pathOf, read, write, delete: remove };
}

export interface WithFileStoreOptions<T> {
  /** Where tokens are kept between runs; usually `createFileTokenStore(...)`. */
  store: TokenStore<T>;
  /** The key under which this provider's token is stored (include whatever makes tokens differ: scopes, audience). */
  key: string;
  /** Read with this margin instead of the store's default. */
  minValidityMs?: number;
  /**
   * Called when the store cannot be read or written. The call still succeeds from the provider: a broken
   * cache must not stop a token from being delivered. Default: ignore.
   */
  onStoreError?: (error: unknown) => void;
}

/**
 * Backs a provider with a token store: a call returns the stored token while it is valid (beyond the
 * margin), otherwise it calls `provider` and stores the result. `forceRefresh` skips the read. Store
 * failures are reported to `onStoreError` and otherwise ignored. Wrap the result in `memoize` to add an
 * in-memory layer: memory first, then the file, then the network.
 *
 * @example
 * const store = createFileTokenStore({ directory: cacheDir });
 * const accessToken = memoize(withFileStore(fetchAccessToken, { store, key: "sts:cloud-platform" }));
 */
export function withFileStore<T extends { expiresAt: Date }>(
  provider: Provider<T>,
  options: WithFileStoreOptions<T>,
): Provider<T> {
  const { store, key, onStoreError } = options;
  const report = (error: unknown) => {
    try {
      onStoreError?.(error);
    } catch {
      // A reporting hook must not turn a delivered token into a failure.
    }
  };
  return async (callOptions = {}) => {
    const { signal } = callOptions;
    if (!callOptions.forceRefresh) {
      try {
        const readOptions: TokenStoreReadOptions = {};
        if (signal) readOptions.signal = signal;
        if (options.minValidityMs !== undefined) readOptions.minValidityMs = options.minValidityMs;
        const stored = await store.read(key, readOptions);
        if (stored) return stored;
      } catch (error) {
        if (signal?.aborted) throw error;
        report(error);
      }
    }
    const token = await provider(callOptions);
    // Written without the caller's signal: the token is already paid for, and the next run should reuse it.
    await store.write(key, token).catch(report);
    return token;
  };
}

function parseStoredToken<T>(text: string): T | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || parsed.version !== FILE_STORE_FORMAT_VERSION || !isRecord(parsed.token)) {
    return undefined;
  }
  const { expiresAt } = parsed.token;
  if (typeof expiresAt !== "string") return undefined;
  const revived = new Date(expiresAt);
  if (Number.isNaN(revived.getTime())) return undefined;
  return { ...parsed.token, expiresAt: revived } as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function operationSignal(options: TokenStoreCallOptions): AbortSignal {
  const timeoutMs = durationOption(options.timeoutMs, DEFAULT_FILE_STORE_TIMEOUT_MS, "timeoutMs", {
    allowZero: false,
  });
  const timeout = AbortSignal.timeout(timeoutMs);
  return options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
}

async function renameReplacing(from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (error) {
      const code = errorCode(error);
      const transient = code === "EPERM" || code === "EACCES" || code === "EBUSY";
      if (!transient || process.platform !== "win32" || attempt >= RENAME_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}

/** Makes the rename itself durable; not every platform can open a directory, so failures are ignored. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the directory entry is a bonus; the file's own fsync already happened.
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

function storeError(
  operation: "read" | "write" | "delete",
  file: string,
  error: unknown,
  signal: AbortSignal,
  options: TokenStoreCallOptions,
): WifError {
  if (options.signal?.aborted)
    return abortedError(`Token cache ${operation} of ${file}`, options.signal.reason);
  if (signal.aborted) {
    return new WifError(
      `Token cache ${operation} of ${file} did not finish within ${options.timeoutMs ?? DEFAULT_FILE_STORE_TIMEOUT_MS} ms. Check the file system holding the cache directory.`,
      { code: "ERR_WIF_TIMEOUT", retryable: true, cause: error },
    );
  }
  const detail = errorCode(error) ?? (error instanceof Error ? error.message : String(error));
  return new WifError(
    `Token cache ${operation} of ${file} failed (${detail}). Check that the cache directory exists and belongs to this user, or delete the file.`,
    { code: operation === "read" ? "ERR_WIF_TOKEN_STORE_READ" : "ERR_WIF_TOKEN_STORE_WRITE", cause: error },
  );
}
