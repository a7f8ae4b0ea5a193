import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  type Stats,
  unlinkSync,
} from "node:fs";
import { dirname, join, parse, resolve, sep } from "node:path";
import type { Clock, Provider, Token } from "@wifkit/core";
import {
  abortedError,
  durationOption,
  invalidOption,
  type Sleep,
  sha256Hex,
  systemClock,
  systemSleep,
  timeoutSignal,
  WifError,
} from "@wifkit/core";
import {
  DEFAULT_LOCK_STALE_MS,
  DEFAULT_LOCK_WAIT_MS,
  type LockOptions,
  type LockState,
  withLockFile,
} from "./file-lock.js";

// Reading a token is a few synchronous calls on a small local file; writing, deleting and locking load
// node:fs/promises and node:crypto on first use. A CLI answering from its cache loads neither: together
// they cost more than a tenth of a Node start-up.
const fsp = () => process.getBuiltinModule("node:fs/promises");
const randomHex = (bytes: number) =>
  process.getBuiltinModule("node:crypto").randomBytes(bytes).toString("hex");

/** A stored token is not handed out when it has less than this left before expiry. */
export const DEFAULT_FILE_STORE_MIN_VALIDITY_MS = 60_000;
/** Bound on one store operation (read, write or delete). */
export const DEFAULT_FILE_STORE_TIMEOUT_MS = 5_000;
/** The `version` field of files this store writes; files with another version are ignored. */
export const FILE_STORE_FORMAT_VERSION = 1;

/** The codes the file store throws; callers switch on `error.code`. */
export const FILE_STORE_ERROR_CODES = Object.freeze({
  /** A token file exists but could not be read (permissions, I/O). */
  read: "ERR_WIF_TOKEN_STORE_READ",
  /** A token file could not be written or deleted. */
  write: "ERR_WIF_TOKEN_STORE_WRITE",
  /**
   * The cache directory or a token file cannot be trusted: owned by another user, writable by others, a
   * symbolic link, not a regular file, or on a pseudo file system. The message names the path and the fix.
   */
  untrusted: "ERR_WIF_TOKEN_STORE_UNTRUSTED",
  /** `write` was given a token without a valid `expiresAt` Date. */
  tokenInvalid: "ERR_WIF_TOKEN_INVALID",
  /** A store operation did not finish within its `timeoutMs`. */
  timeout: "ERR_WIF_TIMEOUT",
  /** The caller's `signal` aborted a store operation or a wait for the lock. */
  aborted: "ERR_WIF_ABORTED",
} as const);

export type FileStoreErrorCode = (typeof FILE_STORE_ERROR_CODES)[keyof typeof FILE_STORE_ERROR_CODES];

const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;
// Windows may refuse to replace a file another process has open for a moment; POSIX never needs this.
const RENAME_ATTEMPTS = 5;
/** A token file is a few KB; anything over 1 MiB is not one of ours and is not read. */
const MAX_TOKEN_FILE_BYTES = 1024 * 1024;
// Directories made by the kernel, where a cache makes no sense and recursive mkdir can loop forever.
const PSEUDO_FILE_SYSTEMS = ["/proc", "/sys", "/dev"];
/** Path components walked when creating the directory; deeper paths are refused. */
const MAX_PATH_DEPTH = 64;
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
// Opening a FIFO for reading would block until a writer appears; with this it opens at once and is refused.
const NON_BLOCK = constants.O_NONBLOCK ?? 0;
const POSIX = process.platform !== "win32";

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
  /** The directory as configured (tokens go in a private subdirectory when it is a shared sticky one). */
  readonly directory: string;
  /**
   * The file that holds `key`'s token (the key is hashed, so any string is a safe key); in the private
   * subdirectory once an operation has found the configured directory to be a shared sticky one.
   */
  pathOf(key: string): string;
  /**
   * Runs `fn` holding `key`'s cross-process lock (a `<hash>.lock` file next to the token file), so that
   * processes sharing the directory make one fetch between them: the holder fetches and writes, the others
   * wait, then read what it wrote. A lock whose holder died (same host, pid gone) or that is older than
   * `staleMs` is taken over; a waiter gives up after `waitMs` and runs `fn` anyway with `acquired: false`.
   * Only an abort of `signal` during the wait makes it throw (`ERR_WIF_ABORTED`); `fn`'s errors pass through.
   */
  withLock<R>(key: string, fn: (state: LockState) => Promise<R>, options?: LockOptions): Promise<R>;
}

export interface FileTokenStoreOptions {
  /**
   * Cache directory, created (mode 0700, one level at a time) if missing. An existing one must be this
   * user's, not a symbolic link and not writable by others; a shared sticky directory such as /tmp gets a
   * private `wifkit-<uid>` subdirectory instead.
   */
  directory: string;
  /** Time source for expiry decisions and lock ages. Default `systemClock`. */
  clock?: Clock;
  /** Default margin for `read`. Default `DEFAULT_FILE_STORE_MIN_VALIDITY_MS`. */
  minValidityMs?: number;
  /** Longest wait for another process's lock. Default `DEFAULT_LOCK_WAIT_MS` (30 s). */
  lockWaitMs?: number;
  /** Age after which a lock is abandoned whoever holds it. Default `DEFAULT_LOCK_STALE_MS` (60 s). */
  lockStaleMs?: number;
  /** Waits between polls of a busy lock; tests pass one that moves their clock. Default: a timer. */
  sleep?: Sleep;
}

/**
 * Creates a token store that keeps one JSON file per key under `directory`, for processes that start often
 * (a CLI) and should reuse a token across runs. File names are a SHA-256 of the key. Files are created with
 * mode 0600 and replaced atomically (a temporary file in the same directory, fsync, rename), so concurrent
 * writers, even in different processes, leave exactly one complete file and readers never see a partial
 * one. A corrupt, truncated or foreign file reads as absent and is replaced by the next write; a token that
 * has expired, or has less than `minValidityMs` left, is never returned (an expired file is removed).
 * Nothing is trusted for being there: the directory must be this user's, not a symbolic link and not
 * writable by others (a shared sticky one like /tmp gets a private subdirectory), and a token file must be
 * a regular file of this user's with mode 0600 or narrower, opened without following symbolic links;
 * anything else fails with `ERR_WIF_TOKEN_STORE_UNTRUSTED` naming the path and the fix. `withLock` lets
 * processes that share the directory make one fetch between them.
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
    throw invalidOption("directory", "of createFileTokenStore must be a path.");
  }
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? systemSleep;
  const defaultMinValidityMs = durationOption(
    options.minValidityMs,
    DEFAULT_FILE_STORE_MIN_VALIDITY_MS,
    "minValidityMs",
  );
  const lockWaitMs = durationOption(options.lockWaitMs, DEFAULT_LOCK_WAIT_MS, "lockWaitMs");
  const lockStaleMs = durationOption(options.lockStaleMs, DEFAULT_LOCK_STALE_MS, "lockStaleMs");
  const configured = resolve(directory);
  // Once checked (and created), the directory is not checked again by this store.
  let trusted: string | undefined;

  /** The checked directory, or undefined when it does not exist yet. Once found, it is not checked again. */
  function existingDirectory(): string | undefined {
    if (trusted !== undefined) return trusted;
    const located = locateDirectory(configured);
    if (located.exists) trusted = located.path;
    return trusted;
  }

  async function usableDirectory(signal: AbortSignal): Promise<string> {
    const existing = existingDirectory();
    if (existing !== undefined) return existing;
    await makeDirectories(locateDirectory(configured).path, signal);
    return existingDirectory() as string;
  }

  const fileNameOf = (key: string) => sha256Hex(key);
  const pathOf = (key: string) => join(trusted ?? configured, `${fileNameOf(key)}.json`);

  async function read(key: string, readOptions: TokenStoreReadOptions = {}): Promise<T | undefined> {
    const minValidityMs = durationOption(readOptions.minValidityMs, defaultMinValidityMs, "minValidityMs");
    if (readOptions.signal?.aborted)
      throw abortedError(`Token cache read of ${key}`, readOptions.signal.reason);
    let file = pathOf(key);
    let text: string | undefined;
    try {
      if (existingDirectory() === undefined) return undefined;
      file = pathOf(key);
      text = readTokenFile(file);
    } catch (error) {
      throw storeError("read", file, error, undefined, readOptions);
    }
    if (text === undefined) return undefined;
    const token = parseStoredToken<T>(text);
    if (!token) return undefined;
    const expiresAtMs = token.expiresAt.getTime();
    const now = clock.now();
    if (expiresAtMs <= now) {
      // Best effort: the next write replaces it anyway, and a racing writer's fresh file removed here only
      // costs that process one extra fetch.
      try {
        unlinkSync(file);
      } catch {
        // Already gone, or not ours to remove.
      }
      return undefined;
    }
    return expiresAtMs - now > minValidityMs ? token : undefined;
  }

  async function write(key: string, token: T, callOptions: TokenStoreCallOptions = {}): Promise<void> {
    const expiresAt: unknown = (token as { expiresAt?: unknown } | null | undefined)?.expiresAt;
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
      throw new WifError("Cannot store a token without a valid `expiresAt` Date in the token cache.", {
        code: FILE_STORE_ERROR_CODES.tokenInvalid,
      });
    }
    const deadline = operationDeadline(callOptions);
    const { signal } = deadline;
    let file = pathOf(key);
    const body = JSON.stringify({ version: FILE_STORE_FORMAT_VERSION, token });
    let temporary: string | undefined;
    try {
      signal.throwIfAborted();
      const dir = await usableDirectory(signal);
      file = pathOf(key);
      const candidate = join(dir, `.${fileNameOf(key)}.${process.pid}.${randomHex(8)}.tmp`);
      // "wx": never follow or reuse something already at the temporary name.
      const handle = await fsp().open(candidate, "wx", FILE_MODE);
      temporary = candidate;
      try {
        await handle.writeFile(body, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      signal.throwIfAborted();
      await renameReplacing(candidate, file);
      temporary = undefined;
    } catch (error) {
      if (temporary !== undefined)
        await fsp()
          .unlink(temporary)
          .catch(() => {});
      throw storeError("write", file, error, deadline, callOptions);
    } finally {
      deadline.clear();
    }
    await syncDirectory(dirname(file));
  }

  async function remove(key: string, callOptions: TokenStoreCallOptions = {}): Promise<void> {
    const deadline = operationDeadline(callOptions);
    let file = pathOf(key);
    try {
      deadline.signal.throwIfAborted();
      if (existingDirectory() === undefined) return;
      file = pathOf(key);
      await fsp().unlink(file);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return;
      throw storeError("delete", file, error, deadline, callOptions);
    } finally {
      deadline.clear();
    }
  }

  async function withLock<R>(
    key: string,
    fn: (state: LockState) => Promise<R>,
    lockOptions: LockOptions = {},
  ): Promise<R> {
    const { signal } = lockOptions;
    let dir: string | undefined;
    const deadline = operationDeadline(signal ? { signal } : {});
    try {
      dir = await usableDirectory(deadline.signal);
    } catch {
      // The store cannot be used at all; the fetch can, and its write will report the problem.
    } finally {
      deadline.clear();
    }
    if (dir === undefined) return fn({ acquired: false });
    try {
      return await withLockFile(
        join(dir, `${fileNameOf(key)}.lock`),
        fn,
        {
          waitMs: durationOption(lockOptions.waitMs, lockWaitMs, "waitMs"),
          staleMs: durationOption(lockOptions.staleMs, lockStaleMs, "staleMs"),
          signal,
        },
        { clock, sleep },
      );
    } catch (error) {
      if (signal?.aborted) throw abortedError(`Waiting for the token cache lock of ${key}`, signal.reason);
      throw error;
    }
  }

  return { directory, pathOf, read, write, delete: remove, withLock };
}

/**
 * Where tokens go: the configured directory when it is this user's, a real directory (not a symbolic link)
 * and not writable by others; a private `wifkit-<uid>` subdirectory when it is a shared sticky directory
 * (like /tmp) owned by root or this user. `exists` is false when that directory is still to be created.
 * Anything else is refused (`ERR_WIF_TOKEN_STORE_UNTRUSTED`, naming the path and the fix).
 */
function locateDirectory(path: string): { path: string; exists: boolean } {
  const pseudo = PSEUDO_FILE_SYSTEMS.find((root) => path === root || path.startsWith(`${root}/`));
  if (POSIX && pseudo) {
    throw untrusted(
      path,
      `is on the ${pseudo} pseudo file system`,
      "Use a directory on a real disk, such as ~/.cache/wifkit.",
    );
  }
  const info = lstatIfPresent(path);
  if (info === undefined) return { path, exists: false };
  if (!POSIX) return { path: requireDirectory(path, info), exists: true };
  const uid = process.getuid?.() ?? -1;
  const othersMayWrite = (info.mode & 0o022) !== 0;
  if (
    !info.isSymbolicLink() &&
    info.isDirectory() &&
    othersMayWrite &&
    (info.mode & 0o1000) !== 0 &&
    (info.uid === uid || info.uid === 0)
  ) {
    // A shared sticky directory: others cannot touch what is ours in it, so a private subdirectory is safe.
    const own = join(path, `wifkit-${uid}`);
    const ownInfo = lstatIfPresent(own);
    return ownInfo === undefined
      ? { path: own, exists: false }
      : { path: checkOwnDirectory(own, ownInfo, uid), exists: true };
  }
  return { path: checkOwnDirectory(path, info, uid), exists: true };
}

function checkOwnDirectory(path: string, info: Stats, uid: number): string {
  if (info.isSymbolicLink()) {
    throw untrusted(
      path,
      "is a symbolic link",
      "Point the cache at the real directory, which must be yours.",
    );
  }
  requireDirectory(path, info);
  if (info.uid !== uid) {
    throw untrusted(
      path,
      `belongs to another user (uid ${info.uid})`,
      "Use a cache directory of your own (or remove the setting to use the default, ~/.cache/wifkit).",
    );
  }
  if ((info.mode & 0o022) !== 0) {
    throw untrusted(
      path,
      `is writable by other users (mode ${(info.mode & 0o7777).toString(8).padStart(4, "0")})`,
      `Run \`chmod 700 ${path}\`, or use another directory.`,
    );
  }
  return path;
}

function requireDirectory(path: string, info: Stats): string {
  if (!info.isDirectory()) throw Object.assign(new Error(`${path} is not a directory`), { code: "ENOTDIR" });
  return path;
}

/**
 * Creates `path` and its missing parents, one level at a time, each 0700: never `mkdir -p` on a path that
 * could be anything (Node's recursive mkdir spins forever on some pseudo file systems).
 */
async function makeDirectories(path: string, signal: AbortSignal): Promise<void> {
  const { mkdir, stat } = fsp();
  const { root } = parse(path);
  const parts = path.slice(root.length).split(sep).filter(Boolean);
  if (parts.length > MAX_PATH_DEPTH) {
    throw untrusted(path, `is more than ${MAX_PATH_DEPTH} levels deep`, "Use a shorter path.");
  }
  let current = root;
  for (const part of parts) {
    signal.throwIfAborted();
    current = join(current, part);
    // stat, not lstat: a parent may be a link (/var on macOS is one); only the cache directory itself may not.
    const info = await stat(current).catch((error: unknown) => {
      if (errorCode(error) === "ENOENT") return undefined;
      throw error;
    });
    if (info) {
      requireDirectory(current, info);
      continue;
    }
    await mkdir(current, { mode: DIRECTORY_MODE }).catch((error: unknown) => {
      if (errorCode(error) !== "EEXIST") throw error;
    });
  }
}

/**
 * A token file's text, or `undefined` if there is none or it is too large to be one. Opened without
 * following a symbolic link and without blocking on a FIFO; it must be a regular file of this user's with
 * no permission for anyone else.
 */
function readTokenFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | NO_FOLLOW | NON_BLOCK);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP")
      throw untrusted(file, "is a symbolic link", "Delete it; the next token is written in its place.");
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw untrusted(file, "is not a regular file", "Delete it.");
    if (POSIX && info.uid !== process.getuid?.()) {
      throw untrusted(
        file,
        `belongs to another user (uid ${info.uid})`,
        "Delete it; the next token is written in its place.",
      );
    }
    if (POSIX && (info.mode & 0o077) !== 0) {
      throw untrusted(
        file,
        `has mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}, wider than 0600`,
        "Delete it; the next token is written in its place.",
      );
    }
    if (info.size > MAX_TOKEN_FILE_BYTES) return undefined;
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

function lstatIfPresent(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

function untrusted(path: string, problem: string, fix: string): WifError {
  return new WifError(`The token cache refuses ${path}: it ${problem}. ${fix}`, {
    code: FILE_STORE_ERROR_CODES.untrusted,
  });
}

export interface WithFileStoreOptions<T> {
  /** Where tokens are kept between runs; usually `createFileTokenStore(...)`. */
  store: TokenStore<T> & { withLock?: FileTokenStore<T>["withLock"] };
  /** The key under which this provider's token is stored (include whatever makes tokens differ: scopes, audience). */
  key: string;
  /** Read with this margin instead of the store's default. */
  minValidityMs?: number;
  /**
   * Share one fetch with other processes using the same store: on a miss, take the key's lock (see
   * `FileTokenStore.withLock`), read again (another process may just have written the token), and fetch
   * only if it is still missing. `true` uses the store's bounds; an object overrides them. Default false.
   */
  lock?: boolean | Omit<LockOptions, "signal">;
  /**
   * Called when the store cannot be read or written. The call still succeeds from the provider: a broken
   * cache must not stop a token from being delivered. Default: ignore.
   */
  onStoreError?: (error: unknown) => void;
}

/**
 * Backs a provider with a token store: a call returns the stored token while it is valid (beyond the
 * margin), otherwise it calls `provider` and stores the result; with `lock`, processes sharing the store
 * make one fetch between them. `forceRefresh` skips the read (and the lock). Store failures are reported to
 * `onStoreError` and otherwise ignored. Wrap the result in `memoize` to add an in-memory layer: memory
 * first, then the file, then the network.
 *
 * @example
 * const store = createFileTokenStore({ directory: cacheDir });
 * const accessToken = memoize(withFileStore(fetchAccessToken, { store, key: "sts:cloud-platform", lock: true }));
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
  const readStored = async (signal: AbortSignal | undefined): Promise<T | undefined> => {
    try {
      const readOptions: TokenStoreReadOptions = {};
      if (signal) readOptions.signal = signal;
      if (options.minValidityMs !== undefined) readOptions.minValidityMs = options.minValidityMs;
      return await store.read(key, readOptions);
    } catch (error) {
      if (signal?.aborted) throw error;
      report(error);
      return undefined;
    }
  };
  const fetchAndStore = async (callOptions: Parameters<Provider<T>>[0]): Promise<T> => {
    const token = await provider(callOptions);
    // Written without the caller's signal: the token is already paid for, and the next run should reuse it.
    await store.write(key, token).catch(report);
    return token;
  };
  const lockOptions = options.lock === true ? {} : options.lock || undefined;
  return async (callOptions = {}) => {
    const { signal } = callOptions;
    if (callOptions.forceRefresh) return fetchAndStore(callOptions);
    const stored = await readStored(signal);
    if (stored) return stored;
    if (!lockOptions || !store.withLock) return fetchAndStore(callOptions);
    return store.withLock(
      key,
      async () => (await readStored(signal)) ?? fetchAndStore(callOptions),
      signal ? { ...lockOptions, signal } : lockOptions,
    );
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

/** The bound of one write, delete or lock wait: the caller's signal and the operation's `timeoutMs`. */
function operationDeadline(options: TokenStoreCallOptions): ReturnType<typeof timeoutSignal> {
  const timeoutMs = durationOption(options.timeoutMs, DEFAULT_FILE_STORE_TIMEOUT_MS, "timeoutMs", {
    allowZero: false,
  });
  return timeoutSignal(timeoutMs, options.signal);
}

async function renameReplacing(from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fsp().rename(from, to);
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
    const handle = await fsp().open(directory, "r");
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
  deadline: { timedOut(): boolean } | undefined,
  options: TokenStoreCallOptions,
): WifError {
  if (options.signal?.aborted)
    return abortedError(`Token cache ${operation} of ${file}`, options.signal.reason);
  if (error instanceof WifError && error.code === FILE_STORE_ERROR_CODES.untrusted) return error;
  if (deadline?.timedOut()) {
    return new WifError(
      `Token cache ${operation} of ${file} did not finish within ${options.timeoutMs ?? DEFAULT_FILE_STORE_TIMEOUT_MS} ms. Check the file system holding the cache directory.`,
      { code: FILE_STORE_ERROR_CODES.timeout, retryable: true, cause: error },
    );
  }
  const detail = errorCode(error) ?? (error instanceof Error ? error.message : String(error));
  return new WifError(
    `Token cache ${operation} of ${file} failed (${detail}). Check that the cache directory exists and belongs to this user, or delete the file.`,
    {
      code: operation === "read" ? FILE_STORE_ERROR_CODES.read : FILE_STORE_ERROR_CODES.write,
      cause: error,
    },
  );
}
