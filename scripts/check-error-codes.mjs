#!/usr/bin/env node
// Every error code a wifkit package or app can throw is registered once and documented: callers switch on
// codes, so a code nobody can look up is a bug. For each workspace package this checks that
//   - every "ERR_WIF_..." string literal in its sources sits in an exported `*_ERROR_CODES` map (throw sites
//     reference the map, never repeat the string);
//   - every code in its maps is named in its README;
//   - a library exports its maps and a union type of their codes (`...ErrorCode`) from src/index.ts.
// Run by `pnpm lint`; prints each problem with its file and line, and exits 1 if there is any.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const LITERAL = /"(ERR_WIF_[A-Z0-9_]+)"/g;
const MAP_START = /export const ([A-Z][A-Z0-9_]*_ERROR_CODES)\b[^=]*=\s*(?:Object\.freeze\()?\{/g;

function sources(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.ts$/.test(name) && !/\.test\.ts$|test-helpers\.ts$/.test(name) ? [path] : [];
  });
}

/** The character ranges of `*_ERROR_CODES` object literals in `text`, by balanced braces. */
function mapRanges(text) {
  const ranges = [];
  for (const match of text.matchAll(MAP_START)) {
    let depth = 0;
    for (let i = match.index + match[0].length - 1; i < text.length; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}" && --depth === 0) {
        ranges.push({ name: match[1], start: match.index, end: i });
        break;
      }
    }
  }
  return ranges;
}

const lineOf = (text, index) => text.slice(0, index).split("\n").length;
const problems = [];

for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name);
    if (!existsSync(join(dir, "package.json"))) continue;
    const registered = new Set();
    const maps = new Set();
    for (const file of sources(join(dir, "src"))) {
      const text = readFileSync(file, "utf8");
      const ranges = mapRanges(text);
      for (const range of ranges) maps.add(range.name);
      for (const match of text.matchAll(LITERAL)) {
        const inMap = ranges.some((range) => match.index > range.start && match.index < range.end);
        if (inMap) registered.add(match[1]);
        else
          problems.push(
            `${relative(root, file)}:${lineOf(text, match.index)}: ${match[1]} is written inline; register it in this package's *_ERROR_CODES map and throw with the map's entry`,
          );
      }
    }
    const readmePath = join(dir, "README.md");
    const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : "";
    for (const code of registered) {
      if (!readme.includes(code)) {
        problems.push(
          `${relative(root, readmePath)}: ${code} is registered but not documented (add it to "Errors")`,
        );
      }
    }
    const index = join(dir, "src", "index.ts");
    if (group === "packages" && maps.size > 0 && existsSync(index)) {
      const exported = readFileSync(index, "utf8");
      for (const map of maps) {
        if (!exported.includes(map)) problems.push(`${relative(root, index)}: ${map} is not exported`);
      }
      if (!/\b[A-Z][A-Za-z]*ErrorCode\b/.test(exported)) {
        problems.push(
          `${relative(root, index)}: no union type of the codes (e.g. \`export type ...ErrorCode\`) is exported`,
        );
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`${problems.length} error code problem(s):\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("error codes: every code is registered in a *_ERROR_CODES map and documented");
