import { readFile } from "node:fs/promises";
import { type Clock, WifError } from "@wifkit/core";
import type { AwsCredentials, Environment, ReadTextFile } from "./types.js";

export const defaultReadFile: ReadTextFile = (path) => readFile(path, "utf8");

/** The environment to read: the injected one, else `process.env`. */
export function environmentOf(env: Environment | undefined): Environment {
  return env ?? process.env;
}

/** A variable's value, trimmed; undefined when unset or blank, because a blank variable is not a setting. */
export function readEnv(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** Parses an ISO 8601 `Expiration`; undefined when absent, an error naming `where` when unreadable. */
export function parseExpiration(value: unknown, where: string): Date | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const date = typeof value === "string" || typeof value === "number" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new WifError(`${where} returned an Expiration that is not a date.`, {
      code: "ERR_WIF_AWS_CREDENTIALS_INVALID",
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
  if (
    typeof value?.accessKeyId !== "string" ||
    value.accessKeyId === "" ||
    typeof value.secretAccessKey !== "string" ||
    value.secretAccessKey === ""
  ) {
    throw new WifError(`${where} returned AWS credentials without an access key id and secret access key.`, {
      code: "ERR_WIF_AWS_CREDENTIALS_INVALID",
    });
  }
  if (
    value.sessionToken !== undefined &&
    value.sessionToken !== null &&
    typeof value.sessionToken !== "string"
  ) {
    throw new WifError(`${where} returned a session token that is not a string.`, {
      code: "ERR_WIF_AWS_CREDENTIALS_INVALID",
    });
  }
  let expiration: Date | undefined;
  if (value.expiration !== undefined && value.expiration !== null) {
    expiration =
      value.expiration instanceof Date ? value.expiration : parseExpiration(value.expiration, where);
    if (expiration && Number.isNaN(expiration.getTime())) {
      throw new WifError(`${where} returned an expiration that is not a date.`, {
        code: "ERR_WIF_AWS_CREDENTIALS_INVALID",
      });
    }
  }
  if (expiration && expiration.getTime() <= clock.now()) {
    throw new WifError(
      `${where} returned AWS credentials that expired at ${expiration.toISOString()}; ` +
        "the credential endpoint is serving stale credentials (check the role assignment and the host clock).",
      { code: "ERR_WIF_AWS_CREDENTIALS_EXPIRED" },
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
    if (error.code === "ERR_WIF_TIMEOUT") return "timed out";
    const cause = error.cause as NodeJS.ErrnoException | undefined;
    if (cause?.code) return cause.code;
    return error.code;
  }
  return error instanceof Error ? error.name : "unknown error";
}
