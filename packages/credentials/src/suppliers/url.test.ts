import { SUBJECT_TOKEN_TYPES, WifError } from "@wifkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fakeJwt, sendJson, serve } from "../../test/helpers.js";
import { fromUrl } from "./url.js";

afterEach(cleanup);

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe("fromUrl", () => {
  it("GETs the URL with the configured headers on every call and takes a JSON field", async () => {
    let current = fakeJwt({ sub: "one" });
    const server = await serve((_req, res) =>
      sendJson(res, 200, { access_token: current, expires_in: "3599" }),
    );
    const supplier = fromUrl({
      url: `${server.origin}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://x`,
      headers: { Metadata: "True" },
      format: { type: "json", subjectTokenFieldName: "access_token" },
    });
    await expect(supplier()).resolves.toEqual({ token: current, type: SUBJECT_TOKEN_TYPES.jwt });
    current = fakeJwt({ sub: "two" });
    await expect(supplier()).resolves.toMatchObject({ token: current });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]).toMatchObject({
      method: "GET",
      path: "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://x",
    });
    expect(server.requests[0]?.headers.metadata).toBe("True");
  });

  it("takes a text body as the token", async () => {
    const token = fakeJwt();
    const server = await serve((_req, res) => res.end(`${token}\n`));
    await expect(
      fromUrl({ url: `${server.origin}/token`, type: SUBJECT_TOKEN_TYPES.idToken })(),
    ).resolves.toEqual({
      token,
      type: SUBJECT_TOKEN_TYPES.idToken,
    });
  });

  it("retries 503 and succeeds", async () => {
    const server = await serve((_req, res, hit) => {
      if (hit === 1) {
        res.statusCode = 503;
        res.end();
      } else res.end("the-token");
    });
    await expect(fromUrl({ url: `${server.origin}/token`, retry: fast })()).resolves.toMatchObject({
      token: "the-token",
    });
    expect(server.requests).toHaveLength(2);
  });

  it("reports a 4xx with its status and upstream error, without retrying or quoting the URL's query", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 400, {
        error: "invalid_resource",
        error_description: "AADSTS500011: resource not found",
      }),
    );
    const error = await fromUrl({ url: `${server.origin}/token?resource=secret-query`, retry: fast })().catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WifError);
    expect(error).toMatchObject({
      code: "ERR_WIF_SUBJECT_TOKEN_URL_FAILED",
      status: 400,
      upstreamError: "invalid_resource",
      upstreamDescription: "AADSTS500011: resource not found",
      url: `${server.origin}/token`,
    });
    expect((error as Error).message).toContain("HTTP 400 (invalid_resource)");
    expect((error as Error).message).not.toContain("secret-query");
    expect(server.requests).toHaveLength(1);
  });

  it("refuses a body over the cap", async () => {
    const server = await serve((_req, res) => res.end("x".repeat(2048)));
    const error = await fromUrl({ url: `${server.origin}/token`, maxResponseBytes: 1024 })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_RESPONSE_TOO_LARGE" });
  });

  it("refuses a body over 1 MiB by default", async () => {
    const server = await serve((_req, res) => res.end("x".repeat(1024 * 1024 + 1)));
    const error = await fromUrl({ url: `${server.origin}/token` })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_RESPONSE_TOO_LARGE" });
  });

  it("times out a server that never answers", async () => {
    const server = await serve(() => {
      /* hangs */
    });
    const error = await fromUrl({ url: `${server.origin}/token`, timeoutMs: 100, retry: false })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
  });

  it("names a missing JSON field", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { token: "x" }));
    const error = await fromUrl({
      url: `${server.origin}/token`,
      format: { type: "json", subjectTokenFieldName: "access_token" },
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_SUBJECT_TOKEN_FIELD_MISSING" });
    expect((error as Error).message).toContain(`the response of ${server.origin}/token`);
  });

  it("stops when the caller aborts", async () => {
    const server = await serve(() => {
      /* hangs */
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const error = await fromUrl({ url: `${server.origin}/token` })({ signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_ABORTED" });
  });
});
