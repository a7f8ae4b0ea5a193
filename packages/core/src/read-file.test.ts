import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readFileBounded, readFileBoundedSync } from "./read-file.js";

const dir = mkdtempSync(join(tmpdir(), "wif-read-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function path(name: string): string {
  counter += 1;
  return join(dir, `${counter}-${name}`);
}

function fifo(): string {
  const name = path("fifo");
  execFileSync("mkfifo", [name]);
  return name;
}

/** A writer that never closes: opening a FIFO read-write on Linux neither blocks nor needs a reader. */
function heldWriter(name: string): number {
  return openSync(name, constants.O_RDWR | constants.O_NONBLOCK);
}

/** A FIFO with a writer that never closes while `use` runs (closed afterwards). */
async function withHeldFifo(use: (name: string, writer: number) => Promise<void>): Promise<void> {
  const name = fifo();
  const writer = heldWriter(name);
  try {
    await use(name, writer);
  } finally {
    closeSync(writer);
  }
}

/** A clock that only moves when the reader sleeps: timeouts without waiting on real time. */
function virtualTime() {
  let now = 0;
  return {
    clock: { now: () => now },
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe("readFileBounded", () => {
  it("reads a regular file, and one behind a symlink", async () => {
    const file = path("token");
    writeFileSync(file, "token-bytes\n");
    const link = path("link");
    symlinkSync(file, link);
    expect((await readFileBounded(file)).toString()).toBe("token-bytes\n");
    expect((await readFileBounded(link)).toString()).toBe("token-bytes\n");
    expect(readFileBoundedSync(link).toString()).toBe("token-bytes\n");
  });

  it("refuses a file that claims more than maxBytes without reading it", async () => {
    const file = path("sparse");
    writeFileSync(file, "");
    truncateSync(file, 5 * 1024 * 1024 * 1024);
    await expect(readFileBounded(file)).rejects.toMatchObject({ code: "EFBIG" });
    expect(() => readFileBoundedSync(file)).toThrow(expect.objectContaining({ code: "EFBIG" }));
  });

  it("checks the cap while reading a file that claims to be empty (/proc)", async () => {
    await expect(readFileBounded("/proc/self/status", { maxBytes: 64 })).rejects.toMatchObject({
      code: "EFBIG",
    });
    expect(() => readFileBoundedSync("/proc/self/status", { maxBytes: 64 })).toThrow(
      expect.objectContaining({ code: "EFBIG" }),
    );
    expect((await readFileBounded("/proc/self/status")).toString()).toMatch(/^Name:/);
  });

  it("refuses devices, sockets' kin and directories before opening them", async () => {
    for (const device of ["/dev/zero", "/dev/urandom", "/dev/null"]) {
      await expect(readFileBounded(device)).rejects.toMatchObject({
        code: "EFTYPE",
        fileType: "a character device",
      });
      expect(() => readFileBoundedSync(device)).toThrow(expect.objectContaining({ code: "EFTYPE" }));
    }
    const link = path("zero-link");
    symlinkSync("/dev/zero", link);
    await expect(readFileBounded(link, { allowPipes: true })).rejects.toMatchObject({ code: "EFTYPE" });
    await expect(readFileBounded(dir)).rejects.toMatchObject({ code: "EISDIR" });
    const loop = path("loop");
    symlinkSync(loop, loop);
    await expect(readFileBounded(loop)).rejects.toMatchObject({ code: "ELOOP" });
    await expect(readFileBounded(path("missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a FIFO unless pipes are allowed, without waiting for a writer", async () => {
    const name = fifo();
    await expect(readFileBounded(name)).rejects.toMatchObject({ code: "EFTYPE", fileType: "a pipe" });
    expect(() => readFileBoundedSync(name)).toThrow(expect.objectContaining({ code: "EFTYPE" }));
  });

  it("reads a pipe to its end when pipes are allowed", async () => {
    const name = fifo();
    const writer = heldWriter(name);
    writeSync(writer, '{"type":');
    const time = virtualTime();
    const chunks = ['"external_account"}', undefined];
    const reading = readFileBounded(name, {
      allowPipes: true,
      clock: time.clock,
      // The writer delivers the rest while the reader waits, then closes its end: end of file.
      sleep: async (ms) => {
        await time.sleep(ms);
        const next = chunks.shift();
        if (next === undefined) closeSync(writer);
        else writeSync(writer, next);
      },
    });
    expect((await reading).toString()).toBe('{"type":"external_account"}');
  });

  it("gives up on a pipe whose writer stays open (virtual time)", () =>
    withHeldFifo(async (name, writer) => {
      writeSync(writer, "{");
      await expect(
        readFileBounded(name, { allowPipes: true, timeoutMs: 5_000, ...virtualTime() }),
      ).rejects.toMatchObject({ code: "ETIMEDOUT" });
    }));

  it("stops reading a pipe at the cap", () =>
    withHeldFifo(async (name, writer) => {
      writeSync(writer, Buffer.alloc(4096, "a"));
      await expect(
        readFileBounded(name, { allowPipes: true, maxBytes: 1000, ...virtualTime() }),
      ).rejects.toMatchObject({ code: "EFBIG" });
    }));

  it("stops when the caller aborts", () =>
    withHeldFifo(async (name) => {
      const controller = new AbortController();
      const time = virtualTime();
      const reading = readFileBounded(name, {
        allowPipes: true,
        signal: controller.signal,
        clock: time.clock,
        sleep: async (ms) => {
          await time.sleep(ms);
          controller.abort();
        },
      });
      await expect(reading).rejects.toMatchObject({ code: "ABORT_ERR" });
    }));

  it("times out on real time too (smoke test of the default sleep)", () =>
    withHeldFifo(async (name) => {
      await expect(readFileBounded(name, { allowPipes: true, timeoutMs: 50 })).rejects.toMatchObject({
        code: "ETIMEDOUT",
      });
    }));

  it("rejects nonsense bounds", async () => {
    await expect(readFileBounded("/etc/hostname", { maxBytes: -1 })).rejects.toMatchObject({
      code: "ERR_WIF_INVALID_OPTION",
      field: "maxBytes",
    });
  });
});
