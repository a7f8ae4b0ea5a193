/**
 * One bounded way to read the small files a credential configuration names (the configuration itself, a
 * subject token, a certificate). Whoever wrote the configuration chooses the path, so the path may be
 * `/dev/zero`, a FIFO whose writer never writes, a device, or a file of gigabytes: the size cap is checked
 * while reading, the file type before opening (opening a FIFO blocks a libuv thread for good, and opening a
 * device can have effects), and pipes are read without blocking, so the time bound holds.
 *
 * Failures are node-style errors whose `code` callers switch on, as they do for `fs`: the file system's own
 * (`ENOENT`, `EACCES`, `EISDIR`, `ELOOP`...) and those of `READ_FILE_ERROR_CODES`.
 */
import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { invalidOption } from "./errors.js";
import { type Clock, type Sleep, systemClock, systemSleep } from "./seams.js";

// Not `import ... from "node:fs"`: Node 20 builds an ES module facade for a built-in by reading every export,
// and fs's lazy ones (streams, promises) then load half the stream library: about 5 ms of CPU for every
// program that imports this package, before it reads anything.
const { closeSync, constants, fstatSync, openSync, readSync, statSync } = process.getBuiltinModule("node:fs");
// fs/promises only when something is read asynchronously: the synchronous reader (a CLI's warm path) needs none.
const fsp = () => process.getBuiltinModule("node:fs/promises");

/** Default `maxBytes`: credential configurations, tokens and certificates are far smaller. */
export const DEFAULT_READ_FILE_MAX_BYTES = 1024 * 1024;
/** Default `timeoutMs`: how long a pipe may take to deliver everything. */
export const DEFAULT_READ_FILE_TIMEOUT_MS = 5_000;

/** The codes `readFileBounded` adds to the file system's own. */
export const READ_FILE_ERROR_CODES = Object.freeze({
  /** Larger than `maxBytes`. */
  tooLarge: "EFBIG",
  /** A pipe did not reach its end within `timeoutMs`. */
  timedOut: "ETIMEDOUT",
  /** The caller's signal fired. */
  aborted: "ABORT_ERR",
  /** A device, a socket, or a pipe where only regular files are accepted; `fileType` says which. */
  notAFile: "EFTYPE",
} as const);

export interface ReadFileBoundedOptions {
  /** Refuse the file (`EFBIG`) once it holds more than this. Default `DEFAULT_READ_FILE_MAX_BYTES`. */
  maxBytes?: number | undefined;
  /** Give up (`ETIMEDOUT`) when a pipe has not reached its end by then. Default `DEFAULT_READ_FILE_TIMEOUT_MS`. */
  timeoutMs?: number | undefined;
  /** Aborts the read (`ABORT_ERR`). */
  signal?: AbortSignal | undefined;
  /**
   * Also read pipes: a FIFO, or `/dev/fd/N` from a shell's `--config <(cat config.json)`. Default false:
   * regular files only.
   */
  allowPipes?: boolean | undefined;
  /** Time seam for the timeout. Default `systemClock`. */
  clock?: Clock | undefined;
  /** Waits between polls of an empty pipe. Default `systemSleep`. */
  sleep?: Sleep | undefined;
}

/** An error shaped like node's `fs` errors. */
export interface ReadFileError extends Error {
  code: string;
  path: string;
  /** For `EFTYPE`: what the path is ("a character device", "a socket", ...). */
  fileType?: string;
}

const CHUNK_BYTES = 64 * 1024;
// Polls of an empty pipe start fast (a shell's `<(cat file)` is usually ready at once) and back off.
const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 25;
// O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOCTTY: a terminal must not become ours.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

function readFileError(code: string, path: string, message: string, fileType?: string): ReadFileError {
  const error = new Error(`${code}: ${message}, read '${path}'`) as ReadFileError;
  error.code = code;
  error.path = path;
  if (fileType !== undefined) error.fileType = fileType;
  return error;
}

function describeType(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  if (stats.isFIFO()) return "a pipe";
  return "not a regular file";
}

/** Throws unless `stats` is a file this read accepts; true for a pipe. */
function checkType(stats: Stats, path: string, allowPipes: boolean): boolean {
  if (stats.isFile()) return false;
  if (stats.isFIFO() && allowPipes) return true;
  if (stats.isDirectory()) throw readFileError("EISDIR", path, "illegal operation on a directory");
  const type = describeType(stats);
  throw readFileError(READ_FILE_ERROR_CODES.notAFile, path, `${type}, not a regular file`, type);
}

function checkSize(size: number, maxBytes: number, path: string): void {
  if (size > maxBytes) {
    throw readFileError(READ_FILE_ERROR_CODES.tooLarge, path, `larger than ${maxBytes} bytes`);
  }
}

function positiveOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw invalidOption(name, `of readFileBounded must be a non-negative number, not ${value}.`);
  }
  return value;
}

/**
 * Reads a whole file of at most `maxBytes`, refusing directories, devices and sockets (and pipes unless
 * `allowPipes`), within `timeoutMs`. Never reads more than `maxBytes + 1` bytes, whatever the file claims
 * or delivers.
 *
 * @example
 * const bytes = await readFileBounded(path, { maxBytes: 64 * 1024, allowPipes: true, signal });
 */
export async function readFileBounded(path: string, options: ReadFileBoundedOptions = {}): Promise<Buffer> {
  const maxBytes = positiveOption(options.maxBytes, DEFAULT_READ_FILE_MAX_BYTES, "maxBytes");
  const timeoutMs = positiveOption(options.timeoutMs, DEFAULT_READ_FILE_TIMEOUT_MS, "timeoutMs");
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? systemSleep;
  const deadline = clock.now() + timeoutMs;
  const { signal } = options;
  const checkpoint = () => {
    if (signal?.aborted) {
      throw readFileError(READ_FILE_ERROR_CODES.aborted, path, "the operation was aborted");
    }
    if (clock.now() >= deadline) {
      throw readFileError(READ_FILE_ERROR_CODES.timedOut, path, `no end of file within ${timeoutMs} ms`);
    }
  };
  checkpoint();
  // stat first: only what is a file (or an allowed pipe) is ever opened.
  checkType(await fsp().stat(path), path, options.allowPipes === true);
  const handle: FileHandle = await fsp().open(path, OPEN_FLAGS);
  try {
    // The path may have been swapped between stat and open; what counts is what was opened.
    const opened = await handle.stat();
    const pipe = checkType(opened, path, options.allowPipes === true);
    if (!pipe) checkSize(opened.size, maxBytes, path);
    const chunks: Buffer[] = [];
    let total = 0;
    let pollMs = FIRST_POLL_MS;
    for (;;) {
      checkpoint();
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(chunk, 0, chunk.length, null));
      } catch (error) {
        // An open pipe with nothing in it yet: wait, within the deadline, for the writer.
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        await sleep(pollMs);
        pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
        continue;
      }
      if (bytesRead === 0) break;
      pollMs = FIRST_POLL_MS;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      checkSize(total, maxBytes, path);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

/**
 * `readFileBounded` for code that cannot wait (a CLI's synchronous fast path): regular files only, since a
 * synchronous read of a pipe could block for good; no timeout, since a regular file never keeps a read waiting.
 *
 * @example
 * const bytes = readFileBoundedSync(configPath, { maxBytes: 1024 * 1024 });
 */
export function readFileBoundedSync(path: string, options: { maxBytes?: number | undefined } = {}): Buffer {
  const maxBytes = positiveOption(options.maxBytes, DEFAULT_READ_FILE_MAX_BYTES, "maxBytes");
  checkType(statSync(path), path, false);
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const opened = fstatSync(fd);
    checkType(opened, path, false);
    checkSize(opened.size, maxBytes, path);
    // Sized for what the file claims (files in /proc claim 0), grown as needed, never past the cap.
    let buffer = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(opened.size, 4095)) + 1);
    let total = 0;
    for (;;) {
      if (total === buffer.length) {
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buffer.length * 2));
        buffer.copy(bigger);
        buffer = bigger;
      }
      const bytesRead = readSync(fd, buffer, total, buffer.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      checkSize(total, maxBytes, path);
    }
    return buffer.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}
