/**
 * Every command but the entry's fast path: help, dispatch, and the one place errors become exit codes and
 * stderr lines. Each command lives in its own module, loaded when it runs, so `wif create-cred-config`
 * never loads the HTTP layer and `wif token` never loads the CEL engine.
 */
import { parseArgs } from "node:util";
import { UsageError, wantsHelp } from "./args.js";
import type { WarmStart } from "./cache.js";
import type { CommandContext, CommandRun } from "./context.js";
import { COMMANDS, commandHelp, mainHelp, usageOf } from "./help.js";
import { createIo, type Io } from "./io.js";
import { ID_TOKEN_FLAGS, TOKEN_FLAGS } from "./specs.js";

/** Exit code of a usage error (unknown flag, missing argument). */
export const EXIT_USAGE = 2;
/** Exit code of a failure (upstream, environment, invalid configuration). */
export const EXIT_FAILURE = 1;

const LOADERS: Record<string, () => Promise<{ run: CommandRun; help?: () => string }>> = {
  token: () => import("./commands/token.js"),
  "id-token": () => import("./commands/id-token.js"),
  exec: () => import("./commands/exec.js"),
  "create-cred-config": () => import("./commands/create-cred-config.js"),
  validate: () => import("./commands/validate.js"),
  doctor: () => import("./commands/doctor.js"),
  plan: () => import("./commands/plan.js"),
  inspect: () => import("./commands/inspect.js"),
  "mapping eval": () => import("./commands/mapping-eval.js"),
  emulator: () => import("./commands/emulator.js"),
  demo: () => import("./commands/demo.js"),
};

/** Commands whose help their module renders (its flags belong to another package): loaded for --help. */
const MODULE_HELP = new Set(["emulator"]);

async function helpOf(name: string): Promise<string> {
  const module = MODULE_HELP.has(name) ? await LOADERS[name]?.() : undefined;
  return module?.help?.() ?? commandHelp(name);
}

const GLOBAL_BOOLEANS = new Set(["--debug", "--log-http"]);
const GLOBAL_VALUES = new Set(["--proxy"]);

/** Splits `[GLOBAL FLAGS] COMMAND [SUBCOMMAND] ARGS` into the command's name and its arguments. */
function commandOf(argv: readonly string[]): { name: string | undefined; args: string[] } {
  const leading = [];
  let index = 0;
  for (;;) {
    const arg = argv[index];
    if (arg === undefined) break;
    if (GLOBAL_BOOLEANS.has(arg) || GLOBAL_VALUES.has(arg.split("=")[0] as string)) {
      leading.push(arg);
      index++;
      if (GLOBAL_VALUES.has(arg) && index < argv.length) leading.push(argv[index++] as string);
    } else break;
  }
  const word = argv[index];
  if (word === undefined || word.startsWith("-")) return { name: undefined, args: [...argv] };
  if (word === "mapping") {
    const sub = argv[index + 1];
    if (sub === "eval") return { name: "mapping eval", args: [...leading, ...argv.slice(index + 2)] };
    if (sub === undefined || sub === "--help" || sub === "-h")
      return { name: "mapping", args: argv.slice(index + 1) };
    throw new UsageError(`unknown command 'mapping ${sub}' (did you mean 'mapping eval'?)`, undefined);
  }
  return { name: word, args: [...leading, ...argv.slice(index + 1)] };
}

/** Every flag a command may take before `--proxy`, so that flags' values are not mistaken for it. */
const KNOWN_FLAGS = { ...TOKEN_FLAGS, ...ID_TOKEN_FLAGS } as const;

/**
 * `--proxy URL` and `--log-http` among a command's own flags: before `--` and, for `exec`, before the
 * command it runs (whose arguments are its own). Each command also parses them, strictly.
 */
function networkFlags(name: string, args: readonly string[]): { proxy?: string; logHttp: boolean } {
  const { tokens } = parseArgs({
    args: [...args],
    options: KNOWN_FLAGS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const found: { proxy?: string; logHttp: boolean } = { logHttp: false };
  for (const token of tokens) {
    if (token.kind === "option-terminator") break;
    if (token.kind === "positional") {
      if (name === "exec") break;
      continue;
    }
    if (token.name === "proxy" && token.value !== undefined) found.proxy = token.value;
    if (token.name === "log-http") found.logHttp = true;
  }
  return found;
}

/**
 * The transport for `--proxy` (undefined without it: the credential reads the environment's proxies).
 * A malformed URL is a usage error naming the flag; the value is not repeated, as it may hold a password.
 */
async function proxyTransport(proxy: string | undefined, env: CommandContext["env"], command: string) {
  if (proxy === undefined) return undefined;
  const [{ createTransport }, { isWifError }] = await Promise.all([
    import("@wifkit/http"),
    import("@wifkit/core"),
  ]);
  try {
    return createTransport({ proxy, env });
  } catch (error) {
    if (isWifError(error) && error.field === "proxy") {
      throw new UsageError(`--proxy ${error.message.replace(/^Option proxy /, "")}`, command);
    }
    throw error;
  }
}

/** Prints every HTTP request, response and retry to stderr (`--log-http`, `WIF_LOG=debug`) until stopped. */
async function traceHttp(io: Io): Promise<() => void> {
  const { formatHttpTraceEvent, subscribeHttpTrace } = await import("@wifkit/http");
  return subscribeHttpTrace((event) => io.err(`${io.styles.dim(formatHttpTraceEvent(event))}\n`));
}

/**
 * Runs `wif ARGV` and returns the exit code: 0 success, 1 failure, 2 usage error (or the child's code for
 * `exec`). Never throws; prints stack traces only with `--debug`.
 */
export async function run(
  argv: readonly string[],
  context: { version: string; warm?: WarmStart | undefined },
): Promise<number> {
  const io = createIo();
  const debug = argv.includes("--debug") && !argv.slice(0, argv.indexOf("--debug")).includes("--");
  const ctx: CommandContext = { io, env: process.env, version: context.version, warm: context.warm };
  try {
    const { name, args } = commandOf(argv);
    if (name === undefined) {
      if (argv.length === 0) {
        io.err(mainHelp(context.version));
        return EXIT_USAGE;
      }
      if (wantsHelp(args)) {
        io.out(mainHelp(context.version));
        return 0;
      }
      if (args.includes("--version") || args.includes("-V")) {
        io.out(`${context.version}\n`);
        return 0;
      }
      throw new UsageError(`unknown option ${args.find((arg) => arg.startsWith("-")) ?? args[0]}`, undefined);
    }
    if (name === "mapping") {
      if (wantsHelp(args)) {
        io.out(commandHelp("mapping eval"));
        return 0;
      }
      throw new UsageError("missing subcommand: wif mapping eval", "mapping eval");
    }
    if (name === "help") {
      const topic = args.join(" ");
      io.out(COMMANDS[topic] ? await helpOf(topic) : mainHelp(context.version));
      return 0;
    }
    const load = LOADERS[name];
    if (!load) throw new UsageError(`unknown command '${name}'`, undefined);
    if (wantsHelp(args)) {
      io.out(await helpOf(name));
      return 0;
    }
    const network = networkFlags(name, args);
    const transport = await proxyTransport(network.proxy, ctx.env, name);
    const stopTrace =
      network.logHttp || /^(debug|trace)$/i.test(ctx.env.WIF_LOG ?? "") ? await traceHttp(io) : undefined;
    try {
      const command = await load();
      return await command.run(args, { ...ctx, transport });
    } finally {
      stopTrace?.();
    }
  } catch (error) {
    return report(error, io, debug);
  }
}

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  stack?: unknown;
  cause?: unknown;
}

/** Prints `error` as the user should see it and returns the exit code. */
export function report(error: unknown, io: Io, debug: boolean): number {
  const { styles } = io;
  if (error instanceof UsageError) {
    io.err(`${styles.red("error")}: ${error.command ? `wif ${error.command}: ` : ""}${error.message}\n`);
    io.err(usageOf(error.command, error.usage));
    return EXIT_USAGE;
  }
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as ErrorLike;
  const message = typeof e.message === "string" && e.message !== "" ? e.message : String(error);
  const code = typeof e.code === "string" ? e.code : undefined;
  const known = code?.startsWith("ERR_WIF_") === true;
  const label = known ? `error [${code}]` : code ? `unexpected error [${code}]` : "unexpected error";
  io.err(`${styles.red(label)}: ${message}\n`);
  if (debug) {
    let current: unknown = error;
    for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
      const stack = (current as ErrorLike).stack;
      io.err(
        styles.dim(
          `${depth === 0 ? "" : "caused by: "}${typeof stack === "string" ? stack : String(current)}\n`,
        ),
      );
      current = (current as ErrorLike).cause;
    }
  } else if (!known) {
    io.err(styles.dim("Run again with --debug for the stack trace.\n"));
  }
  return EXIT_FAILURE;
}
