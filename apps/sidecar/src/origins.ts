/**
 * Extra origins the credential configuration may point at (an emulator, a test server), as `wif` takes them:
 * `--allow-origin` (repeated or comma-separated), else the environment (`WIF_SIDECAR_ALLOW_ORIGINS`, then the
 * CLI's `WIF_ALLOW_ORIGINS`, comma- or space-separated). The CLI's `allowedOrigins` (apps/cli/src/args.ts)
 * and this should become one function of @wifkit/config.
 */
import { UsageError } from "./usage.js";

/** The environment variable `wif` reads for extra origins; the sidecar honours it below its own. */
export const ALLOW_ORIGINS_ENV = "WIF_ALLOW_ORIGINS";

/** How the endpoint policy of @wifkit/config names its option, and how the sidecar's users set it. */
const LIBRARY_OPTION = "allow.origins";
const SIDECAR_OPTION = `--allow-origin (or ${ALLOW_ORIGINS_ENV})`;

/**
 * Checks each origin (`http(s)://host[:port]`, a trailing slash tolerated) and returns them normalised.
 * Throws a `UsageError` naming `source` (the flag or variable) for anything else: a path, a query, user
 * information, another scheme, or no URL at all.
 *
 * @example
 * parseAllowedOrigins(["http://127.0.0.1:41234/"], "--allow-origin"); // ["http://127.0.0.1:41234"]
 */
export function parseAllowedOrigins(items: readonly string[], source: string): string[] {
  return items.map((item) => {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new UsageError(`${source}: "${item}" is not an origin such as http://127.0.0.1:41234.`);
    }
    const bare = (url.pathname === "/" || url.pathname === "") && url.search === "" && url.hash === "";
    if ((url.protocol !== "http:" && url.protocol !== "https:") || !bare || url.username || url.password) {
      throw new UsageError(
        `${source}: "${item}" must be an http(s) origin (scheme, host and port) without a path, query or user name.`,
      );
    }
    return url.origin;
  });
}

/** A credential configuration error with the library option it mentions renamed to the sidecar's flag. */
export function withSidecarOptionNames(message: string): string {
  return message.split(LIBRARY_OPTION).join(SIDECAR_OPTION);
}
