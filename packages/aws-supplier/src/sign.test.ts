import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { serializeSubjectToken, signGetCallerIdentity } from "./sign.js";

interface Vector {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  date: string;
  method: string;
  url: string;
  audience: string;
  expected: { "x-amz-date": string; authorization: string; signedHeaders: string; signature: string };
}

const vectors = (
  JSON.parse(
    readFileSync(new URL("../test/fixtures/sigv4-getcalleridentity.json", import.meta.url), "utf8"),
  ) as { vectors: Vector[] }
).vectors;

function header(headers: { key: string; value: string }[], key: string): string | undefined {
  return headers.find((entry) => entry.key === key)?.value;
}

describe("signGetCallerIdentity against the shared SigV4 vectors", () => {
  it("has all six vectors to check", () => {
    expect(vectors).toHaveLength(6);
  });

  for (const vector of vectors) {
    const label = `${vector.region} ${vector.date}${vector.sessionToken ? " with session token" : ""}`;
    it(`reproduces ${label} byte for byte`, async () => {
      const signed = await signGetCallerIdentity({
        credentials: {
          accessKeyId: vector.accessKeyId,
          secretAccessKey: vector.secretAccessKey,
          sessionToken: vector.sessionToken ?? undefined,
        },
        region: vector.region,
        url: vector.url,
        audience: vector.audience,
        date: new Date(vector.date),
      });
      expect(signed.url).toBe(vector.url);
      expect(signed.method).toBe(vector.method);
      expect(header(signed.headers, "authorization")).toBe(vector.expected.authorization);
      expect(header(signed.headers, "x-amz-date")).toBe(vector.expected["x-amz-date"]);
      const authorization = header(signed.headers, "authorization") ?? "";
      expect(/SignedHeaders=([^,]+)/.exec(authorization)?.[1]).toBe(vector.expected.signedHeaders);
      expect(/Signature=([0-9a-f]+)$/.exec(authorization)?.[1]).toBe(vector.expected.signature);
      expect(header(signed.headers, "x-amz-security-token")).toBe(vector.sessionToken ?? undefined);
      expect(header(signed.headers, "x-goog-cloud-target-resource")).toBe(vector.audience);
      expect(header(signed.headers, "host")).toBe(new URL(vector.url).host);
      expect(header(signed.headers, "x-amz-content-sha256")).toBeUndefined();
      const expectedKeys = ["authorization", "host", "x-amz-date"];
      if (vector.sessionToken) expectedKeys.push("x-amz-security-token");
      expectedKeys.push("x-goog-cloud-target-resource");
      expect(signed.headers.map((entry) => entry.key)).toEqual(expectedKeys);
    });
  }
});

describe("serializeSubjectToken", () => {
  const credentials = {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  };
  const audience = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/aws";

  it("URL-encodes the JSON {url, method, headers:[{key,value}]} that Google STS decodes", async () => {
    const signed = await signGetCallerIdentity({
      credentials: { ...credentials, sessionToken: "token/with+chars=" },
      region: "eu-west-1",
      audience,
      date: new Date("2024-05-01T12:00:00Z"),
    });
    const token = serializeSubjectToken(signed);
    expect(token).not.toMatch(/[{}":/ ]/);
    const decoded = JSON.parse(decodeURIComponent(token)) as {
      url: string;
      method: string;
      headers: { key: string; value: string }[];
    };
    expect(Object.keys(decoded)).toEqual(["url", "method", "headers"]);
    expect(decoded.url).toBe(
      "https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    );
    expect(decoded.method).toBe("POST");
    expect(decoded.headers).toEqual(signed.headers);
    expect(decoded.headers.every((entry) => Object.keys(entry).join() === "key,value")).toBe(true);
    expect(decoded.headers.find((entry) => entry.key === "x-amz-security-token")?.value).toBe(
      "token/with+chars=",
    );
  });

  it("substitutes {region} in a custom verification URL and keeps the rest as configured", async () => {
    const signed = await signGetCallerIdentity({
      credentials,
      region: "ap-southeast-2",
      url: "http://127.0.0.1:4567/{region}/sts?Version=2011-06-15&Action=GetCallerIdentity",
      audience,
      date: new Date("2024-05-01T12:00:00Z"),
    });
    expect(signed.url).toBe(
      "http://127.0.0.1:4567/ap-southeast-2/sts?Version=2011-06-15&Action=GetCallerIdentity",
    );
    expect(header(signed.headers, "host")).toBe("127.0.0.1:4567");
    expect(header(signed.headers, "authorization")).toContain("/20240501/ap-southeast-2/sts/aws4_request");
  });

  it("signs the same request identically for the same date, and differently a second later", async () => {
    const sign = (iso: string) =>
      signGetCallerIdentity({ credentials, region: "us-east-1", audience, date: new Date(iso) });
    const [a, b, c] = await Promise.all([
      sign("2024-05-01T12:00:00Z"),
      sign("2024-05-01T12:00:00Z"),
      sign("2024-05-01T12:00:01Z"),
    ]);
    expect(serializeSubjectToken(a)).toBe(serializeSubjectToken(b));
    expect(header(c.headers, "authorization")).not.toBe(header(a.headers, "authorization"));
  });

  it("refuses a region that is not a region name and a verification URL that is not http(s)", async () => {
    await expect(
      signGetCallerIdentity({ credentials, region: "us-east-1.evil.com/", audience, date: new Date() }),
    ).rejects.toMatchObject({ code: "ERR_WIF_AWS_REGION_INVALID" });
    await expect(
      signGetCallerIdentity({
        credentials,
        region: "us-east-1",
        url: "file:///etc/passwd",
        audience,
        date: new Date(),
      }),
    ).rejects.toMatchObject({ code: "ERR_WIF_AWS_VERIFICATION_URL_INVALID" });
  });
});
