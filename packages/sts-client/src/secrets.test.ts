/**
 * Provokes every error the package can raise, against a server that echoes everything it received (the
 * worst case), and checks that no token or secret reaches a message, a field, or the error's JSON.
 */
import { describe, expect, it } from "vitest";
import { sendJson, serverPerTest, startServer } from "../../../tooling/test-server.js";
import { exchangeToken } from "./exchange.js";
import { introspectToken } from "./introspect.js";
import { refreshAccessToken } from "./refresh.js";

const SUBJECT_TOKEN =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzZWNyZXQtc3ViamVjdCIsImF1ZCI6Imh0dHBzOi8vaWFtIn0.c2lnbmF0dXJlLWJ5dGVzLXRoYXQtYXJlLXNlY3JldA";
const CLIENT_SECRET = "client-secret-value-1234";
const REFRESH_TOKEN = "1//refresh-token-value-5678";
const ACCESS_TOKEN = "ya29.access-token-value-9012";
const SECRETS = [
  SUBJECT_TOKEN,
  ...SUBJECT_TOKEN.split("."),
  CLIENT_SECRET,
  REFRESH_TOKEN,
  ACCESS_TOKEN,
  Buffer.from(`client:${CLIENT_SECRET}`).toString("base64"),
];

const serve = serverPerTest();

type Mode = { status: number; error?: string; hang?: boolean; badSuccess?: boolean };

/** A server that puts the whole request, decoded, into its error description. */
async function echoing(mode: Mode): Promise<string> {
  const server = await serve((req, res) => {
    if (mode.hang) return;
    const echo = `${decodeURIComponent(req.body)} ${req.headers.authorization ?? ""}`;
    if (mode.badSuccess) {
      sendJson(res, 200, { access_token: ACCESS_TOKEN, expires_in: `soon ${echo}` });
      return;
    }
    sendJson(res, mode.status, { error: mode.error ?? "invalid_request", error_description: echo });
  });
  return `${server.origin}/v1/token`;
}

function expectNoSecret(error: unknown): void {
  expect(error).toBeInstanceOf(Error);
  const e = error as Error & Record<string, unknown>;
  const surfaces = [e.message, String(e.stack), JSON.stringify({ ...e }), String(e.upstreamDescription)];
  for (const surface of surfaces) {
    for (const secret of SECRETS) expect(surface).not.toContain(secret);
  }
}

const modes: Array<[string, Mode]> = [
  ["bad request", { status: 400, error: "invalid_request" }],
  ["rejected by condition", { status: 400, error: "unauthorized_client" }],
  ["invalid subject token", { status: 400, error: "invalid_grant" }],
  ["invalid client", { status: 401, error: "invalid_client" }],
  ["throttled", { status: 429 }],
  ["unavailable", { status: 503 }],
  ["malformed success", { status: 200, badSuccess: true }],
  ["timeout", { status: 0, hang: true }],
];

const calls = {
  exchangeToken: (tokenUrl: string) =>
    exchangeToken({
      tokenUrl,
      audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
      subjectToken: SUBJECT_TOKEN,
      subjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
      clientAuth: { clientId: "client", clientSecret: CLIENT_SECRET },
      timeoutMs: 100,
      retry: false,
    }),
  refreshAccessToken: (tokenUrl: string) =>
    refreshAccessToken({
      tokenUrl,
      refreshToken: REFRESH_TOKEN,
      clientId: "client",
      clientSecret: CLIENT_SECRET,
      timeoutMs: 100,
      retry: false,
    }),
  introspectToken: (tokenInfoUrl: string) =>
    introspectToken({
      tokenInfoUrl,
      token: ACCESS_TOKEN,
      clientAuth: { clientId: "client", clientSecret: CLIENT_SECRET },
      timeoutMs: 100,
      retry: false,
    }),
};

describe.each(Object.entries(calls))("%s never leaks a secret", (_name, call) => {
  it.each(modes)("when the failure is: %s", async (_mode, mode) => {
    const url = await echoing(mode);
    const error = await call(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (mode.badSuccess && _name === "introspectToken") {
      // Introspection has no expiry to validate; its answer is returned as is.
      expect(error).toBeUndefined();
      return;
    }
    expectNoSecret(error);
  });

  it("when the connection is refused", async () => {
    const server = await startServer(() => undefined);
    const url = `${server.origin}/v1/token`;
    await server.close();
    expectNoSecret(await call(url).catch((e: unknown) => e));
  });
});

it("never echoes a secret from an invalid option", async () => {
  const error = await exchangeToken({
    tokenUrl: `https://user:${CLIENT_SECRET}@sts.example/v1/token?key=${CLIENT_SECRET} with space`,
    audience: "aud",
    subjectToken: SUBJECT_TOKEN,
    subjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
    scopes: [],
  }).catch((e: unknown) => e);
  expectNoSecret(error);
});

it("redacts token-shaped strings upstream echoes even when this call never sent them", async () => {
  const foreignJwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzb21lb25lLWVsc2UifQ.c29tZW9uZS1lbHNlcw";
  const server = await serve((_req, res) =>
    sendJson(res, 400, {
      error: "invalid_grant",
      error_description: `bad ${foreignJwt} and ya29.a0AfH6SMB-other`,
    }),
  );
  const error = await calls.exchangeToken(`${server.origin}/v1/token`).then(
    () => new Error("resolved"),
    (e: unknown) => e as Error,
  );
  expect(error.message).toContain("bad [redacted] and [redacted]");
  expect(error.message).not.toContain("ya29.a0AfH6SMB-other");
});
