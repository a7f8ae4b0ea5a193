import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type AwsKeyRecord, signSigV4, verifySigV4 } from "./sigv4.js";

interface Vector {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  date: string;
  method: string;
  url: string;
  audience: string;
  expected: { "x-amz-date": string; authorization: string };
}

const vectors = (
  JSON.parse(
    readFileSync(new URL("../test/fixtures/sigv4-getcalleridentity.json", import.meta.url), "utf8"),
  ) as { vectors: Vector[] }
).vectors;

function keyOf(vector: Vector, overrides: Partial<AwsKeyRecord> = {}): AwsKeyRecord {
  return {
    accessKeyId: vector.accessKeyId,
    secretAccessKey: vector.secretAccessKey,
    sessionToken: vector.sessionToken ?? undefined,
    arn: "arn:aws:sts::111122223333:assumed-role/vector-role/i-0123456789abcdef0",
    account: "111122223333",
    userId: "AROAVECTOR:i-0123456789abcdef0",
    ...overrides,
  };
}

function requestOf(vector: Vector, headerOverrides: Record<string, string | undefined> = {}) {
  const url = new URL(vector.url);
  const headers: Record<string, string | undefined> = {
    host: url.host,
    "x-amz-date": vector.expected["x-amz-date"],
    authorization: vector.expected.authorization,
    "x-goog-cloud-target-resource": vector.audience,
    ...(vector.sessionToken ? { "x-amz-security-token": vector.sessionToken } : {}),
    ...headerOverrides,
  };
  return {
    method: vector.method,
    url,
    headers: Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
    body: "",
  };
}

function verify(
  vector: Vector,
  options: {
    key?: AwsKeyRecord;
    now?: number;
    headers?: Record<string, string | undefined>;
    region?: string;
  } = {},
) {
  const key = options.key ?? keyOf(vector);
  return verifySigV4(requestOf(vector, options.headers), {
    lookupKey: (id) => (id === key.accessKeyId ? key : undefined),
    now: options.now ?? Date.parse(vector.date),
    service: "sts",
    region: options.region ?? vector.region,
  });
}

describe("verifySigV4 against the shared vectors", () => {
  it.each(vectors.map((vector) => [vector.region, vector.date, vector] as const))(
    "accepts the %s vector signed at %s",
    (_region, _date, vector) => {
      const result = verify(vector);
      expect(result).toMatchObject({ ok: true, region: vector.region });
    },
  );

  it("ignores headers that are not signed (x-goog-cloud-target-resource is added after signing)", () => {
    const vector = vectors[0]!;
    expect(
      verify(vector, { headers: { "x-goog-cloud-target-resource": "something else", "x-extra": "1" } }).ok,
    ).toBe(true);
  });

  it("refuses a signature with one flipped character", () => {
    for (const vector of vectors) {
      const authorization = vector.expected.authorization;
      const last = authorization.at(-1) === "0" ? "1" : "0";
      const result = verify(vector, { headers: { authorization: authorization.slice(0, -1) + last } });
      expect(result).toMatchObject({ ok: false, status: 403, code: "SignatureDoesNotMatch" });
    }
  });

  it("refuses the right signature made with the wrong secret", () => {
    const vector = vectors[1]!;
    const key = keyOf(vector, { secretAccessKey: `${vector.secretAccessKey.slice(0, -1)}X` });
    expect(verify(vector, { key })).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
  });

  it("refuses a request more than 15 minutes old, and one from the future, naming the times", () => {
    const vector = vectors[2]!;
    const signedAt = Date.parse(vector.date);
    expect(verify(vector, { now: signedAt + 15 * 60_000 }).ok).toBe(true);
    const stale = verify(vector, { now: signedAt + 15 * 60_000 + 1000 });
    expect(stale).toMatchObject({ ok: false, status: 403, code: "SignatureDoesNotMatch" });
    expect(stale.ok ? "" : stale.message).toMatch(/^Signature expired: 20241203T031402Z is now earlier than/);
    const early = verify(vector, { now: signedAt - 16 * 60_000 });
    expect(early.ok ? "" : early.message).toMatch(/^Signature not yet current/);
  });

  it("refuses a signature scoped to another region than the endpoint's", () => {
    const vector = vectors[0]!;
    const result = verify(vector, { region: "us-east-1" });
    expect(result).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
    expect(result.ok ? "" : result.message).toContain("ca-central-1");
  });

  it("refuses a request missing a signed header", () => {
    const vector = vectors[0]!;
    expect(
      verify(vector, { headers: { "x-amz-date": undefined, date: new Date(vector.date).toUTCString() } }),
    ).toMatchObject({
      ok: false,
      code: "SignatureDoesNotMatch",
    });
    // Dropping the signed session token makes the key's session unverifiable.
    expect(verify(vector, { headers: { "x-amz-security-token": undefined } })).toMatchObject({
      ok: false,
      code: "InvalidClientTokenId",
    });
  });

  it("refuses unknown keys, mismatched session tokens and expired temporary credentials", () => {
    const vector = vectors[0]!;
    const unknown = verifySigV4(requestOf(vector), {
      lookupKey: () => undefined,
      now: Date.parse(vector.date),
      service: "sts",
    });
    expect(unknown).toMatchObject({ ok: false, status: 403, code: "InvalidClientTokenId" });
    expect(verify(vector, { key: keyOf(vector, { sessionToken: "another-session" }) })).toMatchObject({
      ok: false,
      code: "InvalidClientTokenId",
    });
    const expired = verify(vector, { key: keyOf(vector, { expiresAt: Date.parse(vector.date) - 1 }) });
    expect(expired).toMatchObject({ ok: false, status: 403, code: "ExpiredToken" });
  });

  it("refuses a malformed Authorization header as IncompleteSignature", () => {
    const vector = vectors[1]!;
    const result = verify(vector, {
      headers: { authorization: "AWS4-HMAC-SHA256 Credential=AKIA/20241007/us-gov-west-1" },
    });
    expect(result).toMatchObject({ ok: false, status: 400, code: "IncompleteSignature" });
  });
});

describe("signSigV4", () => {
  it("produces exactly the vectors' signatures", () => {
    for (const vector of vectors) {
      const headers = signSigV4({
        method: vector.method,
        url: new URL(vector.url),
        credentials: {
          accessKeyId: vector.accessKeyId,
          secretAccessKey: vector.secretAccessKey,
          sessionToken: vector.sessionToken ?? undefined,
        },
        region: vector.region,
        service: "sts",
        time: Date.parse(vector.date),
      });
      expect(Object.fromEntries(headers).authorization).toBe(vector.expected.authorization);
    }
  });
});
