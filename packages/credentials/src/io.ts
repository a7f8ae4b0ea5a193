/**
 * The edges the credential and its suppliers touch besides HTTP: the environment and the file system. Both
 * are injectable so tests (and unusual hosts) can run every path without touching the real process.
 */
import { asText, type Env, type ReadFile, readFileBounded } from "@wifkit/core";

export type { Env, ReadFile };
export { asText };

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
