import { inspect } from "node:util";

/**
 * The forms in which a server may quote back a value it received, for tests that check a secret never
 * survives into an error: as sent, URL- or form-encoded (once or twice, either hex case), inside a JSON string.
 * Shared by the packages' tests (imported by relative path; it is not published).
 */
export function quotedForms(value: string): Record<string, string> {
  const form = (v: string) => new URLSearchParams({ v }).toString().slice(2);
  return {
    raw: value,
    uri: encodeURIComponent(value),
    "uri, lower-case hex": encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    form: form(value),
    "form of uri": form(encodeURIComponent(value)),
    json: JSON.stringify(value).slice(1, -1),
    "json, escaped slashes": JSON.stringify(value).slice(1, -1).replace(/\//g, "\\/"),
  };
}

/** Everything a caller might print or log of an error: message, fields, String(), inspect() with the cause chain, JSON. */
export function printable(error: unknown): string {
  return [String(error), inspect(error, { depth: 10 }), JSON.stringify(error)].join("\n");
}
