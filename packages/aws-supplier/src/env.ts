import { SourceUnavailableError, systemClock, WifError } from "@wifkit/core";
import { AWS_ERROR_CODES } from "./errors.js";
import { checkCredentials, environmentOf, readEnv } from "./internal.js";
import type { AwsCredentialProvider, AwsSourceInit } from "./types.js";

export type EnvCredentialsInit = Pick<AwsSourceInit, "env" | "clock">;

/**
 * AWS credentials from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (plus `AWS_SESSION_TOKEN` and, for
 * temporary credentials, `AWS_CREDENTIAL_EXPIRATION`), read on every call. This is how Lambda hands a
 * function its role, and how CI systems usually pass keys.
 *
 * Throws `SourceUnavailableError` when neither key variable is set, and `ERR_WIF_AWS_ENV_INCOMPLETE` when
 * only one is.
 */
export function fromEnv(init: EnvCredentialsInit = {}): AwsCredentialProvider {
  const clock = init.clock ?? systemClock;
  return async () => {
    const env = environmentOf(init.env);
    const accessKeyId = readEnv(env, "AWS_ACCESS_KEY_ID");
    const secretAccessKey = readEnv(env, "AWS_SECRET_ACCESS_KEY");
    if (!accessKeyId && !secretAccessKey) {
      throw new SourceUnavailableError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set.");
    }
    if (!accessKeyId || !secretAccessKey) {
      const missing = accessKeyId ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID";
      const present = accessKeyId ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY";
      throw new WifError(
        `${present} is set but ${missing} is not; set both, or neither to use another source.`,
        { code: AWS_ERROR_CODES.envIncomplete },
      );
    }
    const sessionToken = readEnv(env, "AWS_SESSION_TOKEN");
    const expiration = readEnv(env, "AWS_CREDENTIAL_EXPIRATION");
    return checkCredentials(
      { accessKeyId, secretAccessKey, sessionToken, expiration },
      "The AWS_* environment variables",
      clock,
    );
  };
}
