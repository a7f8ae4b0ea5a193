/**
 * Every command but the entry's fast path: help, dispatch, and the one place errors become exit codes and
 * stderr lines. Each command lives in its own module, loaded when it runs, so `wif create-cred-config`
 * never loads the HTTP layer and `wif token` never loads the CEL engine.
 */
import { UsageError, wantsHelp } from "./args.js";
import type { WarmStart } from "./cache.js";
import type { CommandContext, CommandRun } from "./context.js";
import { COMMANDS, commandHelp, mainHelp, usageOf } from "./help.js";
import { createIo, type Io } from "./io.js";

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

const GLOBAL_BOOLEANS = new Set(["--debug"]);

/** Splits `[--debug] COMMAND [SUBCOMMAND] ARGS` into the command's name and its arguments. */
function commandOf(argv: readonly string[]): { name: string | undefined; args: string[] } {
  const leading = [];
  let index = 0;
  while (index < argv.length && GLOBAL_BOOLEANS.has(argv[index] as string))
    leading.push(argv[index++] as string);
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
    const command = await load();
    return await command.run(args, ctx);
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
