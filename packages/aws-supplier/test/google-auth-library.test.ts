import { readFileSync } from "node:fs";
import { AwsClient } from "google-auth-library";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fromAws } from "../src/index.js";

// google-auth-library is the reference client: for the same credentials, region, audience and instant, a
// wifkit subject token must be the very same request Google's own AWS client would send to STS.

interface Vector {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  date: string;
  audience: string;
}

const vectors = (
  JSON.parse(readFileSync(new URL("./fixtures/sigv4-getcalleridentity.json", import.meta.url), "utf8")) as {
    vectors: Vector[];
  }
).vectors;

interface DecodedToken {
  url: string;
  method: string;
  headers: { key: string; value: string }[];
}

const decode = (token: string) => JSON.parse(decodeURIComponent(token)) as DecodedToken;

afterEach(() => {
  vi.useRealTimers();
});

async function googleToken(vector: Vector): Promise<string> {
  const client = new AwsClient({
    type: "external_account",
    audience: vector.audience,
    subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
    token_url: "https://sts.googleapis.com/v1/token",
    aws_security_credentials_supplier: {
      getAwsRegion: async () => vector.region,
      getAwsSecurityCredentials: async () => ({
        accessKeyId: vector.accessKeyId,
        secretAccessKey: vector.secretAccessKey,
        ...(vector.sessionToken ? { token: vector.sessionToken } : {}),
      }),
    },
  });
  return client.retrieveSubjectToken();
}

describe("subject token parity with google-auth-library's AwsClient", () => {
  for (const vector of vectors) {
    it(`produces Google's exact token for ${vector.region} at ${vector.date}`, async () => {
      const now = Date.parse(vector.date);
      // Google's signer reads the wall clock; freeze it at the vector's instant (only Date, so I/O timers still run).
      vi.useFakeTimers({ now, toFake: ["Date"] });
      const expected = await googleToken(vector);
      vi.useRealTimers();

      const supplier = fromAws({
        audience: vector.audience,
        region: vector.region,
        credentials: {
          accessKeyId: vector.accessKeyId,
          secretAccessKey: vector.secretAccessKey,
          ...(vector.sessionToken ? { sessionToken: vector.sessionToken } : {}),
        },
        env: {},
        clock: { now: () => now },
      });
      const ours = await supplier();

      const theirs = decode(expected);
      const mine = decode(ours.token);
      expect(mine.url).toBe(theirs.url);
      expect(mine.method).toBe(theirs.method);
      expect(mine.headers).toEqual(theirs.headers);
      expect(ours.token).toBe(expected);
      expect(ours.type).toBe("urn:ietf:params:aws:token-type:aws4_request");
      expect(ours.expiresAt?.getTime()).toBe(now + 15 * 60 * 1000);
    });
  }
});
