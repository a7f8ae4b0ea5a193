/**
 * An IAM Credentials that quotes back the bearer token it received, in whatever form, in every place a
 * client reads from an answer: nothing a caller could print or log may carry any form of it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { printable, quotedForms } from "../../../tooling/quoted-forms.js";
import { sendJson, startServer, type TestServer } from "../../../tooling/test-server.js";
import { generateAccessToken, generateIdToken } from "../src/index.js";

// Not shaped like a Google token, so only knowing it (not its shape) can remove it.
const BEARER = "federated/bearer+token=value-0123456789-abcdefghij";
const SA = "reader@wifkit-test.iam.gserviceaccount.com";

type Where = "message" | "status" | "ErrorInfo" | "OAuth shape" | "redirect" | "200 that is not JSON";
let next: { form: string; where: Where } = { form: "raw", where: "message" };
let server: TestServer;

beforeAll(async () => {
  server = await startServer((request, res) => {
    const received = (request.headers.authorization ?? "").replace(/^Bearer /, "");
    const quoted = quotedForms(received)[next.form] ?? "";
    const sentence = `caller ${quoted} may not act as ${SA}`;
    const denied = (error: Record<string, unknown>) => sendJson(res, 403, { error: { code: 403, ...error } });
    switch (next.where) {
      case "message":
        return denied({ status: "PERMISSION_DENIED", message: sentence });
      case "status":
        return denied({ status: sentence, message: "denied" });
      case "ErrorInfo":
        return denied({
          status: "PERMISSION_DENIED",
          message: "denied",
          details: [{ reason: sentence, metadata: { permission: quoted } }],
        });
      case "OAuth shape":
        return sendJson(res, 401, { error: "invalid_token", error_description: sentence });
      case "redirect":
        res.writeHead(302, { location: `https://sso.example/${quoted}?q=${encodeURIComponent(quoted)}` });
        return res.end();
      case "200 that is not JSON":
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(`${quoted} ${sentence}`);
    }
  });
});

afterAll(async () => {
  await server?.close();
});

const WHERE: Where[] = ["message", "status", "ErrorInfo", "OAuth shape", "redirect", "200 that is not JSON"];
const calls = {
  generateAccessToken: () =>
    generateAccessToken({
      serviceAccount: SA,
      bearer: BEARER,
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
      baseUrl: server.origin,
      retry: false,
    }),
  generateIdToken: () =>
    generateIdToken({
      serviceAccount: SA,
      bearer: BEARER,
      audience: "https://service.example.run.app",
      baseUrl: server.origin,
      retry: false,
    }),
};

describe.each(Object.entries(calls))("%s with IAM quoting the bearer token back", (_name, call) => {
  it.each(WHERE)("in its %s: no form of it survives", async (where) => {
    for (const form of Object.keys(quotedForms(""))) {
      next = { form, where };
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `${form}: the call should fail`).toBeInstanceOf(Error);
      const text = printable(error);
      for (const [leakedForm, leaked] of Object.entries(quotedForms(BEARER))) {
        expect(text, `quoted ${form}, found ${leakedForm}`).not.toContain(leaked);
      }
      expect(text, `quoted ${form}, a piece survived`).not.toContain(BEARER.slice(10, 26));
    }
  });
});
