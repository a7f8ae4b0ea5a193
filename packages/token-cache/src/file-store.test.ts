import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
