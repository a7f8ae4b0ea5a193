/**
 * Just enough XML for AWS Query-protocol responses (STS answers with small, flat, namespace-default documents):
 * find an element by its path of tag names and return its decoded text. A full parser would be the only
 * reason to ship an XML dependency, and AWS's documents never use CDATA, comments or prefixes here.
 */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (match, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? match;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The inner XML of the first element named `tag` in `xml`, or undefined. */
function innerXml(xml: string, tag: string): string | undefined {
  const name = escapeRegExp(tag);
  const open = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*?)?(/?)>`).exec(xml);
  if (!open) return undefined;
  if (open[1] === "/") return "";
  const start = open.index + open[0].length;
  const close = new RegExp(`</(?:[\\w.-]+:)?${name}\\s*>`).exec(xml.slice(start));
  return close ? xml.slice(start, start + close.index) : undefined;
}

/**
 * The decoded, trimmed text of the element at `path` (outermost first), or undefined when any step is missing.
 *
 * @example
 * xmlText(body, ["ErrorResponse", "Error", "Code"]) // "InvalidIdentityToken"
 */
export function xmlText(xml: string, path: readonly string[]): string | undefined {
  let scope: string | undefined = xml;
  for (const tag of path) {
    scope = innerXml(scope, tag);
    if (scope === undefined) return undefined;
  }
  return decodeEntities(scope).trim();
}
