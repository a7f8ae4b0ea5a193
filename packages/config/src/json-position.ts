/** Deeper nesting is no credential configuration; the scanner stops there instead of exhausting the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * Finds where a JSON text stops being valid, so a syntax error can name its line and column on every Node
 * version (V8's messages differ between releases, and some quote the text, which may hold a secret).
 * Returns the offset of the first offending character, the text's length when the input ends too early,
 * or -1 when the text is valid JSON. Callers refuse text nested deeper than `MAX_JSON_DEPTH` first
 * (`exceedsJsonDepth`); the scanner stops there too rather than exhaust the stack.
 */
export function findJsonErrorOffset(text: string): number {
  let i = 0;
  let depth = 0;
  class Stop {}
  const fail = (at = i): never => {
    i = at;
    throw new Stop();
  };
  const skipSpace = () => {
    while (i < text.length && " \t\n\r".includes(text.charAt(i))) i++;
  };
  const expect = (char: string) => {
    if (text.charAt(i) !== char) fail();
    i++;
  };
  const readLiteral = (word: string) => {
    for (const char of word) expect(char);
  };
  const readString = () => {
    expect('"');
    while (text.charAt(i) !== '"') {
      if (i >= text.length || text.charCodeAt(i) < 0x20) fail();
      if (text.charAt(i) === "\\") {
        i++;
        if (text.charAt(i) === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(i + 1);
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text.charAt(i)) || i >= text.length) {
          fail();
        }
      }
      i++;
    }
    i++;
  };
  const number = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const readNumber = () => {
    number.lastIndex = i;
    const match = number.exec(text);
    if (!match) fail();
    i += (match as RegExpExecArray)[0].length;
  };
  const readMembers = (close: string, readMember: () => void) => {
    depth += 1;
    if (depth > MAX_JSON_DEPTH) fail();
    i++;
    skipSpace();
    if (text.charAt(i) === close) {
      i++;
      depth -= 1;
      return;
    }
    for (;;) {
      readMember();
      skipSpace();
      if (text.charAt(i) === close) {
        i++;
        depth -= 1;
        return;
      }
      expect(",");
    }
  };
  const readValue = (): void => {
    skipSpace();
    const char = text.charAt(i);
    if (char === "{") {
      readMembers("}", () => {
        skipSpace();
        readString();
        skipSpace();
        expect(":");
        readValue();
      });
    } else if (char === "[") {
      readMembers("]", readValue);
    } else if (char === '"') {
      readString();
    } else if (char === "t") {
      readLiteral("true");
    } else if (char === "f") {
      readLiteral("false");
    } else if (char === "n") {
      readLiteral("null");
    } else {
      readNumber();
    }
  };
  try {
    readValue();
    skipSpace();
    if (i < text.length) fail();
    return -1;
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    return Math.min(i, text.length);
  }
}

/**
 * What JSON.parse lets through but a configuration must not have, found in one linear pass over the text
 * (valid JSON or not): nesting deeper than `MAX_JSON_DEPTH`, or a key given twice in one object (parsers
 * disagree on which one counts, so a reviewer may read one and wifkit use the other). Returns the problem
 * with its JSON path, or undefined.
 */
export function findJsonStructureProblem(text: string): { path: string; message: string } | undefined {
  // One frame per open object or array: its keys so far, and the key whose value is being read.
  const frames: { keys: Set<string> | undefined; key: string | undefined; expectKey: boolean }[] = [];
  const pathTo = (key: string) =>
    [...frames.slice(0, -1).map((frame) => frame.key ?? ""), key].filter(Boolean).join(".");
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      const top = frames.at(-1);
      if (top?.keys && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          return undefined; // not JSON: the parser reports where
        }
        if (top.keys.has(key)) return { path: pathTo(key), message: "appears more than once; keep one" };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
    } else if (code === 0x7b || code === 0x5b) {
      if (frames.length >= MAX_JSON_DEPTH) {
        return {
          path: "",
          message: `nested deeper than ${MAX_JSON_DEPTH} levels, so not a credential configuration`,
        };
      }
      frames.push({ keys: code === 0x7b ? new Set() : undefined, key: undefined, expectKey: code === 0x7b });
    } else if (code === 0x7d || code === 0x5d) {
      frames.pop();
    } else if (code === 0x2c) {
      const top = frames.at(-1);
      if (top?.keys) top.expectKey = true;
    }
  }
  return undefined;
}
