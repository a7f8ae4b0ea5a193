import type { HttpTransport, TransportRequest } from "@wifkit/http";
import { describe, expect, it } from "vitest";
import { sendJson, serverPerTest, type startServer, type TestServer } from "../../../tooling/test-server.js";
import { StsError } from "./errors.js";
import {
  DEFAULT_MTLS_TOKEN_URL,
  DEFAULT_SCOPES,
  type ExchangeTokenInit,
  exchangeToken,
  TOKEN_EXCHANGE_GRANT_TYPE,
} from "./exchange.js";
import { introspectToken } from "./introspect.js";
import { DEFAULT_EXPIRES_IN_SECONDS, MAX_EXPIRES_IN_SECONDS } from "./request.js";

const AUDIENCE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/providers/oidc";
const SUBJECT_TOKEN =
  "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZC0xIiwiaXNzIjoiaHR0cHM6Ly9pc3N1ZXIifQ.c2lnbmF0dXJlLXNlY3JldA";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const clock = { now: () => NOW };
const fast = { baseDelayMs: 1, maxDelayMs: 5 };

const serve = serverPerTest();

async function sts(handler: Parameters<typeof startServer>[0]): Promise<TestServer & { tokenUrl: string }> {
  const server = await serve(handler);
  return Object.assign(server, { tokenUrl: `${server.origin}/v1/token` });
}

const success = {
  access_token: "ya29.federated-access-token",
  issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
  token_type: "Bearer",
  expires_in: 3599,
};

function baseInit(tokenUrl: string, extra: Partial<ExchangeTokenInit> = {}): ExchangeTokenInit {
  return {
    tokenUrl,
    audience: AUDIENCE,
    subjectToken: SUBJECT_TOKEN,
    subjectTokenType: JWT_TYPE,
    clock,
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<StsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as StsError;
}

describe("exchangeToken wire format", () => {
  it("POSTs exactly the RFC 8693 form Google STS expects and returns the parsed token", async () => {
    const server = await sts((_req, res) => sendJson(res, 200, success));
    const result = await exchangeToken(
      baseInit(server.tokenUrl, {
        headers: { "X-Goog-Api-Client": "gl-node/20 auth/1 google-byoid-sdk source/file" },
      }),
    );

    expect(result).toEqual({
      accessToken: "ya29.federated-access-token",
      issuedTokenType: "urn:ietf:params:oauth:token-type:access_token",
      tokenType: "Bearer",
      expiresIn: 3599,
      expiresAt: new Date(NOW + 3_599_000),
    });
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/v1/token");
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(request?.headers.accept).toBe("application/json");
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.headers["x-goog-api-client"]).toBe("gl-node/20 auth/1 google-byoid-sdk source/file");
    const form = new URLSearchParams(request?.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      audience: AUDIENCE,
      scope: DEFAULT_SCOPES[0],
      requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
      subject_token: SUBJECT_TOKEN,
      subject_token_type: JWT_TYPE,
    });
    expect([...form.keys()]).toHaveLength(6);
  });

  it("joins scopes with spaces and sends options.userProject for workforce pools without client auth", async () => {
    const server = await sts((_req, res) => sendJson(res, 200, success));
    await exchangeToken(
      baseInit(server.tokenUrl, {
        scopes: ["https://www.googleapis.com/auth/devstorage.read_only", "openid"],
        userProject: "billing-project",
      }),
    );
    const form = new URLSearchParams(server.requests[0]?.body);
    expect(form.get("scope")).toBe("https://www.googleapis.com/auth/devstorage.read_only openid");
    expect(JSON.parse(form.get("options") ?? "null")).toEqual({ userProject: "billing-project" });
  });

  it("authenticates the client with HTTP Basic and then leaves userProject out", async () => {
    const server = await sts((_req, res) => sendJson(res, 200, success));
    await exchangeToken(
      baseInit(server.tokenUrl, {
        clientAuth: { clientId: "client-id", clientSecret: "client-secret" },
        userProject: "billing-project",
      }),
    );
    const request = server.requests[0];
    expect(request?.headers.authorization).toBe(
      `Basic ${Buffer.from("client-id:client-secret").toString("base64")}`,
    );
    const form = new URLSearchParams(request?.body);
    expect(form.has("options")).toBe(false);
    expect(form.has("client_secret")).toBe(false);
  });

  it("cannot have the content type or client authentication overridden by extra headers", async () => {
    const server = await sts((_req, res) => sendJson(res, 200, success));
    await exchangeToken(
      baseInit(server.tokenUrl, {
        headers: { "Content-Type": "application/json", Authorization: "Bearer nope" },
        clientAuth: { clientId: "id", clientSecret: "secret" },
      }),
    );
    const request = server.requests[0];
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from("id:secret").toString("base64")}`);
  });

  it("accepts expires_in as a string", async () => {
    const server = await sts((_req, res) => sendJson(res, 200, { ...success, expires_in: "1800" }));
    const result = await exchangeToken(baseInit(server.tokenUrl));
    expect(result.expiresIn).toBe(1800);
    expect(result.expiresAt).toEqual(new Date(NOW + 1_800_000));
  });

  it("treats a missing expires_in as a short documented lifetime, never as no expiry", async () => {
    const { expires_in: _omitted, ...withoutExpiry } = success;
    const server = await sts((_req, res) => sendJson(res, 200, withoutExpiry));
    const result = await exchangeToken(baseInit(server.tokenUrl));
    expect(DEFAULT_EXPIRES_IN_SECONDS).toBeLessThanOrEqual(600);
    expect(result.expiresIn).toBe(DEFAULT_EXPIRES_IN_SECONDS);
    expect(result.expiresAt).toEqual(new Date(NOW + DEFAULT_EXPIRES_IN_SECONDS * 1000));
  });

  it.each([
    ["a non-numeric expires_in", { ...success, expires_in: "never" }],
    ["a negative expires_in", { ...success, expires_in: -5 }],
    ["a zero expires_in", { ...success, expires_in: 0 }],
    ["an object expires_in", { ...success, expires_in: { seconds: 3600 } }],
    ["an exponent string expires_in", { ...success, expires_in: "1e9" }],
    ["no access_token", { ...success, access_token: undefined }],
    ["an array body", [success]],
  ])("rejects a success with %s as ERR_WIF_STS_RESPONSE_INVALID", async (_name, body) => {
    const server = await sts((_req, res) => sendJson(res, 200, body));
    const error = await rejection(exchangeToken(baseInit(server.tokenUrl)));
    expect(error).toBeInstanceOf(StsError);
    expect(error.code).toBe("ERR_WIF_STS_RESPONSE_INVALID");
    expect(error.message).not.toContain("ya29.federated-access-token");
  });

  it("caps an implausible expires_in at MAX_EXPIRES_IN_SECONDS (12 h) instead of caching for decades", async () => {
    const server = await sts((_req, res) => sendJson(res, 200, { ...success, expires_in: 1e9 }));
    const result = await exchangeToken(baseInit(server.tokenUrl));
    expect(MAX_EXPIRES_IN_SECONDS).toBe(12 * 3600);
    expect(result.expiresIn).toBe(MAX_EXPIRES_IN_SECONDS);
    expect(result.expiresAt).toEqual(new Date(NOW + MAX_EXPIRES_IN_SECONDS * 1000));
  });

  it.each([
    ["a newline", "ya29.first\nSet-Cookie: x=1"],
    ["a terminal escape", "ya29.a\u001b[2Jb"],
    ["a space", "ya29.a b"],
    ["non-ASCII", "ya29.caf\u00e9"],
  ])("refuses an access_token containing %s, without printing it", async (_name, token) => {
    const server = await sts((_req, res) => sendJson(res, 200, { ...success, access_token: token }));
    const error = await rejection(exchangeToken(baseInit(server.tokenUrl)));
    expect(error.code).toBe("ERR_WIF_STS_RESPONSE_INVALID");
    expect(error.message).toContain("access_token contains characters no Google token has");
    expect(error.message).not.toContain("ya29.");
  });

  it("refuses a token_type or issued_token_type with control characters", async () => {
    for (const field of ["token_type", "issued_token_type"]) {
      const server = await sts((_req, res) => sendJson(res, 200, { ...success, [field]: "Bearer\r\nX: y" }));
      const error = await rejection(exchangeToken(baseInit(server.tokenUrl)));
      expect(error.code).toBe("ERR_WIF_STS_RESPONSE_INVALID");
      expect(error.message).toContain(field);
    }
  });

  it("uses the mTLS endpoint and hands the client certificate to the transport when tls is given", async () => {
    const seen: TransportRequest[] = [];
    const transport: HttpTransport = async (request) => {
      seen.push(request);
      return { status: 200, headers: {}, body: Buffer.from(JSON.stringify(success)) };
    };
    const tls = { cert: "-----BEGIN CERTIFICATE-----", key: "-----BEGIN PRIVATE KEY-----" };
    await exchangeToken({
      audience: AUDIENCE,
      subjectToken: '["MIIB"]',
      subjectTokenType: "urn:ietf:params:oauth:token-type:mtls",
      tls,
      transport,
    });
    expect(seen[0]?.url.href).toBe(DEFAULT_MTLS_TOKEN_URL);
    expect(seen[0]?.tls).toBe(tls);
  });

  it("validates options before sending anything and names the option", async () => {
    const server = await sts((_req, res) => sendJson(res, 200, success));
    const cases: Array<[Partial<ExchangeTokenInit>, string]> = [
      [{ audience: "" }, "audience"],
      [{ subjectToken: "" }, "subjectToken"],
      [{ scopes: [] }, "scopes"],
      [{ tokenUrl: "ftp://sts.example/v1/token" }, "tokenUrl"],
      [{ tokenUrl: "not a url" }, "tokenUrl"],
      [{ clientAuth: { clientId: "id", clientSecret: "" } }, "clientAuth.clientSecret"],
    ];
    for (const [override, option] of cases) {
      const error = await rejection(exchangeToken(baseInit(server.tokenUrl, override)));
      expect(error.code).toBe("ERR_WIF_INVALID_OPTION");
      expect(error.field).toBe(option);
      expect(error.message.startsWith(`Option ${option} `), error.message).toBe(true);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe("exchangeToken errors", () => {
  const cases = [
    {
      name: "unauthorized_client (attribute condition)",
      status: 400,
      body: {
        error: "unauthorized_client",
        error_description: "The given credential is rejected by the attribute condition.",
      },
      code: "ERR_WIF_STS_REJECTED_BY_CONDITION",
      hint: "attribute condition",
    },
    {
      name: "invalid_grant (issuer)",
      status: 400,
      body: {
        error: "invalid_grant",
        error_description: "Error connecting to the given credential's issuer.",
      },
      code: "ERR_WIF_STS_INVALID_SUBJECT_TOKEN",
      hint: "issuer URI",
    },
    {
      name: "invalid_request (audience)",
      status: 400,
      body: {
        error: "invalid_request",
        error_description:
          'Invalid value for "audience". This value should be the full resource name of the Identity Provider.',
      },
      code: "ERR_WIF_STS_BAD_REQUEST",
      hint: "full resource name",
    },
    {
      name: "invalid_target",
      status: 400,
      body: {
        error: "invalid_target",
        error_description: 'The target service indicated by the "audience" parameters is invalid.',
      },
      code: "ERR_WIF_STS_BAD_REQUEST",
      hint: "does not exist, is disabled",
    },
    {
      name: "invalid_request (mapped attribute too long)",
      status: 400,
      body: {
        error: "invalid_request",
        error_description: "The size of mapped attribute google.subject exceeds the 127 bytes limit.",
      },
      code: "ERR_WIF_STS_BAD_REQUEST",
      hint: "127 bytes",
    },
    {
      name: "invalid_client",
      status: 401,
      body: { error: "invalid_client", error_description: "The OAuth client was not found." },
      code: "ERR_WIF_STS_INVALID_CLIENT",
      hint: "client_secret",
    },
    {
      name: "429 throttled",
      status: 429,
      body: { error: "rate_limited", error_description: "Quota exceeded." },
      code: "ERR_WIF_STS_THROTTLED",
      hint: "Cache tokens",
    },
    {
      name: "503 unavailable",
      status: 503,
      body: { error: "temporarily_unavailable", error_description: "The service is unavailable." },
      code: "ERR_WIF_STS_UNAVAILABLE",
      hint: "unavailable",
    },
  ];

  it.each(cases)("maps $name to $code with the upstream error and what to check", async (c) => {
    const server = await sts((_req, res) => sendJson(res, c.status, c.body));
    const error = await rejection(
      exchangeToken(baseInit(server.tokenUrl, { retry: { ...fast, retries: 1 } })),
    );
    expect(error).toBeInstanceOf(StsError);
    expect(error.code).toBe(c.code);
    expect(error.status).toBe(c.status);
    expect(error.upstreamError).toBe(c.body.error);
    expect(error.upstreamDescription).toBe(c.body.error_description);
    expect(error.url).toBe(server.tokenUrl);
    expect(error.message).toContain(c.hint);
    expect(error.message).toContain(`HTTP ${c.status}`);
    expect(error.message).toContain(server.tokenUrl);
    expect(server.requests).toHaveLength(c.status >= 429 ? 2 : 1);
  });

  it("points AWS callers at the signature and the clock on invalid_grant", async () => {
    const server = await sts((_req, res) =>
      sendJson(res, 400, { error: "invalid_grant", error_description: "AWS request has invalid format." }),
    );
    const error = await rejection(
      exchangeToken(
        baseInit(server.tokenUrl, { subjectTokenType: "urn:ietf:params:aws:token-type:aws4_request" }),
      ),
    );
    expect(error.code).toBe("ERR_WIF_STS_INVALID_SUBJECT_TOKEN");
    expect(error.message).toMatch(/clock/);
    expect(error.message).toMatch(/GetCallerIdentity/);
  });

  it("includes the audience it sent when STS calls it invalid", async () => {
    const server = await sts((_req, res) =>
      sendJson(res, 400, { error: "invalid_request", error_description: 'Invalid value for "audience".' }),
    );
    const error = await rejection(exchangeToken(baseInit(server.tokenUrl, { audience: "my-provider" })));
    expect(error.message).toContain('"my-provider"');
  });

  it.each([301, 302, 303, 307, 308])(
    "reports a %i as a redirect away from STS, naming where to and token_url, not the audience",
    async (status) => {
      const server = await sts((_req, res) => {
        res.writeHead(status, {
          location: "https://login.corp.example/sso/start?continue=https%3A%2F%2Fsts&session=abc",
          "content-type": "text/html",
        });
        res.end("<html>Sign in</html>");
      });
      const error = await rejection(exchangeToken(baseInit(server.tokenUrl, { retry: fast })));
      expect(error.code).toBe("ERR_WIF_STS_REDIRECTED");
      expect(error.status).toBe(status);
      expect(error.message).toContain(
        `STS answered a redirect (HTTP ${status}) to https://login.corp.example/sso/start; check token_url`,
      );
      expect(error.message).not.toMatch(/audience|session=abc/);
      expect(server.requests).toHaveLength(1);
    },
  );

  it("reports a redirect without a Location, and names token_info_url for introspection", async () => {
    const server = await sts((_req, res) => {
      res.writeHead(302);
      res.end();
    });
    const error = await rejection(exchangeToken(baseInit(server.tokenUrl)));
    expect(error.message).toContain("STS answered a redirect (HTTP 302) without a Location; check token_url");
    const introspection = await rejection(
      introspectToken({ tokenInfoUrl: server.tokenUrl, token: "ya29.x" }),
    );
    expect(introspection.code).toBe("ERR_WIF_STS_REDIRECTED");
    expect(introspection.message).toContain("check token_info_url");
  });

  it("maps a non-JSON 502 page by its status", async () => {
    const server = await sts((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>Bad Gateway</html>");
    });
    const error = await rejection(exchangeToken(baseInit(server.tokenUrl, { retry: false })));
    expect(error.code).toBe("ERR_WIF_STS_UNAVAILABLE");
    expect(error.upstreamError).toBeUndefined();
    expect(error.retryable).toBe(true);
  });
});

describe("exchangeToken retries", () => {
  it("retries a 503 and a 429 with Retry-After, waits as told, then succeeds", async () => {
    const server = await sts((_req, res, hit) => {
      if (hit === 1) sendJson(res, 503, { error: "temporarily_unavailable" });
      else if (hit === 2) sendJson(res, 429, { error: "rate_limited" }, { "retry-after": "1" });
      else sendJson(res, 200, success);
    });
    const result = await exchangeToken(baseInit(server.tokenUrl, { retry: fast }));
    expect(result.accessToken).toBe(success.access_token);
    expect(server.requests).toHaveLength(3);
    const [, second, third] = server.requests;
    expect((third?.receivedAt ?? 0) - (second?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
    // Every attempt carried the same form.
    expect(new Set(server.requests.map((r) => r.body)).size).toBe(1);
  });

  it("never retries a 400", async () => {
    const server = await sts((_req, res) => sendJson(res, 400, { error: "invalid_request" }));
    const error = await rejection(exchangeToken(baseInit(server.tokenUrl, { retry: fast })));
    expect(error.code).toBe("ERR_WIF_STS_BAD_REQUEST");
    expect(server.requests).toHaveLength(1);
  });

  it("never retries 401 or 403, even when retryOnStatus asks for it", async () => {
    for (const status of [401, 403]) {
      const server = await sts((_req, res) => sendJson(res, status, { error: "access_denied" }));
      await rejection(
        exchangeToken(baseInit(server.tokenUrl, { retry: { ...fast, retryOnStatus: () => true } })),
      );
      expect(server.requests).toHaveLength(1);
    }
  });

  it("gives up after the configured number of retries with the last status mapped", async () => {
    const server = await sts((_req, res) => sendJson(res, 500, { error: "internal" }));
    const error = await rejection(
      exchangeToken(baseInit(server.tokenUrl, { retry: { ...fast, retries: 2 } })),
    );
    expect(error.code).toBe("ERR_WIF_STS_UNAVAILABLE");
    expect(server.requests).toHaveLength(3);
  });

  it("times out a hanging STS after timeoutMs, per attempt, and reports ERR_WIF_TIMEOUT", async () => {
    const server = await sts(() => {
      // Never answer.
    });
    const error = await rejection(
      exchangeToken(baseInit(server.tokenUrl, { timeoutMs: 150, retry: { ...fast, retries: 1 } })),
    );
    expect(error.code).toBe("ERR_WIF_TIMEOUT");
    expect(error.message).toContain("Google STS token exchange");
    expect(server.requests).toHaveLength(2);
  });

  it("stops when the caller aborts", async () => {
    const server = await sts(() => {
      // Never answer.
    });
    const controller = new AbortController();
    const pending = exchangeToken(baseInit(server.tokenUrl, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(pending);
    expect(error.code).toBe("ERR_WIF_ABORTED");
  });
});
