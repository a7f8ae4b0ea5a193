/**
 * Property-based tests of the file and URL subject token parsers (text and JSON formats): whatever the file
 * or the response holds, the answer is a token fit to send (trimmed, not empty, no control characters) or a
 * `WifError`; never a crash, never the body quoted in a message. Bounded by run count and time.
 */
import { isWifError, SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import type { HttpTransport } from "@wifkit/http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzBudget } from "../../../../tooling/fuzz-budget.js";
import { fromFile } from "./file.js";
import type { TokenFormat } from "./format.js";
import { fromUrl } from "./url.js";

const BUDGET = fuzzBudget(300, 1_500);
// biome-ignore lint/suspicious/noControlCharactersInRegex: what a token must not hold
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const format: fc.Arbitrary<TokenFormat> = fc.oneof(
  fc.constant({ type: "text" as const }),
  fc.record({
    type: fc.constant("json" as const),
    subjectTokenFieldName: fc.constantFrom(
      "id_token",
      "access_token",
      "value",
      "__proto__",
      "constructor",
      "",
    ),
  }),
);

/** Bodies: random text, JSON of any shape, and JSON that has the field with a random value. */
const body = fc.oneof(
  fc.string({ unit: "binary", maxLength: 500 }),
  fc.json(),
  fc
    .tuple(
      fc.constantFrom("id_token", "access_token", "value"),
      fc.oneof(fc.string({ unit: "binary" }), fc.jsonValue()),
    )
    .map(([field, value]) => JSON.stringify({ [field]: value, expires_in: 3600 })),
  fc.string({ unit: "binary", maxLength: 200 }).map((text) => `\uFEFF${text}`),
);

function expectTokenOrWifError(result: { token: string } | unknown, raw: string): void {
  if (result instanceof Error) {
    expect(isWifError(result), String(result)).toBe(true);
    if (raw.trim().length > 24) expect(result.message).not.toContain(raw.trim());
    return;
  }
  const { token } = result as { token: string };
  expect(typeof token).toBe("string");
  expect(token).toBe(token.trim());
  expect(token).not.toBe("");
  expect(token).not.toMatch(CONTROL);
}

describe("subject token parsers, fuzzed", () => {
  it("fromFile answers a token fit to send or a WifError", async () => {
    await fc.assert(
      fc.asyncProperty(body, format, async (content, tokenFormat) => {
        const supplier = fromFile({
          path: "/run/fuzz-token",
          format: tokenFormat,
          readFile: async () => Buffer.from(content, "utf8"),
        });
        expectTokenOrWifError(await supplier().catch((error: unknown) => error), content);
      }),
      BUDGET,
    );
  });

  it("fromUrl answers a token fit to send or a WifError, whatever the status and body", async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        format,
        fc.constantFrom(200, 201, 204, 301, 400, 401, 404, 500),
        async (content, tokenFormat, status) => {
          const transport: HttpTransport = async () => ({
            status,
            headers: { "content-type": "application/json" },
            body: Buffer.from(content, "utf8"),
          });
          const supplier = fromUrl({
            url: "http://127.0.0.1:1/token",
            format: tokenFormat,
            type: SUBJECT_TOKEN_TYPES.jwt,
            retry: false,
            transport,
          });
          expectTokenOrWifError(await supplier().catch((error: unknown) => error), content);
        },
      ),
      BUDGET,
    );
  });
});
