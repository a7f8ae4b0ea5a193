import { describe, expect, it } from "vitest";
import { quotedForms } from "../../../tooling/quoted-forms.js";
import { redactSecrets } from "./redact.js";

const JWT =
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ3b3JrbG9hZCIsImF1ZCI6ImFwaTovL3gifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmU";

describe("redactSecrets", () => {
  it("removes known secrets, JWT-shaped and Google-token-shaped strings", () => {
    const text = `client secret hunter22 rejected; token ${JWT} and ya29.a0AfH6SMBexample expired`;
    expect(redactSecrets(text, ["hunter22"])).toBe(
      "client secret [redacted] rejected; token [redacted] and [redacted] expired",
    );
  });

  it("removes pieces of a long secret that upstream echoed in part", () => {
    const secret = `${"a".repeat(20)}.${"b".repeat(20)}`;
    expect(redactSecrets(`saw ${"b".repeat(20)} only`, [secret])).toBe("saw [redacted] only");
  });

  it("keeps short known values and ordinary text, such as an audience", () => {
    const audience = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/x";
    expect(redactSecrets(`bad audience ${audience}`, ["abc", undefined])).toBe(`bad audience ${audience}`);
  });

  it("optionally removes long opaque runs and bounds the excerpt", () => {
    const key = "A".repeat(40);
    expect(redactSecrets(`key ${key} refused`, [], { opaqueRuns: true })).toBe("key [redacted] refused");
    expect(redactSecrets("x".repeat(20), [], { maxLength: 10 })).toBe(`${"x".repeat(10)}...`);
    expect(redactSecrets(" many\n\n lines\t here ")).toBe("many lines here");
  });
});

const SESSION_TOKEN =
  "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+secret/session+token==AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
const SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID1234/20300101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=${SIGNATURE}`;
const AUDIENCE = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/aws";
const AWS_SUBJECT_TOKEN = encodeURIComponent(
  JSON.stringify({
    url: "https://sts.us-east-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    method: "POST",
    headers: [
      { key: "authorization", value: AUTHORIZATION },
      { key: "host", value: "sts.us-east-1.amazonaws.com" },
      { key: "x-amz-date", value: "20300101T000000Z" },
      { key: "x-amz-security-token", value: SESSION_TOKEN },
      { key: "x-goog-cloud-target-resource", value: AUDIENCE },
    ],
  }),
);

describe("redactSecrets against secrets quoted back in another form", () => {
  const CLIENT_SECRET = "client/secret+with=odd&chars 1";
  for (const [name, quoted] of Object.entries(quotedForms(CLIENT_SECRET))) {
    it(`removes a known secret quoted ${name}`, () => {
      const result = redactSecrets(`rejected "${quoted}" here`, [CLIENT_SECRET]);
      expect(result).toBe('rejected "[redacted]" here');
    });
  }

  for (const [partName, part] of Object.entries({
    "session token": SESSION_TOKEN,
    signature: SIGNATURE,
    "Authorization header": AUTHORIZATION,
    "whole request, decoded": decodeURIComponent(AWS_SUBJECT_TOKEN),
    "whole subject token": AWS_SUBJECT_TOKEN,
  })) {
    for (const [formName, quoted] of Object.entries(quotedForms(part))) {
      it(`removes an AWS subject token's ${partName} quoted ${formName}`, () => {
        const result = redactSecrets(`AWS said: ${quoted} (for ${AUDIENCE})`, [AWS_SUBJECT_TOKEN]);
        for (const secret of [SESSION_TOKEN, SIGNATURE, AUTHORIZATION]) {
          for (const form of Object.values(quotedForms(secret))) expect(result).not.toContain(form);
        }
        expect(result).toContain("[redacted]");
        // What a person needs to fix the call stays readable.
        expect(result).toContain(`(for ${AUDIENCE})`);
      });
    }
  }

  it("keeps the readable parts of an AWS request and removes a cut-short session token", () => {
    const echoed =
      `The request signature we calculated does not match. SignedHeaders=host;x-amz-date;x-amz-security-token ` +
      `host sts.us-east-1.amazonaws.com token ${SESSION_TOKEN.slice(0, 40)}`;
    const result = redactSecrets(echoed, [AWS_SUBJECT_TOKEN]);
    expect(result).toContain("SignedHeaders=host;x-amz-date;x-amz-security-token");
    expect(result).toContain("host sts.us-east-1.amazonaws.com token [redacted]");
    expect(result).not.toContain(SESSION_TOKEN.slice(0, 16));
  });

  it("removes the secrets of an AWS request given as raw JSON or form-encoded", () => {
    const raw = decodeURIComponent(AWS_SUBJECT_TOKEN);
    const formEncoded = new URLSearchParams({ v: raw }).toString().slice(2);
    for (const known of [raw, formEncoded]) {
      const result = redactSecrets(`saw ${SESSION_TOKEN} and ${SIGNATURE}`, [known]);
      expect(result).toBe("saw [redacted] and [redacted]");
    }
  });

  it("folds control characters, so upstream cannot send terminal escapes", () => {
    expect(redactSecrets("bad\u001b[2J\u0007 request\r\nnext\u0000")).toBe("bad [2J request next");
  });

  it("bounds the work on huge upstream text", () => {
    const huge = `${"x ".repeat(1_000_000)}${SESSION_TOKEN}`;
    expect(redactSecrets(huge, [AWS_SUBJECT_TOKEN], { maxLength: 20 })).toBe(`${"x ".repeat(10)}...`);
  });
});
