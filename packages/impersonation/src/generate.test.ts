import type { ServerResponse } from "node:http";
import { inspect } from "node:util";
import type { HttpTransport, TransportRequest } from "@wifkit/http";
import { describe, expect, it } from "vitest";
import { sendJson, serverPerTest, type TestServer } from "../../../tooling/test-server.js";
import { ImpersonationError } from "./errors.js";
import {
  type GenerateAccessTokenInit,
  type GenerateIdTokenInit,
  generateAccessToken,
  generateIdToken,
  MAX_ID_TOKEN_LIFETIME_SECONDS,
} from "./generate.js";

const SA = "reader@wifkit-test.iam.gserviceaccount.com";
const BEARER = "ya29.federated-bearer-token-abcdef";
const SCOPES = ["https://www.googleapis.com/auth/cloud-platform"];
const PRINCIPAL =
  "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/subject/workload-1";
const fast = { baseDelayMs: 1, maxDelayMs: 5 };
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;
/** The time on this machine; IAM's own time goes in the `Date` header of `ok()`. */
const clockAt = (ms: number) => ({ now: () => ms });

/** A 200 with IAM's `Date` header (the time on Google's side), or none when `serverMs` is null. */
function ok(res: ServerResponse, body: unknown, serverMs: number | null = NOW): void {
  if (serverMs === null) res.sendDate = false;
  sendJson(res, 200, body, serverMs === null ? {} : { date: new Date(serverMs).toUTCString() });
}

const iam = serverPerTest();

const accessInit = (
  baseUrl: string,
  extra: Partial<GenerateAccessTokenInit> = {},
): GenerateAccessTokenInit => ({
  serviceAccount: SA,
  bearer: BEARER,
  scopes: SCOPES,
  baseUrl,
  clock: clockAt(NOW),
  ...extra,
});

const idInit = (baseUrl: string, extra: Partial<GenerateIdTokenInit> = {}): GenerateIdTokenInit => ({
  serviceAccount: SA,
  bearer: BEARER,
  audience: "https://service.example.run.app",
  baseUrl,
  clock: clockAt(NOW),
  ...extra,
});

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.${Buffer.from("signature").toString("base64url")}`;
}

function googleError(code: number, status: string, message: string, permission?: string) {
  return {
    error: {
      code,
      message,
      status,
      details: permission
        ? [
            {
              "@type": "type.googleapis.com/google.rpc.ErrorInfo",
              reason: "IAM_PERMISSION_DENIED",
              domain: "iam.googleapis.com",
              metadata: { permission },
            },
          ]
        : [],
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<ImpersonationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as ImpersonationError;
}

describe("generateAccessToken", () => {
  it("POSTs scope and lifetime with the STS token as bearer and returns the token and expiry", async () => {
    const server = await iam((_req, res) =>
      ok(res, { accessToken: "ya29.service-account", expireTime: "2030-01-01T13:00:00Z" }),
    );
    const result = await generateAccessToken(
      accessInit(server.origin, { headers: { "X-Goog-Api-Client": "m" } }),
    );
    expect(result).toEqual({
      accessToken: "ya29.service-account",
      expiresAt: new Date("2030-01-01T13:00:00Z"),
    });
    const request = server.requests[0];
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe(`/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`);
    expect(request?.headers.authorization).toBe(`Bearer ${BEARER}`);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["x-goog-api-client"]).toBe("m");
    expect(JSON.parse(request?.body ?? "")).toEqual({ scope: SCOPES, lifetime: "3600s" });
  });

  it("sends the requested lifetime and delegates in resource-name form", async () => {
    const server = await iam((_req, res) =>
      ok(res, { accessToken: "ya29.x", expireTime: "2030-01-01T12:09:59.123456Z" }),
    );
    const result = await generateAccessToken(
      accessInit(server.origin, {
        lifetimeSeconds: 600,
        delegates: [
          "first@p.iam.gserviceaccount.com",
          "projects/-/serviceAccounts/second@p.iam.gserviceaccount.com",
        ],
      }),
    );
    expect(result.expiresAt).toEqual(new Date("2030-01-01T12:09:59.123Z"));
    expect(JSON.parse(server.requests[0]?.body ?? "")).toEqual({
      scope: SCOPES,
      lifetime: "600s",
      delegates: [
        "projects/-/serviceAccounts/first@p.iam.gserviceaccount.com",
        "projects/-/serviceAccounts/second@p.iam.gserviceaccount.com",
      ],
    });
  });

  it("goes to iamcredentials.{universeDomain} when no baseUrl is given", async () => {
    const seen: TransportRequest[] = [];
    const transport: HttpTransport = async (request) => {
      seen.push(request);
      return {
        status: 200,
        headers: {},
        body: Buffer.from(JSON.stringify({ accessToken: "t", expireTime: "2030-01-01T00:00:00Z" })),
      };
    };
    await generateAccessToken({ serviceAccount: SA, bearer: BEARER, scopes: SCOPES, transport });
    await generateAccessToken({
      serviceAccount: SA,
      bearer: BEARER,
      scopes: SCOPES,
      universeDomain: "sovereign.example",
      transport,
    });
    expect(seen.map((r) => r.url.href)).toEqual([
      `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      `https://iamcredentials.sovereign.example/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
    ]);
  });

  it.each([
    ["no accessToken", { expireTime: "2030-01-01T00:00:00Z" }],
    ["no expireTime", { accessToken: "ya29.leaky-token" }],
    ["an expireTime that is not RFC 3339", { accessToken: "ya29.leaky-token", expireTime: "tomorrow" }],
  ])("rejects a success with %s as ERR_WIF_IAM_RESPONSE_INVALID", async (_name, body) => {
    const server = await iam((_req, res) => sendJson(res, 200, body));
    const error = await rejection(generateAccessToken(accessInit(server.origin)));
    expect(error.code).toBe("ERR_WIF_IAM_RESPONSE_INVALID");
    expect(error.message).not.toContain("ya29.leaky-token");
  });

  it("validates every option before sending anything and names it", async () => {
    const server = await iam((_req, res) => sendJson(res, 500, {}));
    const cases: Array<[Partial<GenerateAccessTokenInit>, string]> = [
      [{ serviceAccount: "reader" }, "serviceAccount"],
      [{ serviceAccount: "reader@" }, "serviceAccount"],
      [{ serviceAccount: "a/b@p.iam.gserviceaccount.com" }, "serviceAccount"],
      [{ bearer: "" }, "bearer"],
      [{ scopes: [] }, "scopes"],
      [{ scopes: [""] }, "scopes"],
      [{ lifetimeSeconds: 599 }, "lifetimeSeconds"],
      [{ lifetimeSeconds: 43_201 }, "lifetimeSeconds"],
      [{ lifetimeSeconds: 3600.5 }, "lifetimeSeconds"],
      [{ delegates: ["not an email"] }, "delegates[0]"],
      [{ baseUrl: "ftp://iam.example" }, "baseUrl"],
      [{ baseUrl: undefined, universeDomain: "bad domain" }, "universeDomain"],
    ];
    for (const [override, option] of cases) {
      const error = await rejection(generateAccessToken(accessInit(server.origin, override)));
      expect(error.code, option).toBe("ERR_WIF_INVALID_OPTION");
      expect(error.field).toBe(option);
      expect(error.message.startsWith(`Option ${option} `), error.message).toBe(true);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe("generateIdToken", () => {
  it("POSTs audience, includeEmail and delegates and takes the expiry from the JWT's exp", async () => {
    const token = jwt({
      iss: "https://accounts.google.com",
      aud: "https://service.example.run.app",
      iat: NOW / 1000,
      exp: NOW / 1000 + 3600,
    });
    const server = await iam((_req, res) => ok(res, { token }));
    const result = await generateIdToken(
      idInit(server.origin, { includeEmail: true, delegates: ["first@p.iam.gserviceaccount.com"] }),
    );
    expect(result).toEqual({ idToken: token, expiresAt: new Date(NOW + HOUR) });
    const request = server.requests[0];
    expect(request?.path).toBe(`/v1/projects/-/serviceAccounts/${SA}:generateIdToken`);
    expect(request?.headers.authorization).toBe(`Bearer ${BEARER}`);
    expect(JSON.parse(request?.body ?? "")).toEqual({
      audience: "https://service.example.run.app",
      includeEmail: true,
      delegates: ["projects/-/serviceAccounts/first@p.iam.gserviceaccount.com"],
    });
  });

  it("sends includeEmail false by default", async () => {
    const server = await iam((_req, res) => sendJson(res, 200, { token: jwt({ exp: 1_900_000_000 }) }));
    await generateIdToken(idInit(server.origin));
    expect(JSON.parse(server.requests[0]?.body ?? "")).toEqual({
      audience: "https://service.example.run.app",
      includeEmail: false,
    });
  });

  it.each([
    ["a JWT without exp", { token: jwt({ aud: "x" }) }],
    ["a token that is not a JWT", { token: "opaque-token-value" }],
    ["no token", {}],
  ])("rejects %s as ERR_WIF_IAM_RESPONSE_INVALID", async (_name, body) => {
    const server = await iam((_req, res) => sendJson(res, 200, body));
    const error = await rejection(generateIdToken(idInit(server.origin)));
    expect(error.code).toBe("ERR_WIF_IAM_RESPONSE_INVALID");
    expect(error.message).not.toContain("opaque-token-value");
  });

  it("requires an audience", async () => {
    const error = await rejection(generateIdToken(idInit("http://127.0.0.1:9", { audience: "" })));
    expect(error.code).toBe("ERR_WIF_INVALID_OPTION");
    expect(error.field).toBe("audience");
    expect(error.message).toMatch(/^Option audience /);
  });
});

describe("expiry when this machine's clock is off", () => {
  const GOOGLE = NOW;
  const expireTime = new Date(GOOGLE + HOUR).toISOString();
  const access = (server: TestServer, machineMs: number) =>
    generateAccessToken(accessInit(server.origin, { clock: clockAt(machineMs) }));

  it("a clock 2 h behind keeps a 1 h access token 1 h, not 3 h, with or without a Date header", async () => {
    const machine = GOOGLE - 2 * HOUR;
    const withDate = await iam((_req, res) => ok(res, { accessToken: "ya29.x", expireTime }));
    expect((await access(withDate, machine)).expiresAt).toEqual(new Date(machine + HOUR));
    // Without Date, the cap: the start plus the lifetime (and the one second IAM's times may round up).
    const withoutDate = await iam((_req, res) => ok(res, { accessToken: "ya29.x", expireTime }, null));
    expect((await access(withoutDate, machine)).expiresAt).toEqual(new Date(machine + HOUR + 1000));
  });

  it("a clock 2 h ahead still gets a 1 h token when IAM's Date shows the difference", async () => {
    const server = await iam((_req, res) => ok(res, { accessToken: "ya29.x", expireTime }));
    const { expiresAt } = await access(server, GOOGLE + 2 * HOUR);
    expect(expiresAt).toEqual(new Date(GOOGLE + 3 * HOUR));
  });

  it("never keeps a token past the request's start plus the lifetime asked for", async () => {
    const server = await iam((_req, res) =>
      ok(res, { accessToken: "ya29.x", expireTime: new Date(GOOGLE + 12 * HOUR).toISOString() }),
    );
    const { expiresAt } = await access(server, GOOGLE);
    expect(expiresAt).toEqual(new Date(GOOGLE + HOUR + 1000));
  });

  it("moves an ID token's exp onto this clock by Date or by its own iat, capped at one hour", async () => {
    const token = jwt({ iat: GOOGLE / 1000, exp: GOOGLE / 1000 + 3600 });
    for (const serverDate of [GOOGLE, null]) {
      const server = await iam((_req, res) => ok(res, { token }, serverDate));
      for (const machine of [GOOGLE - 2 * HOUR, GOOGLE + 2 * HOUR]) {
        const { expiresAt } = await generateIdToken(idInit(server.origin, { clock: clockAt(machine) }));
        expect(expiresAt).toEqual(new Date(machine + HOUR));
      }
    }
    const long = jwt({ iat: GOOGLE / 1000, exp: GOOGLE / 1000 + 24 * 3600 });
    const server = await iam((_req, res) => ok(res, { token: long }));
    const { expiresAt } = await generateIdToken(idInit(server.origin));
    expect(MAX_ID_TOKEN_LIFETIME_SECONDS).toBe(3600);
    expect(expiresAt).toEqual(new Date(NOW + HOUR + 1000));
  });

  it("refuses an ID token whose exp is not after its iat", async () => {
    const server = await iam((_req, res) =>
      ok(res, { token: jwt({ iat: NOW / 1000, exp: NOW / 1000 - 1 }) }),
    );
    const error = await rejection(generateIdToken(idInit(server.origin)));
    expect(error.code).toBe("ERR_WIF_IAM_RESPONSE_INVALID");
  });
});

describe("IAM responses that are not what IAM sends", () => {
  it.each([
    ["a newline", "ya29.a\nb"],
    ["a terminal escape", "ya29.a\u001b]0;owned\u0007"],
    ["a space", "ya29.a b"],
    ["non-ASCII", "ya29.\u00e9"],
  ])("refuses an accessToken or ID token containing %s, without printing it", async (_name, value) => {
    const server = await iam((req, res) =>
      ok(
        res,
        req.path.endsWith(":generateIdToken")
          ? { token: value }
          : { accessToken: value, expireTime: "2030-01-01T13:00:00Z" },
      ),
    );
    for (const call of [
      generateAccessToken(accessInit(server.origin)),
      generateIdToken(idInit(server.origin)),
    ]) {
      const error = await rejection(call);
      expect(error.code).toBe("ERR_WIF_IAM_RESPONSE_INVALID");
      expect(error.message).toContain("contains characters no Google token has");
      expect(error.message).not.toContain("ya29.");
    }
  });

  it.each([301, 302, 303, 307, 308])(
    "reports a %i as a redirect, naming where to and the URL setting",
    async (status) => {
      const server = await iam((_req, res) => {
        res.writeHead(status, { location: "https://login.corp.example/sso?continue=x&token=y" });
        res.end();
      });
      const error = await rejection(generateAccessToken(accessInit(server.origin, { retry: fast })));
      expect(error.code).toBe("ERR_WIF_IAM_REDIRECTED");
      expect(error.message).toContain(
        `IAM Credentials answered a redirect (HTTP ${status}) to https://login.corp.example/sso; check service_account_impersonation_url`,
      );
      expect(error.message).not.toMatch(/scopes|token=y/);
      expect(server.requests).toHaveLength(1);
    },
  );
});

describe("IAM errors", () => {
  const denied = googleError(
    403,
    "PERMISSION_DENIED",
    "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
    "iam.serviceAccounts.getAccessToken",
  );

  it("names the principal, the role and the service account on a 403", async () => {
    const server = await iam((_req, res) => sendJson(res, 403, denied));
    const error = await rejection(generateAccessToken(accessInit(server.origin, { principal: PRINCIPAL })));
    expect(error).toBeInstanceOf(ImpersonationError);
    expect(error.code).toBe("ERR_WIF_IAM_PERMISSION_DENIED");
    expect(error.status).toBe(403);
    expect(error.upstreamError).toBe("PERMISSION_DENIED");
    expect(error.upstreamDescription).toBe(denied.error.message);
    expect(error.permission).toBe("iam.serviceAccounts.getAccessToken");
    expect(error.reason).toBe("IAM_PERMISSION_DENIED");
    expect(error.message).toContain(
      `${PRINCIPAL} needs roles/iam.workloadIdentityUser on service account ${SA}`,
    );
    expect(error.message).toContain("iam.serviceAccounts.getAccessToken");
    expect(error.message).toContain(`--member="${PRINCIPAL}"`);
    expect(server.requests).toHaveLength(1);
  });

  it("speaks of the federated principal when the caller did not say who it is", async () => {
    const server = await iam((_req, res) =>
      sendJson(
        res,
        403,
        googleError(
          403,
          "PERMISSION_DENIED",
          "Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource.",
        ),
      ),
    );
    const error = await rejection(generateIdToken(idInit(server.origin)));
    expect(error.code).toBe("ERR_WIF_IAM_PERMISSION_DENIED");
    expect(error.permission).toBe("iam.serviceAccounts.getOpenIdToken");
    expect(error.message).toContain("the federated principal");
    expect(error.message).toContain(`roles/iam.workloadIdentityUser on service account ${SA}`);
  });

  it("explains the delegation chain when delegates are used", async () => {
    const server = await iam((_req, res) => sendJson(res, 403, denied));
    const error = await rejection(
      generateAccessToken(accessInit(server.origin, { delegates: ["hop@p.iam.gserviceaccount.com"] })),
    );
    expect(error.message).toContain(
      "roles/iam.workloadIdentityUser on service account hop@p.iam.gserviceaccount.com",
    );
    expect(error.message).toContain(`hop@p.iam.gserviceaccount.com -> ${SA}`);
    expect(error.message).toContain("roles/iam.serviceAccountTokenCreator");
  });

  it.each([
    [
      401,
      "UNAUTHENTICATED",
      "Request had invalid authentication credentials.",
      "ERR_WIF_IAM_UNAUTHENTICATED",
      "federated access token",
    ],
    [404, "NOT_FOUND", "Not found; Gaia id not found for email", "ERR_WIF_IAM_NOT_FOUND", "does not exist"],
    [400, "INVALID_ARGUMENT", "Request contains an invalid argument.", "ERR_WIF_IAM_BAD_REQUEST", "scopes"],
    [429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "ERR_WIF_IAM_THROTTLED", "cache"],
    [
      503,
      "UNAVAILABLE",
      "The service is currently unavailable.",
      "ERR_WIF_IAM_UNAVAILABLE",
      "Try again later",
    ],
  ])("maps HTTP %i %s to its code", async (status, googleStatus, message, code, hint) => {
    const server = await iam((_req, res) =>
      sendJson(res, status, googleError(status, googleStatus, message)),
    );
    const error = await rejection(
      generateAccessToken(accessInit(server.origin, { retry: { ...fast, retries: 1 } })),
    );
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.upstreamError).toBe(googleStatus);
    expect(error.upstreamDescription).toBe(message);
    expect(error.message).toContain(hint);
    expect(server.requests).toHaveLength(status >= 429 ? 2 : 1);
  });

  it("points at the org policy when a lifetime over an hour is refused", async () => {
    const server = await iam((_req, res) =>
      sendJson(
        res,
        400,
        googleError(
          400,
          "INVALID_ARGUMENT",
          "The lifetime requested exceeds the maximum allowed of 3600 seconds.",
        ),
      ),
    );
    const error = await rejection(generateAccessToken(accessInit(server.origin, { lifetimeSeconds: 7200 })));
    expect(error.code).toBe("ERR_WIF_IAM_BAD_REQUEST");
    expect(error.message).toContain("constraints/iam.allowServiceAccountCredentialLifetimeExtension");
  });

  it("never puts the bearer token in a message, even when IAM echoes it", async () => {
    const server = await iam((req, res) =>
      sendJson(res, 403, googleError(403, "PERMISSION_DENIED", `Denied for ${req.headers.authorization}`)),
    );
    const error = await rejection(generateAccessToken(accessInit(server.origin)));
    for (const surface of [error.message, String(error.stack), JSON.stringify({ ...error })]) {
      expect(surface).not.toContain(BEARER);
    }
    const foreign = await iam((_req, res) =>
      sendJson(res, 400, googleError(400, "INVALID_ARGUMENT", "token ya29.c.someone-elses-token is bad")),
    );
    const echoed = await rejection(generateAccessToken(accessInit(foreign.origin)));
    expect(echoed.message).toContain("token [redacted] is bad");
    const detailed = await iam((req, res) =>
      sendJson(res, 403, {
        error: {
          code: 403,
          status: "PERMISSION_DENIED",
          message: "denied",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.ErrorInfo",
              reason: `R ${req.headers.authorization}`,
              metadata: { permission: `${BEARER}` },
            },
          ],
        },
      }),
    );
    const inDetails = await rejection(generateAccessToken(accessInit(detailed.origin)));
    expect(inspect(inDetails)).not.toContain(BEARER);
    expect(inDetails.reason).toBe("R Bearer [redacted]");
    const hang = await iam(() => undefined);
    const timeout = await rejection(generateIdToken(idInit(hang.origin, { timeoutMs: 100, retry: false })));
    expect(timeout.message).not.toContain(BEARER);
  });
});

describe("IAM retries", () => {
  it("retries a 503 and a 429 with Retry-After, then succeeds", async () => {
    const server = await iam((_req, res, hit) => {
      if (hit === 1) sendJson(res, 503, googleError(503, "UNAVAILABLE", "unavailable"));
      else if (hit === 2)
        sendJson(res, 429, googleError(429, "RESOURCE_EXHAUSTED", "slow down"), { "retry-after": "1" });
      else sendJson(res, 200, { accessToken: "ya29.after-retries", expireTime: "2030-01-01T13:00:00Z" });
    });
    const result = await generateAccessToken(accessInit(server.origin, { retry: fast }));
    expect(result.accessToken).toBe("ya29.after-retries");
    expect(server.requests).toHaveLength(3);
    const [, second, third] = server.requests;
    expect((third?.receivedAt ?? 0) - (second?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("never retries a 400 or a 403", async () => {
    for (const [status, googleStatus] of [
      [400, "INVALID_ARGUMENT"],
      [403, "PERMISSION_DENIED"],
    ] as const) {
      const server = await iam((_req, res) => sendJson(res, status, googleError(status, googleStatus, "no")));
      await rejection(
        generateAccessToken(accessInit(server.origin, { retry: { ...fast, retryOnStatus: () => true } })),
      );
      expect(server.requests).toHaveLength(1);
    }
  });

  it("times out a hanging IAM Credentials", async () => {
    const server = await iam(() => undefined);
    const error = await rejection(
      generateAccessToken(accessInit(server.origin, { timeoutMs: 150, retry: { ...fast, retries: 1 } })),
    );
    expect(error.code).toBe("ERR_WIF_TIMEOUT");
    expect(error.message).toContain("IAM Credentials generateAccessToken");
    expect(server.requests).toHaveLength(2);
  });
});
