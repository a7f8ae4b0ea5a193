import { asText, type Clock, type Env, type ReadFile, readFileBounded, WifError } from "@wifkit/core";
import { HTTP_ERROR_CODES, type HttpRequestInit } from "@wifkit/http";
import { AWS_ERROR_CODES } from "./errors.js";
import type { AwsCredentials, AwsSourceInit } from "./types.js";

export const defaultReadFile: ReadFile = (path, options) => readFileBounded(path, options);

/** Reads a token file as trimmed UTF-8 text through the seam. */
export async function readText(readFile: ReadFile | undefined, path: string): Promise<string> {
  const content = await (readFile ?? defaultReadFile)(path);
  return asText(content).trim();
}

/** The environment to read: the injected one, else `process.env`. */
export function environmentOf(env: Env | undefined): Env {
  return env ?? process.env;
}

/** A variable's value, trimmed; undefined when unset or blank, because a blank variable is not a setting. */
export function readEnv(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/**
 * The HTTP seams of a source's init, for `httpRequest`. The clock goes along only with a `sleep`: together
 * they are virtual time; a clock alone is for expiry decisions and must not stretch the HTTP budget.
 */
export function httpSeams(
  init: AwsSourceInit,
  signal: AbortSignal | undefined,
): Pick<HttpRequestInit, "transport" | "clock" | "sleep" | "signal"> {
  return {
    ...(init.transport ? { transport: init.transport } : {}),
    ...(init.sleep ? { sleep: init.sleep, ...(init.clock ? { clock: init.clock } : {}) } : {}),
    ...(signal ? { signal } : {}),
  };
}

/** Parses an ISO 8601 `Expiration`; undefined when absent, an error naming `where` when unreadable. */
export function parseExpiration(value: unknown, where: string): Date | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const date = typeof value === "string" || typeof value === "number" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new WifError(`${where} returned an Expiration that is not a date.`, {
      code: AWS_ERROR_CODES.credentialsInvalid,
    });
  }
  return date;
}

/**
 * Checks the shape of credentials from any source and refuses expired ones: signing with them would only
 * produce a subject token that Google STS rejects with a far less helpful message.
 */
export function checkCredentials(credentials: unknown, where: string, clock: Clock): AwsCredentials {
  const value = credentials as Partial<AwsCredentials> | null | undefined;
  const invalid = (what: string) =>
    new WifError(`${where} returned ${what}.`, { code: AWS_ERROR_CODES.credentialsInvalid });
  if (
    typeof value?.accessKeyId !== "string" ||
    value.accessKeyId === "" ||
    typeof value.secretAccessKey !== "string" ||
    value.secretAccessKey === ""
  ) {
    throw invalid("AWS credentials without an access key id and secret access key");
  }
  if (
    value.sessionToken !== undefined &&
    value.sessionToken !== null &&
    typeof value.sessionToken !== "string"
  ) {
    throw invalid("a session token that is not a string");
  }
  let expiration: Date | undefined;
  if (value.expiration !== undefined && value.expiration !== null) {
    expiration =
      value.expiration instanceof Date ? value.expiration : parseExpiration(value.expiration, where);
    if (expiration && Number.isNaN(expiration.getTime())) throw invalid("an expiration that is not a date");
  }
  if (expiration && expiration.getTime() <= clock.now()) {
    throw new WifError(
      `${where} returned AWS credentials that expired at ${expiration.toISOString()}; ` +
        "the credential endpoint is serving stale credentials (check the role assignment and the host clock).",
      { code: AWS_ERROR_CODES.credentialsExpired },
    );
  }
  return {
    accessKeyId: value.accessKeyId,
    secretAccessKey: value.secretAccessKey,
    ...(value.sessionToken ? { sessionToken: value.sessionToken } : {}),
    ...(expiration ? { expiration } : {}),
  };
}

/** A short, secret-free reason from a transport failure, for "did not answer (...)" messages. */
export function describeFailure(error: unknown): string {
  if (error instanceof WifError) {
    if (error.code === HTTP_ERROR_CODES.timeout) return "timed out";
    const cause = error.cause as NodeJS.ErrnoException | undefined;
    if (cause?.code) return cause.code;
    return error.code;
  }
  return error instanceof Error ? error.name : "unknown error";
}
