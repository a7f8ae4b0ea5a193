/**
 * The edges the credential and its suppliers touch besides HTTP: the environment and the file system. Both
 * are injectable so tests (and unusual hosts) can run every path without touching the real process.
 */
import { readFileBounded } from "@wifkit/core";

/** The environment variables a supplier reads; `process.env` by default. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a whole file; rejections carry node's `code` (`ENOENT`, `EFBIG`, `EFTYPE`, ...). */
export type ReadFile = (
  path: string,
  options?: { signal?: AbortSignal | undefined },
) => Promise<Buffer | string>;

/**
 * The default `ReadFile`: @wifkit/core's `readFileBounded`, so a path a configuration names (`/dev/zero`, a
 * FIFO, a huge file) is refused rather than read without end: regular files of at most 1 MiB only.
 */
export const defaultReadFile: ReadFile = (path, options) =>
  readFileBounded(path, { signal: options?.signal });

/** The node error code of a failed file operation, if any. */
export function fileErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Decodes what a `ReadFile` returned as UTF-8 text. */
export function asText(content: Buffer | string): string {
  return typeof content === "string" ? content : content.toString("utf8");
}
