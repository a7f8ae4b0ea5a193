/**
 * What Google's own clients put on the wire, accepted as Google accepts it: Python google-auth's
 * `"delegates": null` and AWS token serialization, Go's canonical header names and query escaping,
 * proto JSON's snake_case names, the guide's `text/json` bodies, regional STS hosts, and the
 * certificates Python and Java clients verify ID tokens with.
 */

import { createVerify, X509Certificate } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import {
  ACCESS_TOKEN,
  awsExchange,
  bearer,
  CLOUD_PLATFORM,
  call,
  federatedToken,
  JWT,
  TOKEN_EXCHANGE,
} from "./helpers.js";

let emulator: Emulator;
let reader: string;
beforeAll(async () => {
  emulator = await startEmulator();
  reader = emulator.serviceAccountEmail("wifkit-reader");
});
afterAll(() => emulator.stop());

const iamUrl = (method: string) =>
  `${emulator.urls.iamCredentials}/v1/projects/-/serviceAccounts/${reader}:${method}`;

/** A POST with a raw body and exactly these headers. */
function post(url: string, body: string, headers: Record<string, string>) {
  return call(url, { method: "POST", headers, body });
}

describe("IAM Credentials reads requests as proto JSON", () => {
  it("accepts Python google-auth's body: delegates and lifetime null", async () => {
    const token = await federatedToken(emulator);
    const reply = await post(
      iamUrl("generateAccessToken"),
      JSON.stringify({ delegates: null, scope: [CLOUD_PLATFORM], lifetime: null }),
      { ...bearer(token), "content-type": "application/json" },
    );
    expect(reply.status).toBe(200);
    expect(reply.json().accessToken).toMatch(/^ya29\.c\./);
  });

  it("accepts snake_case field names and the guide's text/json content type", async () => {
    const token = await federatedToken(emulator);
    const reply = await post(
      iamUrl("generateIdToken"),
      JSON.stringify({ audience: "https://run.example", include_email: true }),
      { ...bearer(token), "content-type": "text/json; charset=utf-8" },
    );
    expect(reply.status).toBe(200);
    const claims = JSON.parse(Buffer.from(reply.json().token.split(".")[1], "base64url").toString());
    expect(claims).toMatchObject({ aud: "https://run.example", email: reader });
  });
});

/** A token exchange for the Azure identity, in snake_case fields. */
function entraExchange() {
  return {
    grant_type: TOKEN_EXCHANGE,
    audience: emulator.providerAudience("azure-provider"),
    scope: CLOUD_PLATFORM,
    requested_token_type: ACCESS_TOKEN,
    subject_token_type: JWT,
    subject_token: emulator.mintEntraToken(),
  };
}

describe("STS reads every body form Google accepts", () => {
  it("reads JSON with snake_case keys, and text/json", async () => {
    for (const contentType of ["application/json", "text/json; charset=utf-8"]) {
      const reply = await post(`${emulator.urls.sts}/v1/token`, JSON.stringify(entraExchange()), {
        "content-type": contentType,
      });
      expect(reply.status, contentType).toBe(200);
    }
  });

  it("answers /v1/token whatever Host it is reached as (regional endpoints)", async () => {
    const body = new URLSearchParams(entraExchange()).toString();
    const url = new URL(`${emulator.urls.sts}/v1/token`);
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: {
            host: "sts.us-east1.rep.googleapis.com",
            "content-type": "application/x-www-form-urlencoded",
          },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", reject);
      request.end(body);
    });
    expect(status).toBe(200);
  });
});

describe("AWS subject tokens as each Google library serializes them", () => {
  /** The emulator's own token, re-serialized with other header names and JSON/escaping rules. */
  function reserialize(
    rename: (name: string) => string,
    encode: (json: string) => string,
    sortKeys: boolean,
  ): string {
    const request = JSON.parse(decodeURIComponent(emulator.awsSubjectToken())) as {
      url: string;
      method: string;
      headers: Array<{ key: string; value: string }>;
    };
    const headers = request.headers.map(({ key, value }) => ({ key: rename(key), value }));
    if (sortKeys) headers.sort((a, b) => a.key.localeCompare(b.key));
    const ordered = sortKeys
      ? { headers, method: request.method, url: request.url }
      : { url: request.url, method: request.method, headers };
    return encode(JSON.stringify(ordered));
  }

  it("accepts Go's canonical header names and query escaping (spaces as +)", async () => {
    const canonical = (name: string) =>
      name.replace(/(^|-)([a-z])/g, (_, dash, letter) => dash + letter.toUpperCase());
    const token = reserialize(
      canonical,
      (json) => new URLSearchParams({ t: json }).toString().slice(2),
      false,
    );
    expect(token).toContain("X-Amz-Date");
    expect(token).toContain("+");
    const reply = await awsExchange(emulator, token);
    expect(reply.status).toBe(200);
  });

  it("accepts Python's sorted keys and percent-encoding", async () => {
    const token = reserialize(
      (name) => (name === "authorization" ? "Authorization" : name),
      encodeURIComponent,
      true,
    );
    const reply = await awsExchange(emulator, token);
    expect(reply.status).toBe(200);
    expect(reply.json().token_type).toBe("Bearer");
  });

  it("is refused when the serialized request is not GetCallerIdentity", async () => {
    const token = encodeURIComponent(
      JSON.stringify({ url: "https://sts.amazonaws.com/?Action=AssumeRole", method: "POST", headers: [] }),
    );
    const reply = await awsExchange(emulator, token);
    expect(reply.json()).toEqual({
      error: "invalid_grant",
      error_description: "AWS request has invalid format.",
    });
  });
});

describe("Google's ID-token keys", () => {
  it("serves X.509 certificates at /oauth2/v1/certs and a JWKS at /oauth2/v3/certs, keyed by the same kid", async () => {
    const [v1, v3] = await Promise.all([
      call(`${emulator.urls.googleCerts}/oauth2/v1/certs`),
      call(`${emulator.urls.googleCerts}/oauth2/v3/certs`),
    ]);
    const certificates = v1.json() as Record<string, string>;
    const [kid, pem] = Object.entries(certificates)[0]!;
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    expect(v3.json().keys).toEqual([expect.objectContaining({ kid, kty: "RSA", alg: "RS256", use: "sig" })]);
    const certificate = new X509Certificate(pem);
    expect(certificate.verify(certificate.publicKey)).toBe(true); // self-signed
    expect(certificate.ca).toBe(false);

    // An ID token from generateIdToken verifies with the certificate's key.
    const token = await federatedToken(emulator);
    const idToken: string = (
      await post(iamUrl("generateIdToken"), JSON.stringify({ audience: "https://run.example" }), {
        ...bearer(token),
        "content-type": "application/json",
      })
    ).json().token;
    const [head, body, signature] = idToken.split(".") as [string, string, string];
    expect(JSON.parse(Buffer.from(head, "base64url").toString()).kid).toBe(kid);
    const verifier = createVerify("RSA-SHA256").update(`${head}.${body}`);
    expect(verifier.verify(certificate.publicKey, Buffer.from(signature, "base64url"))).toBe(true);
  });
});
