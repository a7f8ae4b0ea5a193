import { realpath } from "node:fs/promises";
import {
  CORE_ERROR_CODES,
  READ_FILE_ERROR_CODES,
  type ReadFileError,
  SourceUnavailableError,
  SUBJECT_TOKEN_TYPES,
  type SubjectToken,
  type SubjectTokenSupplier,
  type SubjectTokenType,
  WifError,
} from "@wifkit/core";
import { CREDENTIALS_ERROR_CODES } from "../errors.js";
import { asText, defaultReadFile, fileErrorCode, type ReadFile } from "../io.js";
import { DEFAULT_SUBJECT_TOKEN_FORMAT, extractSubjectToken, type TokenFormat } from "./format.js";

/** Files larger than this are not subject tokens; refusing them keeps a wrong path from filling memory. */
export const DEFAULT_MAX_SUBJECT_TOKEN_FILE_BYTES = 1024 * 1024;

// A token file that resolves into these is a kernel or device file (say /proc/self/environ, whose content
// would go to STS as the "token"), however the configuration spelled the path.
const KERNEL_FILE_ROOTS = ["/proc/", "/sys/", "/dev/"];

export interface FromFileInit {
  /** Path of the file holding the token (`credential_source.file`). */
  path: string;
  /** Text (default) or a field of a JSON object. */
  format?: TokenFormat | undefined;
  /** The token type to report; default `urn:ietf:params:oauth:token-type:jwt`. */
  type?: SubjectTokenType | undefined;
  /** File read seam; default a bounded read of a regular file (`readFileBounded` from @wifkit/core). */
  readFile?: ReadFile | undefined;
}

/**
 * A subject token supplier that reads a file on every call, so a token that the platform rotates (a
 * Kubernetes projected service account token, a file a sidecar refreshes) is always read fresh. A missing
 * file is `SourceUnavailableError` (code `ERR_WIF_SUBJECT_TOKEN_FILE_NOT_FOUND`), so a `chain()` moves on;
 * an empty file or a missing JSON field is an error that stops it.
 *
 * @example
 * const supplier = fromFile({ path: "/var/run/secrets/tokens/gcp-token" });
 * const { token } = await supplier();
 */
export function fromFile(init: FromFileInit): SubjectTokenSupplier {
  const readFile = init.readFile ?? defaultReadFile;
  const format = init.format ?? DEFAULT_SUBJECT_TOKEN_FORMAT;
  const type = init.type ?? SUBJECT_TOKEN_TYPES.jwt;
  const where = `the file ${init.path}`;
  return async (options): Promise<SubjectToken> => {
    options?.signal?.throwIfAborted();
    let content: Uint8Array | string;
    try {
      await refuseKernelFile(init.path);
      content = await readFile(init.path, { signal: options?.signal });
    } catch (error) {
      if (error instanceof WifError) throw error;
      const code = fileErrorCode(error);
      if (code === "ENOENT") {
        throw new SourceUnavailableError(
          `The subject token file ${init.path} does not exist. Check credential_source.file, and that the ` +
            `platform mounts the token there.`,
          { code: CREDENTIALS_ERROR_CODES.subjectTokenFileNotFound, cause: error },
        );
      }
      if (code === "ABORT_ERR" || options?.signal?.aborted) {
        throw new WifError(`Reading the subject token file ${init.path} was aborted by the caller.`, {
          code: CORE_ERROR_CODES.aborted,
          cause: error,
        });
      }
      if (code === READ_FILE_ERROR_CODES.tooLarge) throw tooLarge(init.path);
      throw new WifError(
        `Could not read the subject token file ${init.path}: ${unreadableReason(error as ReadFileError)}. ` +
          `Check credential_source.file, and that the process may read it.`,
        { code: CREDENTIALS_ERROR_CODES.subjectTokenFileUnreadable, cause: error },
      );
    }
    const size = typeof content === "string" ? Buffer.byteLength(content) : content.length;
    if (size > DEFAULT_MAX_SUBJECT_TOKEN_FILE_BYTES) throw tooLarge(init.path);
    return { token: extractSubjectToken(asText(content), format, where), type };
  };
}

function tooLarge(path: string): WifError {
  return new WifError(
    `The subject token file ${path} holds more than ${DEFAULT_MAX_SUBJECT_TOKEN_FILE_BYTES} bytes, more than a ` +
      `token can be. Check credential_source.file.`,
    { code: CREDENTIALS_ERROR_CODES.subjectTokenTooLarge },
  );
}

function unreadableReason(error: ReadFileError): string {
  switch (error?.code) {
    case READ_FILE_ERROR_CODES.notAFile:
      return `it is ${error.fileType ?? "not a regular file"}, not a file`;
    case "EISDIR":
      return "it is a directory (EISDIR)";
    case "ELOOP":
      return "it is a symbolic link loop";
    default:
      return fileErrorCode(error) ?? "read failed";
  }
}

/** Refuses a path that resolves to a kernel or device file; anything else is left to the read to report. */
async function refuseKernelFile(path: string): Promise<void> {
  const real = await realpath(path).catch(() => undefined);
  if (real !== undefined && KERNEL_FILE_ROOTS.some((root) => real.startsWith(root))) {
    throw new WifError(
      `The subject token file ${path} resolves to ${real}, a kernel or device file, not a token. ` +
        `Check credential_source.file.`,
      { code: CREDENTIALS_ERROR_CODES.subjectTokenFileUnreadable },
    );
  }
}
