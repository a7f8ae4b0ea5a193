import { describe, expect, it } from "vitest";
import { sendJson, serverPerTest } from "../../../tooling/test-server.js";
import { introspectToken } from "./introspect.js";
import { refreshAccessToken } from "./refresh.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const clock = { now: () => NOW };

const serve = serverPerTest();

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

describe("refreshAccessToken", () => {
  it("sends grant_type=refresh_token with HTTP Basic client auth and returns the rotated refresh token", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, {
        access_token: "ya29.workforce",
        token_type: "Bearer",
        expires_in: "3600",
        refresh_token: "rotated-refresh-token",
        scope: "https://www.googleapis.com/auth/cloud-platform",
      }),
    );
    const result = await refreshAccessToken({
      tokenUrl: `${server.origin}/v1/oauthtoken`,
      refreshToken: "old-refresh-token",
      clientId: "workforce-client",
      clientSecret: "workforce-secret",
      clock,
    });
    expect(result).toEqual({
      accessToken: "ya29.workforce",
      tokenType: "Bearer",
      expiresIn: 3600,
      expiresAt: new Date(NOW + 3_600_000),
      refreshToken: "rotated-refresh-token",
      scope: "https://www.googleapis.com/auth/cloud-platform",
    });
    const request = server.requests[0];
    expect(request?.path).toBe("/v1/oauthtoken");
    expect(request?.headers.authorization).toBe(basic("workforce-client", "workforce-secret"));
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      grant_type: "refresh_token",
      refresh_token: "old-refresh-token",
    });
  });

  it("keeps the old refresh token when STS does not return a new one", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, { access_token: "ya29.x", expires_in: 3600 }),
    );
    const result = await refreshAccessToken({
      tokenUrl: `${server.origin}/v1/oauthtoken`,
      refreshToken: "old-refresh-token",
      clientId: "id",
      clientSecret: "secret",
    });
    expect(result.refreshToken).toBe("old-refresh-token");
  });

  it("reports an expired or revoked refresh token as ERR_WIF_STS_INVALID_REFRESH_TOKEN and says to sign in again", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 400, { error: "invalid_grant", error_description: "Token has been expired or revoked." }),
    );
    const error = await refreshAccessToken({
      tokenUrl: `${server.origin}/v1/oauthtoken`,
      refreshToken: "old-refresh-token",
      clientId: "id",
      clientSecret: "secret",
    }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe("ERR_WIF_STS_INVALID_REFRESH_TOKEN");
    expect(error?.message).toContain("gcloud auth login");
    expect(server.requests).toHaveLength(1);
  });
});

describe("introspectToken", () => {
  it("POSTs token=... and reads the RFC 7662 answer", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, {
        active: true,
        scope: "https://www.googleapis.com/auth/cloud-platform",
        client_id: "client",
        username: "principal://iam.googleapis.com/locations/global/workforcePools/p/subject/alice",
        exp: 1_900_000_000,
        iat: 1_899_996_400,
      }),
    );
    const result = await introspectToken({
      tokenInfoUrl: `${server.origin}/v1/introspect`,
      token: "ya29.to-inspect",
      clientAuth: { clientId: "client", clientSecret: "secret" },
    });
    expect(result.active).toBe(true);
    expect(result.scope).toBe("https://www.googleapis.com/auth/cloud-platform");
    expect(result.clientId).toBe("client");
    expect(result.expiresAt).toEqual(new Date(1_900_000_000_000));
    expect(result.issuedAt).toEqual(new Date(1_899_996_400_000));
    const request = server.requests[0];
    expect(request?.path).toBe("/v1/introspect");
    expect(request?.headers.authorization).toBe(basic("client", "secret"));
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({ token: "ya29.to-inspect" });
  });

  it("reports an inactive token as inactive", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { active: false }));
    const result = await introspectToken({
      tokenInfoUrl: `${server.origin}/v1/introspect`,
      token: "ya29.expired",
      tokenTypeHint: "urn:ietf:params:oauth:token-type:access_token",
    });
    expect(result).toEqual({ active: false, claims: { active: false } });
    expect(new URLSearchParams(server.requests[0]?.body).get("token_type_hint")).toBe(
      "urn:ietf:params:oauth:token-type:access_token",
    );
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });
});
