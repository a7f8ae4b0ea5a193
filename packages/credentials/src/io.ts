/**
 * The edges the credential and its suppliers touch besides HTTP: the environment and the file system. Both
 * are injectable so tests (and unusual hosts) can run every path without touching the real process.
 */
import { readFile as fsReadFile } from "node:fs/promises";

/** The environment variables a supplier reads; `process.env` by default. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a whole file. The default is `fs.promises.readFile`; rejections carry node's `code` (`ENOENT`, ...). */
export type ReadFile = (
  path: string,
  options?: { signal?: AbortSignal | undefined },
) => Promise<Buffer | string>;

export const defaultReadFile: ReadFile = (path, options) =>
  fsReadFile(path, options?.signal ? { signal: options.signal } : undefined);

/** The node error code of a failed file operation, if any. */
export function fileErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Decodes what a `ReadFile` returned as UTF-8 text. */
export function asText(content: Buffer | string): string {
  return typeof content === "string" ? content : content.toString("utf8");
}
