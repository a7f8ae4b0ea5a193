import { describe, expect, it } from "vitest";
import { WifError } from "./errors.js";
import { decodeJwt } from "./jwt.js";

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("decodeJwt", () => {
  it("reads the header and claims without verifying the signature", () => {
    const token = `${encode({ alg: "RS256", kid: "k1" })}.${encode({ sub: "workload", exp: 2000000000 })}.c2ln`;
    expect(decodeJwt(token)).toEqual({
      header: { alg: "RS256", kid: "k1" },
      claims: { sub: "workload", exp: 2000000000 },
    });
  });

  it("says why a text is not a readable JWT, without quoting it", () => {
    const secretPayload = Buffer.from("not json: hunter2").toString("base64url");
    const cases: Array<[string, RegExp]> = [
      ["a.b.c.d.e", /5 dot-separated part/],
      [`${encode({ alg: "none" })}.${secretPayload}.x`, /its payload is not base64url-encoded JSON/],
      [`${encode({ alg: "none" })}.${encode([1, 2])}.x`, /its payload is not a JSON object/],
      [`${secretPayload}.${encode({ sub: "x" })}.x`, /its header is not base64url-encoded JSON/],
    ];
    for (const [token, reason] of cases) {
      const error = (() => {
        try {
          decodeJwt(token);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(WifError);
      expect((error as WifError).code).toBe("ERR_WIF_JWT_INVALID");
      expect((error as WifError).message).toMatch(reason);
      expect((error as WifError).message).not.toContain("hunter2");
    }
  });
});
