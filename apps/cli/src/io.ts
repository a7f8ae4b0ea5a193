import type { Env } from "@wifkit/core";
/**
 * Everything `wif` writes: stdout only for tokens and data asked for (`--format json`), stderr for the rest;
 * colour only on a terminal without NO_COLOR; a spinner only on a terminal stderr.
 */

export interface Styles {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export interface Spinner {
  /** Replaces the spinner's text. */
  update(text: string): void;
  /** Removes the spinner line. */
  stop(): void;
}

export interface Io {
  /** Data: tokens, and JSON the user asked for. */
  out(text: string): void;
  /** Everything else: reports, progress, warnings, errors. */
  err(text: string): void;
  readonly styles: Styles;
  /** Whether stderr is a terminal (spinners, carriage returns). */
  readonly interactive: boolean;
  /** A progress line on a terminal stderr for a step that may take seconds; a no-op elsewhere. */
  spinner(text: string): Spinner;
  /** A "✔ text" or "✖ text" line with the fix underneath, as `validate` prints its checks. */
  check(ok: boolean | "warn", text: string, detail?: string): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const SPINNER_INTERVAL_MS = 80;

/** Colour when stderr is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb`. */
export function colourEnabled(stream: { isTTY?: boolean }, env: Env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

function styles(enabled: boolean): Styles {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}

export function createIo(env: Env = process.env): Io {
  const stderr = process.stderr;
  const interactive = stderr.isTTY === true;
  const style = styles(colourEnabled(stderr, env));
  let active: { text: string; frame: number; timer: NodeJS.Timeout } | undefined;

  const clearLine = () => {
    if (active) stderr.write("\r\u001b[2K");
  };
  const drawSpinner = () => {
    if (!active) return;
    stderr.write(`\r\u001b[2K${style.dim(FRAMES[active.frame % FRAMES.length] ?? "-")} ${active.text}`);
  };
  const err = (text: string) => {
    clearLine();
    stderr.write(text);
    drawSpinner();
  };

  return {
    out: (text) => {
      process.stdout.write(text);
    },
    err,
    styles: style,
    interactive,
    spinner(text) {
      if (!interactive) return { update() {}, stop() {} };
      if (active) clearInterval(active.timer);
      const timer = setInterval(() => {
        if (!active) return;
        active.frame += 1;
        drawSpinner();
      }, SPINNER_INTERVAL_MS);
      timer.unref();
      active = { text, frame: 0, timer };
      drawSpinner();
      const mine = active;
      return {
        update(next) {
          if (active !== mine) return;
          mine.text = next;
          drawSpinner();
        },
        stop() {
          if (active !== mine) return;
          clearInterval(mine.timer);
          clearLine();
          active = undefined;
        },
      };
    },
    check(ok, text, detail) {
      const mark = ok === true ? style.green("✔") : ok === "warn" ? style.yellow("!") : style.red("✖");
      const lines = detail ? detail.split("\n").map((line) => `    ${style.dim(line)}`) : [];
      err(`${mark} ${text}\n${lines.map((line) => `${line}\n`).join("")}`);
    },
  };
}
