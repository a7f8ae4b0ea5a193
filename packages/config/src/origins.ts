/**
 * The extra origins a user allows on the command line or in the environment (`--allow-origin`,
 * `WIF_ALLOW_ORIGINS`), read one way for every program: the CLI and the sidecar hand the result to
 * `allow.origins`. An entry that is not an origin is refused, because an endpoint policy that silently
 * ignores a misspelt origin only shows up later as a confusing "not a Google endpoint".
 */
import { WifError } from "@wifkit/core";
import { isLoopbackHost } from "./policy.js";

/** The flag `parseAllowedOrigins` names in its errors unless told another. */
export const ALLOW_ORIGIN_FLAG = "--allow-origin";
/** The environment variable read when no flag value is given: origins separated by commas or spaces. */
export const ALLOW_ORIGINS_ENV = "WIF_ALLOW_ORIGINS";

/** The codes `parseAllowedOrigins` throws. */
export const ORIGINS_ERROR_CODES = Object.freeze({
  /** An entry is not an origin such as `http://127.0.0.1:8080`. */
  invalidOrigin: "ERR_WIF_ALLOW_ORIGIN_INVALID",
} as const);

export interface ParseAllowedOriginsOptions {
  /** The flag the values came from, for the error messages. Default `--allow-origin`. */
  flag?: string | undefined;
  /**
   * Environment variables read, first set (non-empty) one wins, when no flag value is given.
   * Default `["WIF_ALLOW_ORIGINS"]`; the sidecar puts its own variable first.
   */
  envNames?: readonly string[] | undefined;
}

const EXAMPLE = "http://127.0.0.1:8080";

/**
 * The allowed origins from repeated flag values, else from the first environment variable set: each value
 * may hold several origins separated by commas or spaces. Returns them normalised (`new URL(x).origin`:
 * lower-case host, default port dropped, no trailing slash) and deduplicated, ready for `allow.origins`.
 * A flag value given replaces the environment; it does not add to it.
 *
 * Throws a `WifError` (`ERR_WIF_ALLOW_ORIGIN_INVALID`) naming the flag or variable and the entry when an
 * entry is not an http(s) origin (a path, a query, user info, no scheme), or is plain http on a host other
 * than loopback (the endpoint policy never accepts those).
 *
 * @example
 * parseAllowedOrigins(["http://127.0.0.1:8080/,http://localhost:9000"], process.env);
 * // ["http://127.0.0.1:8080", "http://localhost:9000"]
 */
export function parseAllowedOrigins(
  flagValues: readonly string[] | undefined,
  env: Readonly<Record<string, string | undefined>>,
  options: ParseAllowedOriginsOptions = {},
): string[] {
  const envNames = options.envNames ?? [ALLOW_ORIGINS_ENV];
  const fromEnv = envNames.find((name) => (env[name] ?? "").trim() !== "");
  const source =
    flagValues !== undefined && flagValues.length > 0
      ? { name: options.flag ?? ALLOW_ORIGIN_FLAG, texts: flagValues }
      : fromEnv === undefined
        ? undefined
        : { name: fromEnv, texts: [env[fromEnv] as string] };
  if (!source) return [];
  const entries = source.texts.flatMap((text) => text.split(/[\s,]+/)).filter((entry) => entry !== "");
  return [...new Set(entries.map((entry) => originOf(entry, source.name)))];
}

function originOf(entry: string, source: string): string {
  let url: URL | undefined;
  try {
    url = new URL(entry);
  } catch {
    url = undefined;
  }
  const invalid = (why: string) =>
    new WifError(`${source}: ${why}`, { code: ORIGINS_ERROR_CODES.invalidOrigin });
  // User info may be a password: never repeat the entry then.
  if (url && (url.username !== "" || url.password !== "")) {
    throw invalid(
      `an origin must not contain a user name or password; give scheme, host and port, e.g. ${EXAMPLE}`,
    );
  }
  if (
    !url ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== "" ||
    // `http://host?` and `http://host#` parse with an empty query and fragment.
    /[?#]/.test(entry)
  ) {
    throw invalid(`'${entry}' is not an origin; give scheme, host and port only, e.g. ${EXAMPLE}`);
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    throw invalid(
      `'${entry}' is plain http on a host other than this machine, which is never allowed; use https, or a loopback origin such as ${EXAMPLE}`,
    );
  }
  return url.origin;
}
