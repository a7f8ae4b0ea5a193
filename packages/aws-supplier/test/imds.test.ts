import http from "node:http";
import type { AddressInfo } from "node:net";
import { chain, SourceUnavailableError } from "@wifkit/core";
import { type HttpTransport, nodeTransport } from "@wifkit/http";
import { afterEach, describe, expect, it } from "vitest";
import { fromInstanceMetadata, resolveRegion } from "../src/index.js";
import { closedLoopbackUrl, type FakeAws, IMDS_CREDENTIALS, startFakeAws } from "./fake-aws.js";

const fakes: FakeAws[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

async function fake(overrides: Parameters<typeof startFakeAws>[0] = {}): Promise<FakeAws> {
  const started = await startFakeAws(overrides);
  fakes.push(started);
  return started;
}

function movableClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const TOKEN_PATH = "/latest/api/token";
const CREDS_PATH = "/latest/meta-data/iam/security-credentials";

describe("fromInstanceMetadata", () => {
  it("uses an IMDSv2 session token (PUT with a 300 s TTL) on every GET and returns the role's credentials", async () => {
    const aws = await fake();
    const credentials = await fromInstanceMetadata({ endpoint: aws.url, env: {} })();
    expect(credentials).toMatchObject(IMDS_CREDENTIALS);
    expect(credentials.expiration).toEqual(new Date(aws.state.expiration));
    const put = aws.requests.find((request) => request.method === "PUT");
    expect(put?.path).toBe(TOKEN_PATH);
    expect(put?.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("300");
    const gets = aws.requests.filter((request) => request.method === "GET");
    expect(gets.map((request) => request.path)).toEqual([CREDS_PATH, `${CREDS_PATH}/wifkit-instance-role`]);
    expect(gets.every((request) => request.headers["x-aws-ec2-metadata-token"] === "imds-token-1")).toBe(
      true,
    );
  });

  it("fetches the session token once and reuses it until shortly before its TTL", async () => {
    const aws = await fake();
    const clock = movableClock();
    const provider = fromInstanceMetadata({ endpoint: aws.url, env: {}, clock });
    await provider();
    clock.advance(200_000);
    await provider();
    expect(aws.count("PUT", TOKEN_PATH)).toBe(1);
    clock.advance(80_000); // 280 s after the first token: within 30 s of its 300 s TTL
    // Still valid, so it serves this call while a new one is fetched behind it (core's memoize).
    await provider();
    clock.advance(21_000); // past the first token's TTL: only the new one may be sent
    await provider();
    expect(aws.count("PUT", TOKEN_PATH)).toBe(2);
    expect(aws.requests.at(-1)?.headers["x-aws-ec2-metadata-token"]).toBe("imds-token-2");
  });

  for (const status of [403, 404, 405]) {
    it(`falls back to IMDSv1 when the token PUT answers ${status} and the config did not ask for v2`, async () => {
      const aws = await fake({ imdsMode: "v1-only", tokenPutStatus: status });
      const credentials = await fromInstanceMetadata({ endpoint: aws.url, env: {} })();
      expect(credentials.accessKeyId).toBe(IMDS_CREDENTIALS.accessKeyId);
      const gets = aws.requests.filter((request) => request.method === "GET");
      expect(gets).toHaveLength(2);
      expect(gets.every((request) => request.headers["x-aws-ec2-metadata-token"] === undefined)).toBe(true);
    });
  }

  it("never falls back to IMDSv1 when the config sets imdsv2_session_token_url", async () => {
    const aws = await fake({ imdsMode: "v1-only", tokenPutStatus: 405 });
    const provider = fromInstanceMetadata({
      endpoint: aws.url,
      sessionTokenUrl: `${aws.url}${TOKEN_PATH}`,
      env: {},
    });
    await expect(provider()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_SESSION_TOKEN_FAILED",
      status: 405,
      message: expect.stringContaining("imdsv2_session_token_url"),
    });
    expect(aws.count("GET", "/")).toBe(0);
  });

  it("takes a 404 on the token URL from a server that never answered as IMDS for 'not here', without GETs", async () => {
    const aws = await fake({ imdsMode: "v1-only", tokenPutStatus: 404 });
    const error = await fromInstanceMetadata({
      endpoint: aws.url,
      sessionTokenUrl: `${aws.url}${TOKEN_PATH}`,
      env: {},
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_AWS_NOT_IMDS", status: 404 });
    expect(aws.count("GET", "/")).toBe(0);
  });

  it("never falls back to IMDSv1 with AWS_EC2_METADATA_V1_DISABLED=true", async () => {
    const aws = await fake({ imdsMode: "v1-only", tokenPutStatus: 405 });
    const provider = fromInstanceMetadata({
      endpoint: aws.url,
      env: { AWS_EC2_METADATA_V1_DISABLED: "true" },
    });
    await expect(provider()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_SESSION_TOKEN_FAILED",
      message: expect.stringContaining("AWS_EC2_METADATA_V1_DISABLED"),
    });
    expect(aws.count("GET", "/")).toBe(0);
  });

  it("works against an instance that requires IMDSv2 and never sends a tokenless request to it", async () => {
    const aws = await fake({ imdsMode: "required" });
    const provider = fromInstanceMetadata({
      endpoint: aws.url,
      sessionTokenUrl: `${aws.url}${TOKEN_PATH}`,
      env: {},
    });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: IMDS_CREDENTIALS.accessKeyId });
    const gets = aws.requests.filter((request) => request.method === "GET");
    expect(gets.every((request) => typeof request.headers["x-aws-ec2-metadata-token"] === "string")).toBe(
      true,
    );
  });

  it("reads a config without imdsv2_session_token_url as Google's libraries do: IMDSv1, no token request", async () => {
    const aws = await fake();
    const provider = fromInstanceMetadata({ credentialsUrl: `${aws.url}${CREDS_PATH}`, env: {} });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: IMDS_CREDENTIALS.accessKeyId });
    expect(aws.requests.map((request) => request.method)).toEqual(["GET", "GET"]);
  });

  it("with such a config on an instance that requires IMDSv2, switches to a session token on the first 401", async () => {
    const aws = await fake({ imdsMode: "required" });
    const provider = fromInstanceMetadata({ credentialsUrl: `${aws.url}${CREDS_PATH}`, env: {} });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: IMDS_CREDENTIALS.accessKeyId });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: IMDS_CREDENTIALS.accessKeyId });
    // One tokenless GET refused, then the session token is fetched once and sent on every GET after it.
    expect(aws.requests.map((request) => request.method)).toEqual(["GET", "PUT", "GET", "GET", "GET", "GET"]);
  });

  it("on 401 fetches a new session token once and retries", async () => {
    const aws = await fake({ rejectNextTokens: 1 });
    const credentials = await fromInstanceMetadata({ endpoint: aws.url, env: {} })();
    expect(credentials.accessKeyId).toBe(IMDS_CREDENTIALS.accessKeyId);
    expect(aws.count("PUT", TOKEN_PATH)).toBe(2);
  });

  it("reports ERR_WIF_AWS_IMDS_UNAUTHORIZED when IMDS keeps answering 401, after one token refetch", async () => {
    const aws = await fake({ rejectNextTokens: 10 });
    await expect(fromInstanceMetadata({ endpoint: aws.url, env: {} })()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_UNAUTHORIZED",
      status: 401,
    });
    expect(aws.count("PUT", TOKEN_PATH)).toBe(2);
  });

  it("reports ERR_WIF_AWS_IMDS_UNAUTHORIZED when IMDS requires v2 but the token request is refused", async () => {
    const aws = await fake({ imdsMode: "required" });
    // Something between the process and IMDS refuses the PUT (405): the client falls back to v1, IMDS
    // answers 401, one more token attempt fails the same way, and the error says what IMDS wants.
    const provider = fromInstanceMetadata({
      endpoint: aws.url,
      env: {},
      transport: (request) =>
        request.method === "PUT"
          ? Promise.resolve({ status: 405, headers: {}, body: Buffer.alloc(0) })
          : nodeTransport(request),
    });
    await expect(provider()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_UNAUTHORIZED",
      status: 401,
      message: expect.stringContaining("requires IMDSv2"),
    });
    expect(aws.count("GET", CREDS_PATH)).toBe(1);
  });

  it("reports ERR_WIF_AWS_IMDS_DISABLED on 403", async () => {
    const aws = await fake({ imdsMode: "disabled" });
    await expect(fromInstanceMetadata({ endpoint: aws.url, env: {} })()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_DISABLED",
      status: 403,
      message: expect.stringContaining("HttpEndpoint=enabled"),
    });
  });

  it("reports ERR_WIF_AWS_IMDS_NO_ROLE when no role is attached (404)", async () => {
    const aws = await fake({ roleName: undefined });
    const error = await fromInstanceMetadata({ endpoint: aws.url, env: {} })().catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_AWS_IMDS_NO_ROLE", status: 404 });
    expect(error).not.toBeInstanceOf(SourceUnavailableError);
  });

  it("says 'not on EC2' as a skippable error when nothing listens, after a bounded number of attempts", async () => {
    const closed = await closedLoopbackUrl();
    let attempts = 0;
    const counting: HttpTransport = (request) => {
      attempts++;
      return nodeTransport(request);
    };
    const error = await fromInstanceMetadata({ endpoint: closed, env: {}, transport: counting })().catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_AWS_IMDS_UNREACHABLE" });
    expect((error as Error).message).toContain(
      `EC2 instance metadata at ${closed} did not answer (ECONNREFUSED)`,
    );
    expect(attempts).toBeLessThanOrEqual(2);
    // A chain moves past it.
    const fallback = { accessKeyId: "AKIAFALLBACK", secretAccessKey: "s" };
    await expect(
      chain(fromInstanceMetadata({ endpoint: closed, env: {} }), async () => fallback)(),
    ).resolves.toEqual(fallback);
  });

  it("does not wait twice on a metadata host that accepts connections but never answers", async () => {
    const silent = http.createServer(() => {});
    silent.listen(0, "127.0.0.1");
    await new Promise((resolve) => silent.once("listening", resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    let attempts = 0;
    try {
      const error = await fromInstanceMetadata({
        endpoint: url,
        env: {},
        timeoutMs: 150,
        transport: (request) => {
          attempts++;
          return nodeTransport(request);
        },
      })().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SourceUnavailableError);
      expect((error as Error).message).toContain("timed out after 150 ms");
      expect(attempts).toBe(1);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("reads the IMDS base from AWS_EC2_METADATA_SERVICE_ENDPOINT, and lets config URLs win over it", async () => {
    const aws = await fake();
    const closed = await closedLoopbackUrl();
    await expect(
      fromInstanceMetadata({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `${aws.url}/` } })(),
    ).resolves.toMatchObject({ accessKeyId: IMDS_CREDENTIALS.accessKeyId });
    await expect(
      fromInstanceMetadata({
        env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: closed },
        credentialsUrl: `${aws.url}${CREDS_PATH}`,
        sessionTokenUrl: `${aws.url}${TOKEN_PATH}`,
      })(),
    ).resolves.toMatchObject({ accessKeyId: IMDS_CREDENTIALS.accessKeyId });
  });

  it("defaults to 169.254.169.254, or [fd00:ec2::254] with AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6", async () => {
    const seen: string[] = [];
    const capture: HttpTransport = async (request) => {
      seen.push(request.url.href);
      return { status: 403, headers: {}, body: Buffer.alloc(0) };
    };
    await fromInstanceMetadata({ env: {}, transport: capture })().catch(() => undefined);
    await fromInstanceMetadata({
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6" },
      transport: capture,
    })().catch(() => undefined);
    expect(seen).toEqual([
      "http://169.254.169.254/latest/api/token",
      "http://169.254.169.254/latest/meta-data/iam/security-credentials",
      "http://[fd00:ec2::254]/latest/api/token",
      "http://[fd00:ec2::254]/latest/meta-data/iam/security-credentials",
    ]);
  });

  it("honours AWS_EC2_METADATA_DISABLED without touching the network", async () => {
    const aws = await fake();
    const error = await fromInstanceMetadata({
      endpoint: aws.url,
      env: { AWS_EC2_METADATA_DISABLED: "true" },
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(aws.requests).toHaveLength(0);
  });

  it("refuses credentials that have already expired", async () => {
    const aws = await fake({ expiration: new Date(Date.now() - 60_000).toISOString() });
    await expect(fromInstanceMetadata({ endpoint: aws.url, env: {} })()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_CREDENTIALS_EXPIRED",
    });
  });
});

describe("resolveRegion", () => {
  it("prefers the explicit option, then AWS_REGION, then AWS_DEFAULT_REGION, without asking IMDS", async () => {
    const aws = await fake();
    const imds = { endpoint: aws.url };
    await expect(resolveRegion({ region: "eu-north-1", env: { AWS_REGION: "x" }, imds })).resolves.toBe(
      "eu-north-1",
    );
    await expect(
      resolveRegion({ env: { AWS_REGION: "eu-west-3", AWS_DEFAULT_REGION: "x" }, imds }),
    ).resolves.toBe("eu-west-3");
    await expect(resolveRegion({ env: { AWS_DEFAULT_REGION: "sa-east-1" }, imds })).resolves.toBe(
      "sa-east-1",
    );
    expect(aws.requests).toHaveLength(0);
  });

  it("asks IMDS for placement/region", async () => {
    const aws = await fake({ region: "ap-south-2" });
    await expect(resolveRegion({ env: {}, imds: { endpoint: aws.url } })).resolves.toBe("ap-south-2");
  });

  it("falls back to the availability zone minus its last letter", async () => {
    const aws = await fake({ region: undefined, availabilityZone: "us-east-2b" });
    await expect(resolveRegion({ env: {}, imds: { endpoint: aws.url } })).resolves.toBe("us-east-2");
  });

  it("with the config's region_url, tries the sibling placement/region first (right for Local Zones)", async () => {
    const aws = await fake({ region: "us-west-2", availabilityZone: "us-west-2-lax-1a" });
    const regionUrl = `${aws.url}/latest/meta-data/placement/availability-zone`;
    await expect(resolveRegion({ env: {}, imds: { regionUrl } })).resolves.toBe("us-west-2");
    aws.state.region = undefined;
    await expect(resolveRegion({ env: {}, imds: { regionUrl } })).resolves.toBe("us-west-2-lax-1");
  });

  it("says to set AWS_REGION when nothing gives a region", async () => {
    const closed = await closedLoopbackUrl();
    await expect(resolveRegion({ env: {}, imds: { endpoint: closed } })).rejects.toMatchObject({
      code: "ERR_WIF_AWS_REGION_UNKNOWN",
      message: expect.stringContaining("Set AWS_REGION"),
    });
  });
});
