/**
 * Which Azure identity this package would find here, from the environment alone: for cache keys (the `wif`
 * CLI keys its token cache on it). Published on its own subpath, `@wifkit/azure-supplier/identity`, and
 * importing nothing at run time, so a fast path can compute it without loading the supplier.
 */
import type { Env } from "@wifkit/core";

/**
 * The variables that decide which managed identity the sources find, and where: client and tenant ids,
 * token files, endpoints (never `IDENTITY_HEADER`, which is a secret).
 */
export const AZURE_IDENTITY_ENV: readonly string[] = Object.freeze([
  "AZURE_CLIENT_ID",
  "AZURE_TENANT_ID",
  "AZURE_FEDERATED_TOKEN_FILE",
  "AZURE_AUTHORITY_HOST",
  "AZURE_IMDS_ENDPOINT",
  "AZURE_POD_IDENTITY_AUTHORITY_HOST",
  "IDENTITY_ENDPOINT",
  "IMDS_ENDPOINT",
]);

/**
 * A string that changes whenever the Azure identity found here may change: each of `AZURE_IDENTITY_ENV`
 * with its value. It holds no secret, so it may be hashed into a cache key or logged.
 *
 * @example
 * hash.update(azureIdentityFingerprint(process.env));
 */
export function azureIdentityFingerprint(env: Env = process.env): string {
  return AZURE_IDENTITY_ENV.map((name) => `${name}=${env[name] ?? ""}`).join("\n");
}
