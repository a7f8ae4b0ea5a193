/**
 * Google's `extract(template)` string function, outside CEL so it can be tested and reused on its own.
 *
 * The template is `prefix{name}suffix`. With neither prefix nor suffix it returns the whole string; with a
 * prefix only, everything after the first occurrence of the prefix; with a suffix only, everything before
 * the first occurrence of the suffix; with both, the text between the first prefix and the first suffix after
 * it. When the prefix or the suffix does not occur, it returns `""`. The placeholder's name is documentation
 * only. Throws `ERR_WIF_INVALID_OPTION` (`field`: `template`) when the template has no `{name}` placeholder or
 * more than one.
 *
 * @example
 * extract("arn:aws:sts::111122223333:assumed-role/ci/i-0abc", "assumed-role/{role}/"); // "ci"
 */
import { invalidOption } from "@wifkit/core";
export function extract(value: string, template: string): string {
  const { prefix, suffix } = parseExtractTemplate(template);
  let start = 0;
  if (prefix !== "") {
    const at = value.indexOf(prefix);
    if (at < 0) return "";
    start = at + prefix.length;
  }
  if (suffix === "") return value.slice(start);
  const end = value.indexOf(suffix, start);
  if (end < 0) return "";
  return value.slice(start, end);
}

/** Splits an `extract()` template into the text before and after its single `{name}` placeholder. */
export function parseExtractTemplate(template: string): { prefix: string; name: string; suffix: string } {
  const open = template.indexOf("{");
  const close = open < 0 ? -1 : template.indexOf("}", open + 1);
  if (open < 0 || close < 0) {
    throw invalidOption(
      "template",
      `of extract(), "${template}", has no {name} placeholder; write it as prefix{name}suffix, for example 'assumed-role/{role}/'.`,
    );
  }
  const suffix = template.slice(close + 1);
  if (suffix.includes("{") && suffix.includes("}")) {
    throw invalidOption(
      "template",
      `of extract(), "${template}", has more than one placeholder; it takes exactly one.`,
    );
  }
  return { prefix: template.slice(0, open), name: template.slice(open + 1, close), suffix };
}
