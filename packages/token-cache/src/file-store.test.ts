import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  unlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Token } from "@wifkit/core";
import { isWifError, memoize } from "@wifkit/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeClock, MINUTE } from "../../../tooling/test-providers.js";
import { createFileTokenStore, DEFAULT_FILE_STORE_MIN_VALIDITY_MS, withFileStore } from "./file-store.js";

const posix = process.platform !== "win32";
let root: string;
let directory: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "wifkit-token-cache-"));
  directory = join(root, "cache", "tokens");
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function accessToken(value: string, expiresAtMs: number): Token {
  return { value, expiresAt: new Date(expiresAtMs), type: "access_token" };
}

describe("createFileTokenStore", () => {
  it("round-trips a token, reviving expiresAt as a Date", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    const token = accessToken("ya29.secret", clock.now() + 60 * MINUTE);
    await store.write("scopes:cloud-platform", token);

    const read = await store.read("scopes:cloud-platform");
    expect(read).toEqual(token);
    expect(read?.expiresAt).toBeInstanceOf(Date);
    expect(await store.read("another key")).toBeUndefined();

    const onDisk = JSON.parse(await readFile(store.pathOf("scopes:cloud-platform"), "utf8"));
    expect(onDisk).toEqual({ version: 1, token: { ...token, expiresAt: token.expiresAt.toISOString() } });
  });

  it.runIf(posix)("creates the directory 0700 and token files 0600", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    await store.write("k", accessToken("v", clock.now() + 60 * MINUTE));
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    expect((await stat(store.pathOf("k"))).mode & 0o777).toBe(0o600);

    // Replacing keeps the mode (the new file is a new inode).
    await store.write("k", accessToken("v2", clock.now() + 60 * MINUTE));
    expect((await stat(store.pathOf("k"))).mode & 0o777).toBe(0o600);
  });

  it("hashes keys into file names, so no key can escape the directory or show in a listing", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    const key = "../../etc/passwd audience=https://svc.example.com";
    await store.write(key, accessToken("v", clock.now() + 60 * MINUTE));
    const names = await readdir(directory);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(store.pathOf(key)).toBe(join(directory, names[0] ?? ""));
    expect(await readdir(root)).toEqual(["cache"]);
  });

  it("leaves no temporary files behind after many writes", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.write("k", accessToken(`v${i}`, clock.now() + 60 * MINUTE))),
    );
    expect(await readdir(directory)).toEqual([`${store.pathOf("k").split(/[\\/]/).at(-1)}`]);
    const read = await store.read("k");
    expect(read?.value).toMatch(/^v\d+$/);
  });

  it("ignores a corrupt or truncated file and replaces it on the next write", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    const token = accessToken("v", clock.now() + 60 * MINUTE);
    await store.write("k", token);
    const file = store.pathOf("k");
    const full = await readFile(file, "utf8");

    for (const broken of [
      full.slice(0, full.length / 2),
      "",
      "null",
      "[]",
      '{"version":1}',
      '{"version":2,"token":{"value":"v","expiresAt":"2099-01-01T00:00:00.000Z"}}',
      '{"version":1,"token":{"value":"v","expiresAt":"not a date"}}',
      '{"version":1,"token":{"value":"v","expiresAt":4102444800000}}',
    ]) {
      await writeFile(file, broken);
      expect(await store.read("k"), broken).toBeUndefined();
    }

    await store.write("k", token);
    expect(await store.read("k")).toEqual(token);
  });

  it("never returns an expired token (and removes its file) nor one inside the validity margin", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    const expiresAtMs = clock.now() + 10 * MINUTE;
    await store.write("k", accessToken("v", expiresAtMs));

    clock.set(expiresAtMs - DEFAULT_FILE_STORE_MIN_VALIDITY_MS - 1);
    expect((await store.read("k"))?.value).toBe("v");
    clock.set(expiresAtMs - DEFAULT_FILE_STORE_MIN_VALIDITY_MS);
    expect(await store.read("k")).toBeUndefined();
    expect(await store.read("k", { minValidityMs: 0 })).toBeDefined();

    clock.set(expiresAtMs);
    expect(await store.read("k", { minValidityMs: 0 })).toBeUndefined();
    expect(await readdir(directory)).toEqual([]);
  });

  it("uses the store-wide minValidityMs", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock, minValidityMs: 5 * MINUTE });
    await store.write("k", accessToken("v", clock.now() + 5 * MINUTE + 1));
    expect(await store.read("k")).toBeDefined();
    clock.advance(1);
    expect(await store.read("k")).toBeUndefined();
  });

  it("deletes a key, and deleting a missing key is not an error", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    await store.write("k", accessToken("v", clock.now() + 60 * MINUTE));
    await store.delete("k");
    expect(await store.read("k")).toBeUndefined();
    await expect(store.delete("k")).resolves.toBeUndefined();
  });

  it("fails with a coded error that names the file but not the token", async () => {
    const clock = fakeClock();
    // The "directory" is a file, so nothing can be created inside it.
    const notADirectory = join(root, "file");
    await writeFile(notADirectory, "x");
    const store = createFileTokenStore({ directory: notADirectory, clock });
    const error = await store
      .write("k", accessToken("ya29.very-secret", clock.now() + MINUTE))
      .catch((e) => e);
    expect(isWifError(error) && error.code).toBe("ERR_WIF_TOKEN_STORE_WRITE");
    expect(String(error.message)).toContain(notADirectory);
    expect(String(error.message)).not.toContain("very-secret");

    const aborted = await store.read("k", { signal: AbortSignal.abort() }).catch((e) => e);
    expect(isWifError(aborted) && aborted.code).toBe("ERR_WIF_ABORTED");
    await expect(store.write("k", { expiresAt: new Date(Number.NaN) } as Token)).rejects.toMatchObject({
      code: "ERR_WIF_TOKEN_INVALID",
    });
  });
});

describe("withFileStore", () => {
  it("reuses a stored token across provider instances (process restarts) and stores fresh ones", async () => {
    const clock = fakeClock();
    let fetches = 0;
    const fetchToken = async () => accessToken(`t${++fetches}`, clock.now() + 60 * MINUTE);
    const firstRun = withFileStore(fetchToken, {
      store: createFileTokenStore({ directory, clock }),
      key: "k",
    });
    expect((await firstRun()).value).toBe("t1");

    const secondRun = withFileStore(fetchToken, {
      store: createFileTokenStore({ directory, clock }),
      key: "k",
    });
    expect((await secondRun()).value).toBe("t1");
    expect(fetches).toBe(1);

    expect((await secondRun({ forceRefresh: true })).value).toBe("t2");
    expect((await firstRun()).value).toBe("t2");

    clock.advance(60 * MINUTE);
    expect((await firstRun()).value).toBe("t3");
    expect(fetches).toBe(3);
  });

  it("replaces a corrupt file with a freshly fetched token", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    await store.write("k", accessToken("old", clock.now() + 60 * MINUTE));
    await writeFile(store.pathOf("k"), '{"version":1,"token":{"val');
    const provider = withFileStore(async () => accessToken("fresh", clock.now() + 60 * MINUTE), {
      store,
      key: "k",
    });
    expect((await provider()).value).toBe("fresh");
    expect((await store.read("k"))?.value).toBe("fresh");
  });

  it("still delivers the token when the store fails, and reports the failure", async () => {
    const clock = fakeClock();
    const notADirectory = join(root, "file");
    await writeFile(notADirectory, "x");
    const reported: unknown[] = [];
    const provider = withFileStore(async () => accessToken("t", clock.now() + 60 * MINUTE), {
      store: createFileTokenStore({ directory: notADirectory, clock }),
      key: "k",
      onStoreError: (error) => reported.push(error),
    });
    expect((await provider()).value).toBe("t");
    expect(reported.map((error) => isWifError(error) && error.code)).toContain("ERR_WIF_TOKEN_STORE_WRITE");
  });

  it("composes with memoize: memory first, then the file, then the provider", async () => {
    const clock = fakeClock();
    let fetches = 0;
    const fetchToken = async () => accessToken(`t${++fetches}`, clock.now() + 60 * MINUTE);
    const store = createFileTokenStore({ directory, clock });
    const warm = memoize(withFileStore(fetchToken, { store, key: "k" }), { clock });
    await Promise.all(Array.from({ length: 100 }, () => warm()));
    expect(fetches).toBe(1);

    const restarted = memoize(withFileStore(fetchToken, { store, key: "k" }), { clock });
    expect((await restarted()).value).toBe("t1");
    expect(fetches).toBe(1);
    expect((await restarted({ forceRefresh: true })).value).toBe("t2");
    expect((await store.read("k"))?.value).toBe("t2");
  });
});

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A directory that belongs to another user: chowned when running as root, else a system one. */
async function foreignDirectory(): Promise<string> {
  if (!isRoot) return "/usr";
  const dir = join(root, "foreign");
  await mkdir(dir, { mode: 0o755 });
  await chown(dir, NOBODY, NOBODY);
  return dir;
}

/** A valid token file as this store would write it, for planting. */
function storedToken(value: string, expiresAtMs: number): string {
  return JSON.stringify({ version: 1, token: accessToken(value, expiresAtMs) });
}

async function refusal(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const error = await promise.then(
    () => new Error("the store did not refuse"),
    (e: unknown) => e as Error,
  );
  expect(error).toMatchObject({ code: "ERR_WIF_TOKEN_STORE_UNTRUSTED" });
  return error;
}

describe.runIf(posix)("createFileTokenStore refuses what it cannot trust", () => {
  it("a directory owned by another user, even with a valid token planted in it", async () => {
    const clock = fakeClock();
    const dir = await foreignDirectory();
    const store = createFileTokenStore({ directory: dir, clock });
    if (isRoot) {
      const planted = store.pathOf("k");
      await writeFile(planted, storedToken("ya29.planted", clock.now() + 60 * MINUTE), { mode: 0o600 });
      await chown(planted, NOBODY, NOBODY);
    }
    const error = await refusal(store.read("k"));
    expect(error.message).toContain(`The token cache refuses ${dir}: it belongs to another user`);
    expect(error.message).toContain("Use a cache directory of your own");
    expect(error.message).not.toContain("planted");
    await refusal(store.write("k", accessToken("mine", clock.now() + MINUTE)));
  });

  it.each([
    ["0777", 0o777],
    ["0770", 0o770],
    ["0722", 0o722],
  ])("a directory of ours with mode %s, saying how to fix it", async (_label, mode) => {
    const clock = fakeClock();
    await mkdir(directory, { recursive: true });
    await chmod(directory, mode);
    const store = createFileTokenStore({ directory, clock });
    const error = await refusal(store.write("k", accessToken("v", clock.now() + MINUTE)));
    expect(error.message).toContain(`${directory}: it is writable by other users`);
    expect(error.message).toContain(`chmod 700 ${directory}`);
    expect(await readdir(directory)).toEqual([]);
    expect((await stat(directory)).mode & 0o777).toBe(mode);
  });

  it("a sticky shared directory (like /tmp) gets a private 0700 subdirectory", async () => {
    const clock = fakeClock();
    const shared = join(root, "shared");
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const store = createFileTokenStore({ directory: shared, clock });
    const token = accessToken("v", clock.now() + 60 * MINUTE);
    await store.write("k", token);
    const own = join(shared, `wifkit-${process.getuid?.()}`);
    expect(store.pathOf("k").startsWith(`${own}/`)).toBe(true);
    expect((await stat(own)).mode & 0o7777).toBe(0o700);
    expect(await readdir(shared)).toEqual([`wifkit-${process.getuid?.()}`]);
    expect(await createFileTokenStore({ directory: shared, clock }).read("k")).toEqual(token);
  });

  it.runIf(isRoot)("a private subdirectory someone else made first in the sticky directory", async () => {
    const shared = join(root, "shared");
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const squatted = join(shared, `wifkit-${process.getuid?.()}`);
    await mkdir(squatted, { mode: 0o700 });
    await chown(squatted, NOBODY, NOBODY);
    const error = await refusal(createFileTokenStore({ directory: shared }).read("k"));
    expect(error.message).toContain(`${squatted}: it belongs to another user (uid ${NOBODY})`);
  });

  it("a directory reached through a symbolic link", async () => {
    const clock = fakeClock();
    const real = join(root, "real");
    await mkdir(real, { mode: 0o700 });
    await writeFile(join(real, "marker"), "");
    const link = join(root, "link");
    await symlink(real, link);
    const store = createFileTokenStore({ directory: link, clock });
    const error = await refusal(store.write("k", accessToken("v", clock.now() + MINUTE)));
    expect(error.message).toContain(`${link}: it is a symbolic link`);
    expect(await readdir(real)).toEqual(["marker"]);
  });

  it("never follows a symbolic link planted at a token's name, and replaces it on the next write", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    await store.write("other", accessToken("v", clock.now() + 60 * MINUTE));
    const target = join(root, "elsewhere.json");
    await writeFile(target, storedToken("ya29.planted", clock.now() + 60 * MINUTE), { mode: 0o600 });
    await unlink(store.pathOf("k")).catch(() => {});
    await symlink(target, store.pathOf("k"));
    const error = await refusal(store.read("k"));
    expect(error.message).toContain(`${store.pathOf("k")}: it is a symbolic link`);
    await store.write("k", accessToken("mine", clock.now() + 60 * MINUTE));
    expect((await store.read("k"))?.value).toBe("mine");
    expect(JSON.parse(await readFile(target, "utf8")).token.value).toBe("ya29.planted");
  });

  it("token files wider than 0600 or owned by another user", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    await store.write("k", accessToken("v", clock.now() + 60 * MINUTE));
    await chmod(store.pathOf("k"), 0o644);
    const error = await refusal(store.read("k"));
    expect(error.message).toContain("has mode 0644, wider than 0600");
    if (isRoot) {
      await chmod(store.pathOf("k"), 0o600);
      await chown(store.pathOf("k"), NOBODY, NOBODY);
      expect((await refusal(store.read("k"))).message).toContain(`belongs to another user (uid ${NOBODY})`);
    }
  });

  it("a FIFO at a token's name, without blocking on it", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    await store.write("other", accessToken("v", clock.now() + 60 * MINUTE));
    execFileSync("mkfifo", [store.pathOf("k")]);
    expect((await refusal(store.read("k"))).message).toContain("is not a regular file");
  });

  it.each(["/proc/self/wifkit-cache", "/proc/wifkit/a/b", "/sys/wifkit", "/dev/shm/../wifkit"])(
    "a directory on a pseudo file system fails at once: %s",
    async (path) => {
      const store = createFileTokenStore({ directory: path });
      const error = await refusal(store.write("k", accessToken("v", Date.now() + MINUTE)));
      expect(error.message).toMatch(/is on the \/(proc|sys|dev) pseudo file system/);
    },
  );

  it("creates missing parents one level at a time, each 0700, without following a file in the way", async () => {
    const clock = fakeClock();
    const deep = join(root, "a", "b", "c");
    const store = createFileTokenStore({ directory: deep, clock });
    await store.write("k", accessToken("v", clock.now() + MINUTE));
    for (const dir of [join(root, "a"), join(root, "a", "b"), deep]) {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
    await writeFile(join(root, "file"), "");
    const blocked = createFileTokenStore({ directory: join(root, "file", "x"), clock });
    await expect(blocked.write("k", accessToken("v", clock.now() + MINUTE))).rejects.toMatchObject({
      code: "ERR_WIF_TOKEN_STORE_WRITE",
    });
  });
});

/** A sleep that moves the fake clock instead of waiting, and lets other work run meanwhile. */
function virtualSleep(clock: ReturnType<typeof fakeClock>) {
  const waits: number[] = [];
  const sleep = async (ms: number, signal?: AbortSignal) => {
    signal?.throwIfAborted();
    waits.push(ms);
    clock.advance(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { sleep, waits };
}

/** Plants a lock file as another holder would have written it. */
async function plantLock(
  store: { pathOf(key: string): string },
  key: string,
  holder: object,
): Promise<string> {
  const path = store.pathOf(key).replace(/\.json$/, ".lock");
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify({ version: 1, host: hostname(), nonce: "planted", ...holder }), {
    mode: 0o600,
  });
  return path;
}

describe("FileTokenStore.withLock", () => {
  it("holds a 0600 lock file naming its pid and time while fn runs, and removes it after", async () => {
    const clock = fakeClock();
    const store = createFileTokenStore({ directory, clock });
    const lockPath = store.pathOf("k").replace(/\.json$/, ".lock");
    const seen = await store.withLock("k", async (state) => {
      const info = await stat(lockPath);
      return { state, mode: info.mode & 0o777, record: JSON.parse(await readFile(lockPath, "utf8")) };
    });
    expect(seen.state).toEqual({ acquired: true });
    expect(seen.mode).toBe(0o600);
    expect(seen.record).toMatchObject({ version: 1, pid: process.pid, createdAt: clock.now() });
    await expect(stat(lockPath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("makes a second holder wait until the first releases, polling with growing waits", async () => {
    const clock = fakeClock();
    const waits: number[] = [];
    let releaseFirst = () => {};
    const firstReleased = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let fourthWait = () => {};
    const waitedFourTimes = new Promise<void>((resolve) => {
      fourthWait = resolve;
    });
    // The second holder's polls: four of them, then it waits until the first has released.
    const sleep = async (ms: number) => {
      waits.push(ms);
      clock.advance(ms);
      if (waits.length === 4) fourthWait();
      if (waits.length >= 4) await firstReleased;
    };
    const first = createFileTokenStore({ directory, clock });
    const second = createFileTokenStore({ directory, clock, sleep });
    const order: string[] = [];
    const firstDone = first.withLock("k", async () => {
      order.push("first in");
      await firstReleased;
      order.push("first out");
    });
    await expect.poll(() => order).toEqual(["first in"]);
    const secondDone = second.withLock("k", async (state) => {
      order.push(`second in, acquired ${state.acquired}`);
    });
    await waitedFourTimes;
    releaseFirst();
    await Promise.all([firstDone, secondDone]);
    expect(order).toEqual(["first in", "first out", "second in, acquired true"]);
    // Backoff: each wait at least the last while it doubles (jitter keeps it within [d/2, d]).
    expect(waits.every((ms, i) => i === 0 || ms >= (waits[i - 1] as number))).toBe(true);
    expect(waits[0]).toBeLessThanOrEqual(10);
  });

  it("gives up after waitMs and runs fn without the lock, leaving a live holder's lock alone", async () => {
    const clock = fakeClock();
    const { sleep, waits } = virtualSleep(clock);
    const store = createFileTokenStore({ directory, clock, sleep, lockWaitMs: 5_000 });
    const lockPath = await plantLock(store, "k", { pid: process.pid, createdAt: clock.now() });
    const before = await readFile(lockPath, "utf8");
    const state = await store.withLock("k", async (s) => s);
    expect(state).toEqual({ acquired: false });
    expect(waits.reduce((sum, ms) => sum + ms, 0)).toBeCloseTo(5_000, 0);
    expect(waits.length).toBeLessThan(60);
    expect(await readFile(lockPath, "utf8")).toBe(before);
  });

  it("takes over at once a lock whose holder is dead", async () => {
    const clock = fakeClock();
    const { sleep, waits } = virtualSleep(clock);
    const store = createFileTokenStore({ directory, clock, sleep });
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    const lockPath = await plantLock(store, "k", { pid: dead, createdAt: clock.now() });
    expect(await store.withLock("k", async (state) => state)).toEqual({ acquired: true });
    expect(waits).toEqual([]);
    await expect(stat(lockPath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("lets one waiter at a time in when many take over the lock of a holder that dies while they wait", async () => {
    const clock = fakeClock();
    // Polls without moving the clock (no lock gets old, no waiter gives up), as fast as the loop turns.
    const sleep = () => new Promise<void>((resolve) => setImmediate(resolve));
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    const holderGone = new Promise((resolve) => holder.once("exit", resolve));
    await plantLock(createFileTokenStore({ directory, clock }), "k", {
      pid: holder.pid,
      createdAt: clock.now(),
    });
    let inside = 0;
    let most = 0;
    let entered = 0;
    const waiters = Array.from({ length: 24 }, () =>
      createFileTokenStore({ directory, clock, sleep }).withLock("k", async (state) => {
        expect(state.acquired).toBe(true);
        entered += 1;
        inside += 1;
        most = Math.max(most, inside);
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        inside -= 1;
      }),
    );
    for (let i = 0; i < 200; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(entered).toBe(0);
    holder.kill("SIGKILL");
    await holderGone;
    await Promise.all(waiters);
    expect(entered).toBe(24);
    expect(most).toBe(1);
  });

  it("takes over a lock older than lockStaleMs even if its holder lives, and one left empty", async () => {
    const clock = fakeClock();
    const { sleep, waits } = virtualSleep(clock);
    const store = createFileTokenStore({ directory, clock, sleep, lockStaleMs: 60_000 });
    await plantLock(store, "old", { pid: process.pid, createdAt: clock.now() - 60_001 });
    expect(await store.withLock("old", async (state) => state)).toEqual({ acquired: true });
    const empty = await plantLock(store, "empty", {});
    await writeFile(empty, "");
    const longAgo = new Date(Date.now() - 10_000);
    await utimes(empty, longAgo, longAgo);
    expect(await store.withLock("empty", async (state) => state)).toEqual({ acquired: true });
    expect(waits).toEqual([]);
  });

  it("stops waiting when the caller aborts, without running fn", async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    const store = createFileTokenStore({
      directory,
      clock,
      sleep: async () => {
        controller.abort();
        controller.signal.throwIfAborted();
      },
    });
    await plantLock(store, "k", { pid: process.pid, createdAt: clock.now() });
    let ran = false;
    const error = await store
      .withLock(
        "k",
        async () => {
          ran = true;
        },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_ABORTED" });
    expect(ran).toBe(false);
  });
});

describe("withFileStore with lock", () => {
  it("makes one fetch for callers that each have their own store on one directory", async () => {
    const clock = fakeClock();
    const { sleep } = virtualSleep(clock);
    let fetches = 0;
    const fetchToken = async () => {
      fetches += 1;
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      return accessToken(`t${fetches}`, clock.now() + 60 * MINUTE);
    };
    const callers = Array.from({ length: 8 }, () =>
      withFileStore(fetchToken, {
        store: createFileTokenStore({ directory, clock, sleep }),
        key: "k",
        lock: true,
      }),
    );
    const tokens = await Promise.all(callers.map((call) => call()));
    expect(fetches).toBe(1);
    expect(new Set(tokens.map((token) => token.value))).toEqual(new Set(["t1"]));
  });

  it("without lock (the default), each store fetches for itself", async () => {
    const clock = fakeClock();
    let fetches = 0;
    const fetchToken = async () => {
      fetches += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return accessToken(`t${fetches}`, clock.now() + 60 * MINUTE);
    };
    const callers = Array.from({ length: 3 }, () =>
      withFileStore(fetchToken, { store: createFileTokenStore({ directory, clock }), key: "k" }),
    );
    await Promise.all(callers.map((call) => call()));
    expect(fetches).toBe(3);
  });
});
