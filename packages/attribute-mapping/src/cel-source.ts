/**
 * Just enough CEL lexing to work on source text without parsing it: skip string literals (quoted, triple
 * quoted, raw and bytes forms) and `//` comments, so that commas, brackets and identifiers inside them are
 * left alone.
 */

const isIdentifierStart = (ch: string | undefined): boolean =>
  ch !== undefined && ((ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z") || ch === "_");
const isIdentifierPart = (ch: string | undefined): boolean =>
  isIdentifierStart(ch) || (ch !== undefined && ch >= "0" && ch <= "9");

/**
 * If a string literal (with an optional `r`/`b` prefix) starts at `start`, returns the index just after it
 * (the end of the source when it is unterminated, which the CEL parser reports later); otherwise -1.
 */
function stringLiteralEnd(source: string, start: number): number {
  if (isIdentifierPart(source[start - 1])) return -1;
  let i = start;
  let raw = false;
  for (let n = 0; n < 2 && /[rRbB]/.test(source[i] ?? ""); n++, i++) {
    if (source[i] === "r" || source[i] === "R") raw = true;
  }
  const quote = source[i];
  if (quote !== '"' && quote !== "'") return -1;
  const triple = source.startsWith(quote.repeat(3), i);
  const closing = triple ? quote.repeat(3) : quote;
  i += closing.length;
  while (i < source.length) {
    if (!raw && source[i] === "\\") {
      i += 2;
      continue;
    }
    if (source.startsWith(closing, i)) return i + closing.length;
    if (!triple && source[i] === "\n") return i;
    i++;
  }
  return source.length;
}

/** If a `//` comment starts at `start`, the index of the end of its line; otherwise -1. */
function commentEnd(source: string, start: number): number {
  if (source[start] !== "/" || source[start + 1] !== "/") return -1;
  const newline = source.indexOf("\n", start);
  return newline < 0 ? source.length : newline;
}

/**
 * Splits `source` at every `separator` character that is outside brackets, parentheses, braces, string
 * literals and comments. Used for the `KEY=EXPR,KEY=EXPR` mapping form, whose expressions may contain commas
 * (`['a', 'b'].join(',')`).
 */
export function splitTopLevel(source: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let partStart = 0;
  let i = 0;
  while (i < source.length) {
    const skipTo = Math.max(stringLiteralEnd(source, i), commentEnd(source, i));
    if (skipTo > i) {
      i = skipTo;
      continue;
    }
    const ch = source[i];
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth = Math.max(0, depth - 1);
    else if (ch === separator && depth === 0) {
      parts.push(source.slice(partStart, i));
      partStart = i + 1;
    }
    i++;
  }
  parts.push(source.slice(partStart));
  return parts;
}

/** The result of {@link renameFreeIdentifier}: the new source and a map back to positions in the original. */
export interface RenamedSource {
  source: string;
  /** Maps an index in the renamed source to the index of the same character in the original source. */
  toOriginal(index: number): number;
}

/**
 * Renames every free occurrence of the identifier `from` (a variable reference, not a field selection such as
 * `x.google` and not text inside a literal) to `to`. cel-js reserves the top-level name `google` for
 * `google.protobuf.*` types, while Google's attribute conditions use `google` as a variable, so conditions are
 * compiled with that variable under another name.
 */
export function renameFreeIdentifier(source: string, from: string, to: string): RenamedSource {
  const renamedAt: number[] = [];
  let out = "";
  let previousSignificant = "";
  let i = 0;
  while (i < source.length) {
    const skipTo = Math.max(stringLiteralEnd(source, i), commentEnd(source, i));
    if (skipTo > i) {
      out += source.slice(i, skipTo);
      if (source[i] !== "/") previousSignificant = '"';
      i = skipTo;
      continue;
    }
    const ch = source[i] ?? "";
    if (isIdentifierPart(ch) && !isIdentifierPart(source[i - 1])) {
      let end = i + 1;
      while (isIdentifierPart(source[end])) end++;
      const word = source.slice(i, end);
      if (word === from && isIdentifierStart(ch) && previousSignificant !== ".") {
        renamedAt.push(out.length);
        out += to;
      } else {
        out += word;
      }
      previousSignificant = word;
      i = end;
      continue;
    }
    if (!/\s/.test(ch)) previousSignificant = ch;
    out += ch;
    i++;
  }
  const delta = to.length - from.length;
  return {
    source: out,
    toOriginal(index: number): number {
      let shift = 0;
      for (const at of renamedAt) {
        if (index >= at + to.length) shift += delta;
        else if (index > at) return at - shift;
      }
      return index - shift;
    },
  };
}

/** 1-based line and column of `index` in `source`, as CEL tools report positions. */
export function lineAndColumn(source: string, index: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(index, source.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}
