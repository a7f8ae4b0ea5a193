import type { HttpTransport } from "@wifkit/http";
import type { WarmStart } from "./cache.js";
import type { Io } from "./io.js";

/** What every command gets. */
export interface CommandContext {
  readonly io: Io;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly version: string;
  /**
   * The transport of every request when `--proxy` is given (that proxy; `NO_PROXY` still applies); else
   * undefined, and the credential reads `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` from `env`.
   */
  readonly transport?: HttpTransport | undefined;
  /** What the entry's fast path already parsed and read for this `token` or `id-token` run. */
  readonly warm?: WarmStart | undefined;
}

/** A command: parses its own flags (`args` has the command name removed) and returns the exit code. */
export type CommandRun = (args: readonly string[], context: CommandContext) => Promise<number>;
