/** Flag parsing on node:util's parseArgs, with one-line errors that name the flag. */
import { type ParseArgsConfig, parseArgs } from "node:util";
// Types only: @wifkit/config (the schema) is loaded by the commands that read a configuration, when they do.

/** A command line that cannot be run: printed as one line plus the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** `usage`: the command's usage line when it is not the one in help.ts (a delegated command's). */
  constructor(
    message: string,
    readonly command: string | undefined,
    readonly usage?: string,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What `parseFlags` returns: the typed `values` and the `positionals`. */
export type ParsedFlags<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
>;

/** The message of a parseArgs error, reduced to "unknown option --x" and the like. */
function describeParseError(error: unknown, options: Options): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-{1,2}[^'\s]+)/.exec(message)?.[1]?.split("=")[0];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${flag ?? message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const name = flag?.replace(/^-+/, "");
      const spec =
        name === undefined
          ? undefined
          : (options[name] ?? Object.values(options).find((o) => o.short === name));
      return spec?.type === "boolean"
        ? `option ${flag} takes no value`
        : `option ${flag ?? ""} needs a value`.trim();
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const positional = /'([^']*)'/.exec(message)?.[1];
      return positional === undefined ? "unexpected argument" : `unexpected argument '${positional}'`;
    }
    default:
      return message.split("\n")[0] ?? message;
  }
}

/**
 * Parses `args` strictly against `options`. Unknown flags, missing values and unexpected positionals
 * become a `UsageError` for `command`.
 */
export function parseFlags<T extends Options>(
  command: string,
  args: readonly string[],
  options: T,
  { positionals = false }: { positionals?: boolean } = {},
): ParsedFlags<T> {
  try {
    return parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: positionals,
    }) as ParsedFlags<T>;
  } catch (error) {
    throw new UsageError(describeParseError(error, options), command);
  }
}

/** Whether `args` ask for help (before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

/** One of `allowed`, or a usage error naming the flag. */
export function oneOf<T extends string>(
  command: string,
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag} must be one of ${allowed.join(", ")} (got '${value}')`, command);
}

/**
 * `--allow-origin` values (repeated, or comma or space separated), else `WIF_ALLOW_ORIGINS`, normalised for
 * @wifkit/config's `allow.origins` by its `parseAllowedOrigins` (loaded here, so only commands that check a
 * configuration load it). An entry that is not an origin is a usage error of `command` naming the flag or the
 * variable and the entry.
 */
export async function allowedOrigins(
  flags: readonly string[] | undefined,
  env: Readonly<Record<string, string | undefined>>,
  command?: string,
): Promise<string[]> {
  const { parseAllowedOrigins, ORIGINS_ERROR_CODES } = await import("@wifkit/config");
  try {
    return parseAllowedOrigins(flags, env);
  } catch (error) {
    if ((error as { code?: unknown }).code !== ORIGINS_ERROR_CODES.invalidOrigin) throw error;
    throw new UsageError((error as Error).message, command);
  }
}

const DURATION_UNITS_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/**
 * A duration flag as gcloud reads it: a whole number in `defaultUnit`, or amounts with units (`90s`,
 * `1h30m`, `1.5s`, `1500ms`), returned as a whole number of `unit`s within `range`; else a usage error.
 * (gcloud's ISO 8601 form, `PT1H`, is not read.)
 */
export function durationFlag(
  command: string,
  flag: string,
  value: string | undefined,
  {
    defaultUnit,
    unit,
    range,
  }: { defaultUnit: "s" | "ms"; unit: "s" | "ms"; range: { min: number; max: number } },
): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim().toLowerCase();
  const withUnit = /^\d+$/.test(text) ? `${text}${defaultUnit}` : text;
  const parts = withUnit.match(/\d+(?:\.\d+)?(?:ms|[dhms])/g) ?? [];
  const milliseconds =
    parts.length > 0 && parts.join("") === withUnit
      ? parts.reduce((sum, part) => {
          const [, amount, suffix] = /^([\d.]+)([a-z]+)$/.exec(part) as unknown as [string, string, string];
          return sum + Number(amount) * (DURATION_UNITS_MS[suffix] as number);
        }, 0)
      : Number.NaN;
  // Rounded to a millionth, so that decimal amounts (1.1s) do not fail on binary fractions.
  const result = Math.round((milliseconds / (DURATION_UNITS_MS[unit] as number)) * 1e6) / 1e6;
  if (!Number.isInteger(result)) {
    throw new UsageError(
      `--${flag} must be a whole number of ${unit === "s" ? "seconds" : "milliseconds"}, or a duration such as 90s or 1h (got '${value}')`,
      command,
    );
  }
  if (result < range.min || result > range.max) {
    throw new UsageError(`--${flag} must be from ${range.min} to ${range.max} (got '${value}')`, command);
  }
  return result;
}

/**
 * A base URL flag (`http://127.0.0.1:8080`, `https://host/prefix`), without its trailing slashes; a usage
 * error unless it is an absolute http(s) URL without query, fragment or user info.
 */
export function baseUrlFlag(command: string, flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.username !== "" ||
    url.password !== "" ||
    /[?#]/.test(value)
  ) {
    throw new UsageError(
      `--${flag} must be an http or https base URL such as http://127.0.0.1:8080 (got '${url?.username || url?.password ? "a URL with user info" : value}')`,
      command,
    );
  }
  return value.replace(/\/+$/, "");
}
