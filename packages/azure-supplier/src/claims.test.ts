import { UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { decodeTokenClaims } from "./claims.js";

describe("decodeTokenClaims", () => {
  it("shows the claims a workload identity provider sees in an Entra v1 token", () => {
    const token = new UnsecuredJWT({
      iss: "https://sts.windows.net/tenant-1/",
      sub: "object-1",
      oid: "object-1",
      aud: "api://my-app",
      tid: "tenant-1",
      appid: "client-1",
    })
      .setExpirationTime(2_000_000_000)
      .encode();
    expect(decodeTokenClaims(token)).toMatchObject({
      iss: "https://sts.windows.net/tenant-1/",
      sub: "object-1",
      oid: "object-1",
      aud: "api://my-app",
      tid: "tenant-1",
      appid: "client-1",
      exp: 2_000_000_000,
    });
  });

  it("reads v2 tokens' azp and multi-valued audiences", () => {
    const token = new UnsecuredJWT({ azp: "client-2", aud: ["a", "b"], ver: "2.0" }).encode();
    const claims = decodeTokenClaims(token);
    expect(claims.azp).toBe("client-2");
    expect(claims.aud).toEqual(["a", "b"]);
  });

  it("refuses what is not a JWT without echoing it", () => {
    const secretish = "not-a-jwt-but-maybe-a-secret";
    expect(() => decodeTokenClaims(secretish)).toThrow(
      expect.objectContaining({ code: "ERR_WIF_AZURE_TOKEN_INVALID" }),
    );
    try {
      decodeTokenClaims(`aaa.${Buffer.from("{oops").toString("base64url")}.sig`);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/not base64url-encoded JSON/);
      expect((error as Error).message).not.toContain("oops");
    }
    const array = `x.${Buffer.from("[1,2]").toString("base64url")}.y`;
    expect(() => decodeTokenClaims(array)).toThrow(/not a JSON object/);
    expect(() => decodeTokenClaims("a.b.c.d.e")).toThrow(/5 dot-separated part/);
  });
});
