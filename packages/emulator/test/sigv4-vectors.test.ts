import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { awsExchange, call } from "./helpers.js";

interface Vector {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  date: string;
  url: string;
  audience: string;
  expected: { "x-amz-date": string; authorization: string };
}

const vectors = (
  JSON.parse(readFileSync(new URL("./fixtures/sigv4-getcalleridentity.json", import.meta.url), "utf8")) as {
    vectors: Vector[];
  }
).vectors;

const ARN = "arn:aws:sts::111122223333:assumed-role/vector-role/vector-session";

/** The SHA-256 constructor @smithy/signature-v4 wants, from node:crypto. */
class Sha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash =
      secret === undefined
        ? createHash("sha256")
        : createHmac("sha256", typeof secret === "string" ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.#hash.update(typeof data === "string" ? data : Buffer.from(data as Uint8Array));
  }
  async digest() {
    return new Uint8Array(this.#hash.digest());
  }
}

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
  for (const vector of vectors) {
    emulator.registerAwsKey({
      accessKeyId: vector.accessKeyId,
      secretAccessKey: vector.secretAccessKey,
      sessionToken: vector.sessionToken ?? undefined,
      arn: ARN,
    });
  }
});
afterAll(() => emulator.stop());

function vectorHeaders(vector: Vector): Record<string, string> {
  return {
    host: new URL(vector.url).host,
    "x-amz-date": vector.expected["x-amz-date"],
    authorization: vector.expected.authorization,
    ...(vector.sessionToken ? { "x-amz-security-token": vector.sessionToken } : {}),
  };
}

/** Sends the vector's signed request to the emulated AWS STS, with the Host it was signed for. */
function getCallerIdentity(headers: Record<string, string>) {
  return call(`${emulator.urls.awsSts}/?Action=GetCallerIdentity&Version=2011-06-15`, {
    method: "POST",
    headers,
  });
}

function awsErrorCode(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

describe("the shared SigV4 vectors at the AWS STS route", () => {
  it.each(vectors.map((vector) => [vector.region, vector.date, vector] as const))(
    "GetCallerIdentity verifies the %s vector at %s",
    async (_region, _date, vector) => {
      emulator.clock.set(Date.parse(vector.date));
      const reply = await getCallerIdentity(vectorHeaders(vector));
      expect(reply.status).toBe(200);
      expect(reply.text).toContain(`<Arn>${ARN}</Arn>`);
      expect(reply.text).toContain("<Account>111122223333</Account>");
    },
  );

  it("answers each tampered variant with AWS's error code", async () => {
    const vector = vectors.find((candidate) => candidate.sessionToken)!;
    emulator.clock.set(Date.parse(vector.date));
    const good = vectorHeaders(vector);
    const flipped = good.authorization!.replace(/.$/, (last) => (last === "0" ? "1" : "0"));
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ["flipped byte", { ...good, authorization: flipped }, 403, "SignatureDoesNotMatch"],
      ["wrong session token", { ...good, "x-amz-security-token": "other" }, 403, "InvalidClientTokenId"],
      ["missing signed header", { ...good, "x-amz-date": "20200101T000000Z" }, 403, "SignatureDoesNotMatch"],
      ["no signature", { host: good.host! }, 403, "MissingAuthenticationToken"],
    ];
    for (const [name, headers, status, code] of cases) {
      const reply = await getCallerIdentity(headers);
      expect({ name, status: reply.status, code: awsErrorCode(reply.text) }).toEqual({ name, status, code });
    }
    emulator.clock.set(Date.parse(vector.date) + 16 * 60_000);
    const stale = await getCallerIdentity(good);
    expect(awsErrorCode(stale.text)).toBe("SignatureDoesNotMatch");
    expect(stale.text).toContain("Signature expired");
  });
});

describe("the shared SigV4 vectors at Google STS", () => {
  it.each(vectors.map((vector) => [vector.region, vector.date, vector] as const))(
    "exchanges the %s vector signed at %s",
    async (_region, _date, vector) => {
      const [, projectNumber, pool, provider] =
        /projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/.exec(
          vector.audience,
        )!;
      // The vectors name their own project, pool and provider: make them exist, at the vector's date.
      emulator.reconfigure({
        projectNumber: projectNumber!,
        pools: { [pool!]: { providers: { [provider!]: { type: "aws" } } } },
      });
      emulator.clock.set(Date.parse(vector.date));
      const headers = { ...vectorHeaders(vector), "x-goog-cloud-target-resource": vector.audience };
      const token = encodeURIComponent(
        JSON.stringify({
          url: vector.url,
          method: "POST",
          headers: Object.entries(headers).map(([key, value]) => ({ key, value })),
        }),
      );
      const reply = await awsExchange(emulator, token, vector.audience);
      expect(reply.status).toBe(200);
      expect(reply.json().token_type).toBe("Bearer");

      // The same signature with another secret for the key id, or too late, is refused.
      const secret = vector.secretAccessKey;
      const wrongSecret = `${secret.slice(0, -1)}${secret.endsWith("Q") ? "R" : "Q"}`;
      const key = {
        accessKeyId: vector.accessKeyId,
        sessionToken: vector.sessionToken ?? undefined,
        arn: ARN,
      };
      emulator.registerAwsKey({ ...key, secretAccessKey: wrongSecret });
      const refused = await awsExchange(emulator, token, vector.audience);
      expect(refused.json().error_description).toMatch(
        /type SignatureDoesNotMatch with error message: The request signature/,
      );
      emulator.registerAwsKey({ ...key, secretAccessKey: secret });
      emulator.clock.set(Date.parse(vector.date) + 20 * 60_000);
      const late = await awsExchange(emulator, token, vector.audience);
      expect(late.json().error_description).toMatch(
        /type SignatureDoesNotMatch with error message: Signature expired/,
      );
    },
  );
});

describe("fresh signatures from @smithy/signature-v4", () => {
  async function smithySigned(
    region: string,
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  ) {
    const signer = new SignatureV4({
      service: "sts",
      region,
      credentials,
      sha256: Sha256,
      applyChecksum: false,
    });
    const hostname = `sts.${region}.amazonaws.com`;
    return signer.sign(
      {
        method: "POST",
        protocol: "https:",
        hostname,
        path: "/",
        query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
        headers: { host: hostname },
      } as never,
      { signingDate: new Date(emulator.clock.now()) },
    ) as unknown as Promise<{ headers: Record<string, string> }>;
  }

  it("verifies at Google STS for the instance role's IMDS credentials, and fails for a wrong region or a dropped signed header", async () => {
    emulator.clock.set(Date.now());
    const instance = emulator.awsCredentials("instance");
    const credentials = {
      accessKeyId: instance.accessKeyId,
      secretAccessKey: instance.secretAccessKey,
      sessionToken: instance.sessionToken!,
    };
    const serialize = (url: string, headers: Record<string, string>) =>
      encodeURIComponent(
        JSON.stringify({
          url,
          method: "POST",
          headers: Object.entries({
            ...headers,
            "x-goog-cloud-target-resource": emulator.providerAudience(),
          }).map(([key, value]) => ({ key, value })),
        }),
      );
    const url = "https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";
    const signed = await smithySigned("eu-west-1", credentials);
    expect((await awsExchange(emulator, serialize(url, signed.headers))).status).toBe(200);

    const elsewhere = await smithySigned("eu-west-2", credentials);
    const wrongRegion = await awsExchange(
      emulator,
      serialize(url, { ...elsewhere.headers, host: "sts.eu-west-1.amazonaws.com" }),
    );
    expect(wrongRegion.json().error_description).toMatch(/type SignatureDoesNotMatch .*region/);

    const { "x-amz-security-token": _dropped, ...withoutToken } = signed.headers;
    const dropped = await awsExchange(emulator, serialize(url, withoutToken));
    expect(dropped.json().error_description).toMatch(/type InvalidClientTokenId/);
  });

  it("verifies at the AWS STS route for the IAM user's static keys", async () => {
    const user = emulator.awsCredentials("user");
    const signer = new SignatureV4({
      service: "sts",
      region: "us-east-1",
      credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
      sha256: Sha256,
      applyChecksum: false,
    });
    const host = new URL(emulator.urls.awsSts).host;
    const body = "Action=GetCallerIdentity&Version=2011-06-15";
    const signed = (await signer.sign({
      method: "POST",
      protocol: "http:",
      hostname: host.split(":")[0],
      port: Number(host.split(":")[1]),
      path: "/",
      query: {},
      headers: { host, "content-type": "application/x-www-form-urlencoded" },
      body,
    } as never)) as unknown as { headers: Record<string, string> };
    const reply = await call(`${emulator.urls.awsSts}/`, { method: "POST", headers: signed.headers, body });
    expect(reply.status).toBe(200);
    expect(reply.text).toContain("<Arn>arn:aws:iam::111122223333:user/wifkit-user</Arn>");
    const tampered = await call(`${emulator.urls.awsSts}/`, {
      method: "POST",
      headers: signed.headers,
      body: `${body}&Extra=1`,
    });
    expect(awsErrorCode(tampered.text)).toBe("SignatureDoesNotMatch");
  });
});
