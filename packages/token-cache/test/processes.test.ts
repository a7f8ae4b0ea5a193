// Real child processes against the real file system: the guarantees of the file store that only matter
// across processes (atomic replacement under concurrent writers), and that no cache timer keeps a process
// alive. The children import a bundle of this package's sources built into a temp directory, so the test
// neither depends on nor races with `pnpm build`.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "tsup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileTokenStore } from "../src/index.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
let work: string;
let bundleUrl: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "wifkit-token-cache-processes-"));
  await build({
    config: false,
    entry: {
      "token-cache": join(packageDir, "src/index.ts"),
      core: join(packageDir, "../core/src/index.ts"),
    },
    outDir: join(work, "bundle"),
    format: ["esm"],
    platform: "node",
    target: "node20",
    // Bundle @wifkit/core from source too (resolved through the tsconfig paths), so no dist is needed.
    noExternal: [/^@wifkit\//],
    tsconfig: join(packageDir, "tsconfig.json"),
    dts: false,
    sourcemap: false,
    silent: true,
  });
  bundleUrl = pathToFileURL(join(work, "bundle", "token-cache.js")).href;
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runNode(script: string, args: string[], timeoutMs: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Polls, bounded, until `file` exists. */
async function waitForFile(file: string, what: string): Promise<void> {
  for (let i = 0; i < 3_000; i++) {
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A child that fetches through `withFileStore(..., { lock: true })` once the parent says go. Its fetch
 * appends to `fetches` and takes a while, as an STS exchange does; `hang` makes it never finish.
 */
const FETCHER = `import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createFileTokenStore, withFileStore } from BUNDLE;
const [directory, work, id, mode] = process.argv.slice(2);
const provider = withFileStore(
  async () => {
    appendFileSync(join(work, "fetches"), id + "\\n");
    if (mode === "hang") {
      setInterval(() => {}, 1_000);
      return new Promise(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { value: "token-from-" + id, type: "access_token", expiresAt: new Date(Date.now() + 3_600_000) };
  },
  { store: createFileTokenStore({ directory }), key: "shared", lock: true },
);
writeFileSync(join(work, "ready-" + id), "");
while (!existsSync(join(work, "go"))) await new Promise((resolve) => setTimeout(resolve, 5));
process.stdout.write((await provider()).value);
`;

const WRITES_PER_PROCESS = 150;
const PADDING_BYTES = 64 * 1024;

describe("file store across processes", () => {
  it("two processes writing the same key concurrently leave one complete, valid file", async () => {
    const directory = join(work, "concurrent", "tokens");
    const script = join(work, "writer.mjs");
    await writeFile(
      script,
      `import { createFileTokenStore } from ${JSON.stringify(bundleUrl)};
const [directory, writer, count, paddingBytes] = process.argv.slice(2);
const store = createFileTokenStore({ directory });
// Large tokens make a torn, non-atomic write visible to readers.
const padding = "x".repeat(Number(paddingBytes));
for (let i = 0; i < Number(count); i++) {
  await store.write("shared-key", {
    value: writer + "-" + i,
    padding,
    type: "access_token",
    expiresAt: new Date(Date.now() + 3_600_000),
  });
}
`,
    );

    const writers = ["a", "b"].map((writer) =>
      runNode(script, [directory, writer, String(WRITES_PER_PROCESS), String(PADDING_BYTES)], 60_000),
    );
    let running = true;
    const done = Promise.all(writers).finally(() => {
      running = false;
    });

    // Read while they write: every complete read must be a whole token one of them wrote.
    const store = createFileTokenStore({ directory });
    const file = store.pathOf("shared-key");
    const written = new Set(
      ["a", "b"].flatMap((writer) => Array.from({ length: WRITES_PER_PROCESS }, (_, i) => `${writer}-${i}`)),
    );
    let observed = 0;
    const badReads: string[] = [];
    for (let i = 0; i < 100_000 && running; i++) {
      const text = await readFile(file, "utf8").catch(() => undefined);
      if (text !== undefined) {
        observed += 1;
        try {
          const parsed = JSON.parse(text) as { token: { value: string; padding: string } };
          if (!written.has(parsed.token.value) || parsed.token.padding.length !== PADDING_BYTES) {
            badReads.push(`unexpected token ${parsed.token.value}`);
          }
        } catch {
          badReads.push(`torn file of ${text.length} characters`);
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }

    // Asserted only once both writers have exited, so a failure never leaves them running.
    const exits = await done;
    expect(badReads).toEqual([]);
    for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0, signal: null });
    expect(observed).toBeGreaterThan(0);

    const final = await store.read("shared-key");
    expect(final?.expiresAt).toBeInstanceOf(Date);
    expect(written.has(final?.value ?? "")).toBe(true);
    // One file: the key's, and no temporary file left by either writer.
    expect(await readdir(directory)).toEqual([file.split(/[\\/]/).at(-1)]);
    if (process.platform !== "win32") expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("20 processes with a cold shared cache make exactly one fetch, and all print its token", async () => {
    const run = join(work, "herd");
    const directory = join(run, "cache");
    await mkdir(run, { recursive: true });
    const script = join(work, "fetcher.mjs");
    await writeFile(script, FETCHER.replace("BUNDLE", JSON.stringify(bundleUrl)));
    const ids = Array.from({ length: 20 }, (_, i) => String(i));
    const children = ids.map((id) => runNode(script, [directory, run, id], 120_000));
    // Everyone is started and waiting before anyone fetches: the herd is real, not sequential.
    for (const id of ids) await waitForFile(join(run, `ready-${id}`), `process ${id} to start`);
    await writeFile(join(run, "go"), "");
    const exits = await Promise.all(children);
    for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0, signal: null });
    const fetches = (await readFile(join(run, "fetches"), "utf8")).trim().split("\n");
    expect(fetches).toHaveLength(1);
    expect(new Set(exits.map((exit) => exit.stdout))).toEqual(new Set([`token-from-${fetches[0]}`]));
    // No lock file left behind, only the token.
    expect(await readdir(directory)).toEqual([
      createFileTokenStore({ directory }).pathOf("shared").split(/[\\/]/).at(-1),
    ]);
  }, 180_000);

  it("a lock holder killed with SIGKILL mid-fetch holds no one up: the next caller takes over", async () => {
    const run = join(work, "killed");
    const directory = join(run, "cache");
    await mkdir(run, { recursive: true });
    const script = join(work, "fetcher.mjs");
    await writeFile(script, FETCHER.replace("BUNDLE", JSON.stringify(bundleUrl)));
    await writeFile(join(run, "go"), "");
    const holder = spawn(process.execPath, [script, directory, run, "holder", "hang"], { stdio: "ignore" });
    const holderExit = new Promise((resolve) => holder.once("exit", resolve));
    // The holder is inside its fetch, so it holds the lock.
    await waitForFile(join(run, "fetches"), "the holder to start fetching");
    let polls = 0;
    const store = createFileTokenStore({
      directory,
      lockWaitMs: 20_000,
      sleep: (ms) => {
        polls += 1;
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    const waiter = store.withLock("shared", async (state) => state);
    await expect.poll(() => polls, { timeout: 10_000 }).toBeGreaterThan(0);
    holder.kill("SIGKILL");
    await holderExit;
    // Taken over because its holder died, not given up after the 20 s bound.
    expect(await waiter).toEqual({ acquired: true });
    expect(await readdir(directory)).toEqual([]);
  }, 60_000);

  it("a process with a fetch still in flight exits on its own: no cache timer keeps it alive", async () => {
    const script = join(work, "idle.mjs");
    await writeFile(
      script,
      `import { memoize } from ${JSON.stringify(bundleUrl.replace(/token-cache\.js$/, "core.js"))};
// A provider that never answers; memoize arms its (default two-minute) fetch timeout.
const token = memoize(() => new Promise(() => {}));
token().catch(() => {});
`,
    );
    const exit = await runNode(script, [], 15_000);
    expect(exit, exit.stderr).toMatchObject({ code: 0, signal: null });
  });
});
