/**
 * Which AWS identity this package would find here, from the environment alone: for cache keys (the `wif`
 * CLI keys its token cache on it). Published on its own subpath, `@wifkit/aws-supplier/identity`, and
 * importing nothing at run time, so a fast path can compute it without loading the supplier.
 */
import type { Env } from "@wifkit/core";

/**
 * The variables that decide whose AWS credentials the sources find, and where: key ids (never secret keys
 * or session tokens), roles, token files, endpoints, the region.
 */
export const AWS_IDENTITY_ENV: readonly string[] = Object.freeze([
  "AWS_ACCESS_KEY_ID",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_STS",
]);

/**
 * A string that changes whenever the AWS identity found here may change: each of `AWS_IDENTITY_ENV` with
 * its value. It holds no secret, so it may be hashed into a cache key or logged.
 *
 * @example
 * hash.update(awsIdentityFingerprint(process.env));
 */
export function awsIdentityFingerprint(env: Env = process.env): string {
  return AWS_IDENTITY_ENV.map((name) => `${name}=${env[name] ?? ""}`).join("\n");
}
