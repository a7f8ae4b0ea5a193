/**
 * Where `wif` keeps tokens between runs, and under which key. The key is a hash of the credential
 * configuration's exact bytes, the request (scopes, or audience and email flag) and the environment
 * variables that choose which workload identity the subject credential belongs to: a hit means this exact
 * configuration, in this environment, already passed validation and produced the stored token, so the entry
 * can answer without loading the schema, the HTTP layer or any supplier.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

/** Environment variable overriding the cache directory (below `--cache-dir`). */
export const CACHE_DIR_ENV = "WIF_CACHE_DIR";

/**
 * Variables that decide whose subject credential the suppliers find (AWS keys and roles, Azure identities,
 * metadata endpoints). Two runs with the same config but, say, different AWS keys must not share a token.
 * Only non-secret values are listed (key ids, not secret keys).
 */
export const IDENTITY_ENV = [
  "AWS_ACCESS_KEY_ID",
  "AWS_PROFILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_STS",
  "AZURE_CLIENT_ID",
  "AZURE_TENANT_ID",
  "AZURE_FEDERATED_TOKEN_FILE",
  "AZURE_AUTHORITY_HOST",
  "AZURE_IMDS_ENDPOINT",
  "AZURE_POD_IDENTITY_AUTHORITY_HOST",
  "IDENTITY_ENDPOINT",
  "IMDS_ENDPOINT",
  "GOOGLE_API_CERTIFICATE_CONFIG",
  "CLOUDSDK_CONFIG",
] as const;

/** `--cache-dir`, else `WIF_CACHE_DIR`, else `$XDG_CACHE_HOME/wifkit`, else `~/.cache/wifkit`. */
export function cacheDirectory(flag: string | undefined, env: Env): string {
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env[CACHE_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg?.startsWith("/")) return join(xdg, "wifkit");
  return join(homedir(), ".cache", "wifkit");
}

export type TokenRequest =
  | { kind: "access_token"; scopes: readonly string[] }
  | { kind: "id_token"; audience: string; includeEmail: boolean };

/** The token store key for `request` made with the configuration whose file holds `configBytes`. */
export function tokenCacheKey(configBytes: Uint8Array, request: TokenRequest, env: Env): string {
  const hash = createHash("sha256");
  hash.update("wif-token-cache-v1\0");
  hash.update(configBytes);
  hash.update("\0");
  hash.update(
    request.kind === "access_token"
      ? `access_token\0${request.scopes.join(" ")}`
      : `id_token\0${request.audience}\0${request.includeEmail ? "email" : "no-email"}`,
  );
  for (const name of IDENTITY_ENV) hash.update(`\0${name}=${env[name] ?? ""}`);
  return hash.digest("hex");
}
