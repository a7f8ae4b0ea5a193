/**
 * An STS that quotes back what it received, in whatever form: a real server on 127.0.0.1 reads the signed AWS
 * GetCallerIdentity subject token from the form it was sent, takes its secrets apart (session token, SigV4
 * signature, Authorization header, the whole request) and puts each, in each encoding, into every place a
 * client reads from an answer. No form of any of them may survive into anything a caller could print or log.
 */
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { printable, quotedForms } from "../../../tooling/quoted-forms.js";
import { sendJson, startServer, type TestServer } from "../../../tooling/test-server.js";
import { exchangeToken } from "../src/index.js";

const SESSION_TOKEN =
  "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+session/token+with=base64==AbCdEfGhIjKlMnOpQrStUvWxYz";

let emulator: Emulator;
let server: TestServer;
let subjectToken: string;
let audience: string;
/** What the test wants quoted back next: which secret, in which form, where. */
let next: { part: Part; form: string; where: Where } = {
  part: "session token",
  form: "raw",
  where: "description",
};

type Part =
  | "session token"
  | "signature"
  | "Authorization header"
  | "whole request"
  | "subject token as sent";
type Where = "description" | "error" | "Google API error" | "redirect" | "200 that is not JSON";

/** The secrets inside a subject token, taken apart the way an upstream that decoded it would see them. */
function partsOf(token: string): Record<Part, string> {
  const request = JSON.parse(decodeURIComponent(token)) as { headers: Array<{ key: string; value: string }> };
  const header = (name: string) => request.headers.find((h) => h.key === name)?.value ?? "";
  const authorization = header("authorization");
  return {
    "session token": header("x-amz-security-token"),
    signature: /Signature=([0-9a-f]+)/.exec(authorization)?.[1] ?? "",
    "Authorization header": authorization,
    "whole request": decodeURIComponent(token),
    "subject token as sent": token,
  };
}

beforeAll(async () => {
  emulator = await startEmulator();
  audience = emulator.providerAudience("aws-provider");
  subjectToken = emulator.awsSubjectToken({
    credentials: {
      accessKeyId: "ASIAQUOTEDBACKTEST01",
      secretAccessKey: "quoted/back+secret/access/key/0123456789",
      sessionToken: SESSION_TOKEN,
    },
  });
  server = await startServer((request, res) => {
    const received = new URLSearchParams(request.body).get("subject_token") ?? "";
    const quoted = quotedForms(partsOf(received)[next.part])[next.form] ?? "";
    const sentence = `AWS answered 403 for ${quoted} (provider ${audience})`;
    switch (next.where) {
      case "description":
        return sendJson(res, 400, { error: "invalid_grant", error_description: sentence });
      case "error":
        return sendJson(res, 400, { error: sentence });
      case "Google API error":
        return sendJson(res, 400, { error: { code: 400, status: "INVALID_ARGUMENT", message: sentence } });
      case "redirect":
        res.writeHead(302, { location: `https://sso.example/${quoted}?q=${encodeURIComponent(quoted)}` });
        return res.end();
      case "200 that is not JSON":
        res.writeHead(200, { "content-type": "application/json" });
        // A JSON parser's own message quotes the start of what it could not parse.
        return res.end(`${quoted} ${sentence}`);
    }
  });
});

afterAll(async () => {
  await server?.close();
  await emulator?.stop();
});

const PARTS: Part[] = [
  "session token",
  "signature",
  "Authorization header",
  "whole request",
  "subject token as sent",
];
const WHERE: Where[] = ["description", "error", "Google API error", "redirect", "200 that is not JSON"];

describe.each(PARTS)("STS quoting the AWS subject token's %s back", (part) => {
  it.each(WHERE)("in its %s: no form of any secret survives", async (where) => {
    const secrets = partsOf(subjectToken);
    for (const form of Object.keys(quotedForms(""))) {
      next = { part, form, where };
      const error = await exchangeToken({
        tokenUrl: `${server.origin}/v1/token`,
        audience,
        subjectToken,
        subjectTokenType: "urn:ietf:params:aws:token-type:aws4_request",
        retry: false,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `${form}: the call should fail`).toBeInstanceOf(Error);
      const text = printable(error);
      for (const secret of [secrets["session token"], secrets.signature, secrets["Authorization header"]]) {
        for (const [leakedForm, leaked] of Object.entries(quotedForms(secret))) {
          expect(text, `quoted ${form}, found ${leakedForm}`).not.toContain(leaked);
        }
        expect(text, `quoted ${form}, a piece survived`).not.toContain(secret.slice(8, 24));
      }
      // What a person needs to act on stays: the provider it was for (except where the answer had no text).
      if (where !== "redirect" && where !== "200 that is not JSON") expect(text).toContain(audience);
    }
  });
});
