/** Flag parsing on node:util's parseArgs, with one-line errors that name the flag. */
import { type ParseArgsConfig, parseArgs } from "node:util";

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

/** A whole number for `--flag`, or a usage error. */
export function integerFlag(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) {
    throw new UsageError(`--${flag} must be a whole number (got '${value}')`, command);
  }
  return Number(value.trim());
}

/** Environment variable with extra allowed origins, comma or space separated (below `--allow-origin`). */
export const ALLOW_ORIGINS_ENV = "WIF_ALLOW_ORIGINS";

/** `--allow-origin` values, else `WIF_ALLOW_ORIGINS`, for @wifkit/config's `allow.origins`. */
export function allowedOrigins(
  flags: readonly string[] | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const given = flags && flags.length > 0 ? flags : (env[ALLOW_ORIGINS_ENV] ?? "").split(/[\s,]+/);
  return given.map((origin) => origin.trim().replace(/\/+$/, "")).filter((origin) => origin !== "");
}
