/**
 * Extra origins the credential configuration may point at (an emulator, a test server), read as `wif` reads
 * them (@wifkit/config's `parseAllowedOrigins`): `--allow-origin` (repeated or comma-separated), else
 * `WIF_SIDECAR_ALLOW_ORIGINS`, then the CLI's `WIF_ALLOW_ORIGINS`.
 */
import { ALLOW_ORIGINS_ENV, parseAllowedOrigins } from "@wifkit/config";
import { isWifError } from "@wifkit/core";
import { UsageError } from "./usage.js";

export { ALLOW_ORIGINS_ENV };
/** The sidecar's own variable, read before the CLI's. */
export const SIDECAR_ALLOW_ORIGINS_ENV = "WIF_SIDECAR_ALLOW_ORIGINS";

/** The allowed origins, normalised; a malformed one is a usage error naming the flag or variable. */
export function allowedOrigins(
  flagValues: ReadonlyArray<string | boolean> | string | boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const values = (
    Array.isArray(flagValues) ? flagValues : flagValues === undefined ? [] : [flagValues]
  ).filter((value): value is string => typeof value === "string");
  try {
    return parseAllowedOrigins(values, env, { envNames: [SIDECAR_ALLOW_ORIGINS_ENV, ALLOW_ORIGINS_ENV] });
  } catch (error) {
    if (isWifError(error)) throw new UsageError(error.message);
    throw error;
  }
}
