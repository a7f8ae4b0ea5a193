import { describe, expect, it } from "vitest";
import { lineAndColumn, renameFreeIdentifier, splitTopLevel } from "./cel-source.js";

describe("splitTopLevel", () => {
  it("splits only outside brackets, literals and comments", () => {
    expect(splitTopLevel('a,f(b,c),[d,e],{f:g,h:i},\'j,k\',"l\\",m",n', ",")).toEqual([
      "a",
      "f(b,c)",
      "[d,e]",
      "{f:g,h:i}",
      "'j,k'",
      '"l\\",m"',
      "n",
    ]);
    expect(splitTopLevel("x // a, b\n,y", ",")).toEqual(["x // a, b\n", "y"]);
    expect(splitTopLevel("b'a,b',rb\"c,d\",'''e,\nf'''", ",")).toEqual(["b'a,b'", 'rb"c,d"', "'''e,\nf'''"]);
  });

  it("keeps an unterminated literal in one piece for the CEL parser to report", () => {
    expect(splitTopLevel("a,'b,c", ",")).toEqual(["a", "'b,c"]);
  });
});

describe("renameFreeIdentifier", () => {
  it("renames variable references only", () => {
    const renamed = renameFreeIdentifier(
      "google.subject == assertion.google && 'google' in google.groups && googles == google_x",
      "google",
      "g2",
    );
    expect(renamed.source).toBe(
      "g2.subject == assertion.google && 'google' in g2.groups && googles == google_x",
    );
  });

  it("maps positions in the renamed source back to the original", () => {
    const original = "a + google.b + google";
    const renamed = renameFreeIdentifier(original, "google", "longer_name");
    const second = renamed.source.lastIndexOf("longer_name");
    expect(renamed.toOriginal(second)).toBe(original.lastIndexOf("google"));
    expect(renamed.toOriginal(renamed.source.indexOf(".b"))).toBe(original.indexOf(".b"));
    expect(renamed.toOriginal(0)).toBe(0);
  });

  it("reports 1-based lines and columns", () => {
    expect(lineAndColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn("ab", 0)).toEqual({ line: 1, column: 1 });
  });
});
