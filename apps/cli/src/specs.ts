/**
 * The flags of the commands the entry may answer on its own (`token`, `id-token`), in one place, so the
 * entry's fast path and the full command parse them identically.
 */

/** Flags every command accepts. `--proxy` and `--log-http` are read once for all commands (commands.ts). */
export const GLOBAL_FLAGS = {
  help: { type: "boolean", short: "h" },
  debug: { type: "boolean" },
  proxy: { type: "string" },
  "log-http": { type: "boolean" },
  "allow-origin": { type: "string", multiple: true },
  "universe-domain": { type: "string" },
} as const;

/** Flags of the commands that use the token cache. */
export const CACHE_FLAGS = {
  "cache-dir": { type: "string" },
  "no-cache": { type: "boolean" },
} as const;

export const TOKEN_FLAGS = {
  ...GLOBAL_FLAGS,
  ...CACHE_FLAGS,
  config: { type: "string" },
  scopes: { type: "string" },
  format: { type: "string" },
} as const;

export const ID_TOKEN_FLAGS = {
  ...GLOBAL_FLAGS,
  ...CACHE_FLAGS,
  config: { type: "string" },
  audience: { type: "string" },
  "include-email": { type: "boolean" },
  format: { type: "string" },
} as const;

export const TOKEN_FORMATS = ["text", "json", "env"] as const;
export type TokenFormat = (typeof TOKEN_FORMATS)[number];
export const ID_TOKEN_FORMATS = ["text", "json"] as const;

/** `https://www.googleapis.com/auth/cloud-platform`, what `wif token` asks for without `--scopes`. */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

const OPENID_SCOPES = new Set(["openid", "email", "profile"]);

/**
 * `--scopes a,b`: comma separated; a bare name other than the OpenID ones is short for a Google API scope
 * (`cloud-platform` -> `https://www.googleapis.com/auth/cloud-platform`). Sorted and deduplicated, so the
 * same set always hits the same cache entry. Empty input yields an empty list (the caller reports it).
 */
export function parseScopes(text: string | undefined): string[] {
  if (text === undefined) return [CLOUD_PLATFORM_SCOPE];
  const scopes = text
    .split(",")
    .map((scope) => scope.trim())
    .filter((scope) => scope !== "")
    .map((scope) =>
      /^[a-z0-9._-]+$/i.test(scope) && !OPENID_SCOPES.has(scope)
        ? `https://www.googleapis.com/auth/${scope}`
        : scope,
    );
  return [...new Set(scopes)].sort();
}
