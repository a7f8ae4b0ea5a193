import { redactSecrets } from "@wifkit/core";
import { UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { upstreamErrorOf } from "./errors.js";
import type { ResponseContext } from "./response.js";
import { parseTokenResponse } from "./response.js";

const NOW = Date.UTC(2030, 0, 1);
const context: ResponseContext = {
  source: "imds",
  operation: "Azure IMDS managed identity token request",
  url: new URL("http://169.254.169.254/metadata/identity/oauth2/token?resource=api://x"),
  resource: "api://x",
  now: NOW,
};
const respond = (body: unknown, status = 200) => ({
  status,
  headers: {},
  body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
});

describe("parseTokenResponse", () => {
  it("reads IMDS's string-typed expires_in relative to the clock", () => {
    const token = parseTokenResponse(
      respond({ access_token: "t", expires_in: "3599", expires_on: "1", token_type: "Bearer" }),
      context,
    );
    expect(token.expiresAt.getTime()).toBe(NOW + 3_599_000);
    expect(token.accessToken).toBe("t");
  });

  it("falls back on expires_on, as epoch seconds (string or number) or as a date", () => {
    expect(
      parseTokenResponse(respond({ access_token: "t", expires_on: "1893459600" }), context).expiresAt,
    ).toEqual(new Date(1_893_459_600_000));
    expect(
      parseTokenResponse(respond({ access_token: "t", expires_on: 1893459600 }), context).expiresAt,
    ).toEqual(new Date(1_893_459_600_000));
    expect(
      parseTokenResponse(respond({ access_token: "t", expires_on: "2030-01-01T01:00:00Z" }), context)
        .expiresAt,
    ).toEqual(new Date(NOW + 3_600_000));
  });

  it("falls back on the JWT's exp claim", () => {
    const jwt = new UnsecuredJWT({ sub: "s" }).setExpirationTime(1_893_459_700).encode();
    expect(parseTokenResponse(respond({ access_token: jwt }), context).expiresAt).toEqual(
      new Date(1_893_459_700_000),
    );
  });

  it("refuses a token whose lifetime cannot be known, and bodies without a token", () => {
    expect(() => parseTokenResponse(respond({ access_token: "opaque" }), context)).toThrow(
      expect.objectContaining({ code: "ERR_WIF_AZURE_RESPONSE_INVALID" }),
    );
    expect(() => parseTokenResponse(respond({ token_type: "Bearer" }), context)).toThrow(
      /without an access_token/,
    );
    expect(() => parseTokenResponse(respond('{"access_token":"secret-value"'), context)).toThrow(/not JSON/);
    try {
      parseTokenResponse(respond('{"access_token":"secret-value"'), context);
    } catch (error) {
      expect(String(error)).not.toContain("secret-value");
      expect((error as Error).cause).toBeUndefined();
    }
  });
});

describe("upstream errors", () => {
  it("reads OAuth, App Service and ARM error shapes", () => {
    expect(upstreamErrorOf({ error: "invalid_resource", error_description: "AADSTS500011: nope" })).toEqual({
      error: "invalid_resource",
      description: "AADSTS500011: nope",
    });
    expect(
      upstreamErrorOf({ statusCode: 400, message: "Unable to load the proper Managed Identity." }),
    ).toEqual({
      description: "Unable to load the proper Managed Identity.",
    });
    expect(upstreamErrorOf({ error: { code: "BadRequest", message: "m" } })).toEqual({
      error: "BadRequest",
      description: "m",
    });
  });

  it("cuts anything shaped like a JWT out of upstream text", () => {
    const jwt = new UnsecuredJWT({ sub: "s" }).encode();
    expect(redactSecrets(`Assertion ${jwt} is expired`)).toBe("Assertion [redacted] is expired");
  });
});
