/**
 * A lock file next to a cache file, so that processes sharing a cache directory make one fetch between them
 * instead of one each. It is advisory and bounded by design: a waiter never waits past its bound and never
 * fails because of the lock, and a holder that died is recognised at once (same host, pid gone) or by age.
 * The worst case of any race here is one extra fetch, never a wrong token: tokens themselves are written
 * atomically by the store.
 */
import { constants, readFileSync } from "node:fs";
import type { Clock, Sleep } from "@wifkit/core";

// Loaded on first use: a process that only reads the cache never takes a lock (see file-store.ts).
const fsp = () => process.getBuiltinModule("node:fs/promises");
const randomHex = (bytes: number) =>
  process.getBuiltinModule("node:crypto").randomBytes(bytes).toString("hex");
const hostname = () => process.getBuiltinModule("node:os").hostname();

/** How long a waiter waits for another process's lock before it proceeds without it: the HTTP layer's whole retry budget. */
export const DEFAULT_LOCK_WAIT_MS = 30_000;
/** A lock older than this is abandoned whoever holds it: no fetch takes this long. */
export const DEFAULT_LOCK_STALE_MS = 60_000;

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 250;
// Guards the wait loop against a clock that does not move (an injected one); real waits end by time.
const MAX_POLLS = 10_000;
// A lock file is written right after it is created; one still empty or torn after this long was left by a
// holder that died in between.
const UNWRITTEN_LOCK_MS = 2_000;
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

export interface LockOptions {
  /** Longest wait for another holder. Default: the store's `lockWaitMs` (`DEFAULT_LOCK_WAIT_MS`). */
  waitMs?: number;
  /** Age after which a lock is taken over even if its holder seems alive. Default: the store's `lockStaleMs`. */
  staleMs?: number;
  /** Ends the wait early with the signal's reason; `fn` is then not run. */
  signal?: AbortSignal;
}

/** What `fn` learns about the lock it runs under. */
export interface LockState {
  /**
   * True when this call holds the lock; false when it gave up waiting after `waitMs`, or the lock file could
   * not be created (then it proceeds anyway: a lock problem must never stop a token from being fetched).
   */
  acquired: boolean;
}

interface LockRecord {
  version: 1;
  pid: number;
  host: string;
  createdAt: number;
  nonce: string;
}

export interface LockEnvironment {
  clock: Clock;
  sleep: Sleep;
}

/** Runs `fn` holding the lock at `path` (created next to the cache file), waiting for it within the bound. */
export async function withLockFile<R>(
  path: string,
  fn: (state: LockState) => Promise<R>,
  options: Required<Omit<LockOptions, "signal">> & { signal?: AbortSignal | undefined },
  env: LockEnvironment,
): Promise<R> {
  const { clock, sleep } = env;
  const deadline = clock.now() + options.waitMs;
  let held: string | undefined;
  let delay = FIRST_POLL_MS;
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    options.signal?.throwIfAborted();
    const attempt = await tryCreate(path, clock);
    if (attempt.kind === "held") {
      held = attempt.content;
      break;
    }
    if (attempt.kind === "failed") break;
    if (await removeIfStale(path, options.staleMs, clock)) continue;
    const left = deadline - clock.now();
    if (left <= 0) break;
    // Jittered, so waiters that started together do not poll together.
    await sleep(Math.min(left, delay * (0.5 + Math.random() / 2)), options.signal);
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
  try {
    return await fn({ acquired: held !== undefined });
  } finally {
    if (held !== undefined) await release(path, held);
  }
}

type Attempt = { kind: "held"; content: string } | { kind: "busy" } | { kind: "failed" };

async function tryCreate(path: string, clock: Clock): Promise<Attempt> {
  const record: LockRecord = {
    version: 1,
    pid: process.pid,
    host: hostname(),
    createdAt: clock.now(),
    nonce: randomHex(12),
  };
  const content = JSON.stringify(record);
  let handle: Awaited<ReturnType<ReturnType<typeof fsp>["open"]>>;
  try {
    handle = await fsp().open(
      path,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | NO_FOLLOW,
      0o600,
    );
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EEXIST" ? { kind: "busy" } : { kind: "failed" };
  }
  try {
    await handle.writeFile(content, "utf8");
  } catch {
    await handle.close().catch(() => {});
    await fsp()
      .unlink(path)
      .catch(() => {});
    return { kind: "failed" };
  }
  await handle.close();
  return { kind: "held", content };
}

/** Removes the lock at `path` if its holder is gone or it is too old; true if the caller should try again at once. */
async function removeIfStale(path: string, staleMs: number, clock: Clock): Promise<boolean> {
  const content = await readLock(path);
  if (content === undefined) return true; // released meanwhile
  if (!isStale(content, staleMs, clock) && !(await isUnwritten(path, content))) return false;
  // One remover at a time, under a second lock file: when the waiters of a dead holder all removed its
  // lock at once, a late one would move aside the fresh lock an early one had just created, and a third
  // would create its own while it was away: two holders. The remover that gets the breaker removes the
  // stale lock only if it is still the one it judged; the others poll again. Creating a lock needs no
  // breaker, so the common path stays one exclusive create.
  const breaker = `${path}.break`;
  const made = await tryCreate(breaker, clock);
  if (made.kind !== "held") {
    if (made.kind === "busy") await removeAbandonedBreaker(breaker);
    return false;
  }
  try {
    // Another remover may have replaced it between this one's judgement and the breaker.
    if ((await readLock(path)) !== content) return true;
    // Moved aside first, then checked: if the stale lock was released and replaced meanwhile (a live holder
    // past staleMs), the new one is put back instead of being deleted.
    const aside = `${path}.stale-${randomHex(6)}`;
    try {
      await fsp().rename(path, aside);
    } catch {
      return true;
    }
    const moved = await readLock(aside);
    if (moved !== content)
      await fsp()
        .link(aside, path)
        .catch(() => {});
    await fsp()
      .unlink(aside)
      .catch(() => {});
    return true;
  } finally {
    await release(breaker, made.content);
  }
}

/** A breaker whose remover died holding it (it holds it for a few file operations) is removed by age. */
async function removeAbandonedBreaker(breaker: string): Promise<void> {
  const info = await fsp()
    .stat(breaker)
    .catch(() => undefined);
  if (info !== undefined && Date.now() - info.mtimeMs > UNWRITTEN_LOCK_MS) {
    await fsp()
      .unlink(breaker)
      .catch(() => {});
  }
}

function isStale(content: string, staleMs: number, clock: Clock): boolean {
  const record = parseLock(content);
  if (!record) return false; // judged by isUnwritten
  const age = clock.now() - record.createdAt;
  if (age > staleMs || age < -staleMs) return true;
  return record.host === hostname() && !isAlive(record.pid);
}

/** A lock file that never got its content: its holder died between creating and writing it. */
async function isUnwritten(path: string, content: string): Promise<boolean> {
  if (parseLock(content)) return false;
  const info = await fsp()
    .stat(path)
    .catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > UNWRITTEN_LOCK_MS;
}

function parseLock(content: string): LockRecord | undefined {
  try {
    const record = JSON.parse(content) as Partial<LockRecord>;
    return record?.version === 1 &&
      Number.isInteger(record.pid) &&
      typeof record.host === "string" &&
      typeof record.createdAt === "number"
      ? (record as LockRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A holder killed while its parent is not reaping stays a zombie: it exists, but it will never release.
  if (process.platform !== "linux") return true;
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function readLock(path: string): Promise<string | undefined> {
  try {
    return await fsp().readFile(path, { encoding: "utf8", flag: constants.O_RDONLY | NO_FOLLOW });
  } catch {
    return undefined;
  }
}

/** Removes the lock only if it is still this holder's (a waiter may have taken it over as stale). */
async function release(path: string, content: string): Promise<void> {
  if ((await readLock(path)) === content)
    await fsp()
      .unlink(path)
      .catch(() => {});
}
