import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chain, SourceUnavailableError } from "@wifkit/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  defaultAwsCredentials,
  fromAws,
  serializeSubjectToken,
  signGetCallerIdentity,
} from "../src/index.js";
import {
  CONTAINER_CREDENTIALS,
  closedLoopbackUrl,
  type FakeAws,
  IMDS_CREDENTIALS,
  STS_CREDENTIALS,
  startFakeAws,
} from "./fake-aws.js";

const AUDIENCE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/providers/aws-provider";
const ENV_KEYS = { AWS_ACCESS_KEY_ID: "AKIAENVEXAMPLE000001", AWS_SECRET_ACCESS_KEY: "env-secret" };

let aws: FakeAws;
let dir: string;
beforeEach(async () => {
  aws = await startFakeAws();
  dir = await mkdtemp(join(tmpdir(), "wifkit-aws-chain-"));
});
afterEach(async () => {
  await aws.stop();
  await rm(dir, { recursive: true, force: true });
});

function movableClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

interface DecodedToken {
  url: string;
  method: string;
  headers: { key: string; value: string }[];
}
const decode = (token: string) => JSON.parse(decodeURIComponent(token)) as DecodedToken;
const headerOf = (token: DecodedToken, key: string) =>
  token.headers.find((entry) => entry.key === key)?.value;

async function irsaEnv(): Promise<Record<string, string>> {
  const tokenFile = join(dir, "irsa-token");
  await writeFile(tokenFile, "projected-token");
  return {
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/irsa-role",
    AWS_ENDPOINT_URL_STS: aws.url,
  };
}

describe("defaultAwsCredentials: the order of sources", () => {
  it("uses environment keys first and never contacts IMDS (Lambda)", async () => {
    const credentials = await defaultAwsCredentials({
      env: { ...ENV_KEYS, ...(await irsaEnv()), AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url },
    })();
    expect(credentials.accessKeyId).toBe(ENV_KEYS.AWS_ACCESS_KEY_ID);
    expect(aws.requests).toHaveLength(0);
  });

  it("uses IRSA web identity before the container endpoint and IMDS", async () => {
    const credentials = await defaultAwsCredentials({
      env: {
        ...(await irsaEnv()),
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds`,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url,
      },
    })();
    expect(credentials.accessKeyId).toBe(STS_CREDENTIALS.accessKeyId);
    expect(aws.requests.map((request) => request.path)).toEqual(["/"]);
  });

  it("uses the container endpoint before IMDS", async () => {
    const credentials = await defaultAwsCredentials({
      env: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds`,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url,
      },
    })();
    expect(credentials.accessKeyId).toBe(CONTAINER_CREDENTIALS.accessKeyId);
    expect(aws.count("PUT", "/latest")).toBe(0);
  });

  it("ends at IMDS", async () => {
    const credentials = await defaultAwsCredentials({
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url },
    })();
    expect(credentials.accessKeyId).toBe(IMDS_CREDENTIALS.accessKeyId);
  });

  it("stops at a source that applies and fails instead of moving on to IMDS", async () => {
    aws.state.containerToken = "expected";
    await expect(
      defaultAwsCredentials({
        env: {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds`,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url,
        },
      })(),
    ).rejects.toMatchObject({ code: "ERR_WIF_AWS_CONTAINER_FAILED", status: 401 });
    expect(aws.count("PUT", "/latest")).toBe(0);
  });

  it("off AWS, fails at once with one clear, skippable message", async () => {
    const closed = await closedLoopbackUrl();
    const error = await defaultAwsCredentials({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: closed } })().catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_AWS_NO_CREDENTIALS" });
    expect((error as Error).message).toBe(
      "Not on EC2, and no AWS credentials in the environment (checked AWS_ACCESS_KEY_ID, " +
        `AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_*, IMDS at ${closed}: ECONNREFUSED). ` +
        "Run on AWS with a role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
    );
  });

  it("caches IMDS credentials until shortly before they expire", async () => {
    const clock = movableClock();
    aws.state.expiration = new Date(clock.now() + 3600_000).toISOString();
    const firstExpiration = aws.state.expiration;
    const refreshes: string[] = [];
    let refreshed: () => void = () => {};
    const provider = defaultAwsCredentials({
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url },
      clock,
      onRefresh: (event) => {
        refreshes.push(event.kind);
        refreshed();
      },
    });
    await provider();
    clock.advance(50 * 60_000);
    await provider();
    const roleGets = () =>
      aws.count("GET", "/latest/meta-data/iam/security-credentials/wifkit-instance-role");
    expect(roleGets()).toBe(1);
    clock.advance(6 * 60_000);
    aws.state.expiration = new Date(clock.now() + 3600_000).toISOString();
    // Inside the refresh window the cached credentials are still served, and a refresh runs behind them.
    const background = new Promise<void>((resolve) => {
      refreshed = resolve;
    });
    await expect(provider()).resolves.toMatchObject({ expiration: new Date(firstExpiration) });
    await background;
    expect(roleGets()).toBe(2);
    expect(refreshes).toEqual(["blocking", "background"]);
  });

  it("calls a user's provider (AWS SDK style) every time and passes forceRefresh on", async () => {
    const calls: unknown[] = [];
    const sdkProvider = async (options?: { forceRefresh?: boolean }) => {
      calls.push(options);
      return {
        accessKeyId: "ASIASDK",
        secretAccessKey: "s",
        sessionToken: "t",
        expiration: new Date(Date.now() + 3600_000),
      };
    };
    const provider = defaultAwsCredentials({ credentials: sdkProvider, env: { ...ENV_KEYS } });
    await provider();
    await provider({ forceRefresh: true });
    expect(calls).toEqual([undefined, { forceRefresh: true }]);
    expect(aws.requests).toHaveLength(0);
  });

  it("accepts a provider typed exactly like the AWS SDK's AwsCredentialIdentityProvider", async () => {
    // The shape of @smithy/types' AwsCredentialIdentityProvider, spelled out so the type check guards it.
    type SdkIdentity = {
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken?: string;
      credentialScope?: string;
      accountId?: string;
      expiration?: Date;
    };
    // biome-ignore lint/suspicious/noExplicitAny: the SDK declares its parameter this way
    const sdkProvider: (identityProperties?: Record<string, any>) => Promise<SdkIdentity> = async () => ({
      accessKeyId: "ASIASDKTYPED",
      secretAccessKey: "s",
      accountId: "111122223333",
    });
    const supplier = fromAws({ audience: AUDIENCE, region: "us-east-1", credentials: sdkProvider, env: {} });
    const decoded = decode((await supplier()).token);
    expect(headerOf(decoded, "authorization")).toContain("Credential=ASIASDKTYPED/");
    expect(headerOf(decoded, "x-amz-security-token")).toBeUndefined();
  });

  it("refuses expired credentials from a user's provider, and invalid static credentials up front", async () => {
    const provider = defaultAwsCredentials({
      credentials: async () => ({
        accessKeyId: "A",
        secretAccessKey: "s",
        expiration: new Date(Date.now() - 1),
      }),
    });
    await expect(provider()).rejects.toMatchObject({ code: "ERR_WIF_AWS_CREDENTIALS_EXPIRED" });
    expect(() => defaultAwsCredentials({ credentials: { accessKeyId: "", secretAccessKey: "s" } })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_AWS_CREDENTIALS_INVALID" }),
    );
  });
});

describe("fromAws", () => {
  it("signs GetCallerIdentity for the region with the chain's credentials (Lambda: env only, no IMDS)", async () => {
    const clock = movableClock(Date.parse("2025-02-03T04:05:06Z"));
    const supplier = fromAws({
      audience: AUDIENCE,
      env: {
        ...ENV_KEYS,
        AWS_SESSION_TOKEN: "lambda-session",
        AWS_REGION: "eu-central-1",
        AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url,
      },
      clock,
    });
    const subject = await supplier();
    expect(aws.requests).toHaveLength(0);
    expect(subject.type).toBe("urn:ietf:params:aws:token-type:aws4_request");
    expect(subject.expiresAt).toEqual(new Date(clock.now() + 15 * 60_000));
    const expected = await signGetCallerIdentity({
      credentials: {
        accessKeyId: ENV_KEYS.AWS_ACCESS_KEY_ID,
        secretAccessKey: "env-secret",
        sessionToken: "lambda-session",
      },
      region: "eu-central-1",
      audience: AUDIENCE,
      date: new Date(clock.now()),
    });
    expect(subject.token).toBe(serializeSubjectToken(expected));
    expect(decode(subject.token).url).toBe(
      "https://sts.eu-central-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    );
  });

  it("follows a credential config's credential_source: IMDS URLs, v2 token URL and verification URL", async () => {
    const supplier = fromAws({
      audience: AUDIENCE,
      credentialSource: {
        environment_id: "aws1",
        region_url: `${aws.url}/latest/meta-data/placement/availability-zone`,
        url: `${aws.url}/latest/meta-data/iam/security-credentials`,
        regional_cred_verification_url:
          "http://127.0.0.1:9/{region}?Action=GetCallerIdentity&Version=2011-06-15",
        imdsv2_session_token_url: `${aws.url}/latest/api/token`,
      },
      env: {},
    });
    const decoded = decode((await supplier()).token);
    expect(decoded.url).toBe("http://127.0.0.1:9/us-east-2?Action=GetCallerIdentity&Version=2011-06-15");
    expect(headerOf(decoded, "x-amz-security-token")).toBe(IMDS_CREDENTIALS.sessionToken);
    expect(headerOf(decoded, "authorization")).toContain(`Credential=${IMDS_CREDENTIALS.accessKeyId}/`);
    expect(headerOf(decoded, "x-goog-cloud-target-resource")).toBe(AUDIENCE);
    // Region and credentials share one IMDSv2 session token.
    expect(aws.count("PUT", "/latest/api/token")).toBe(1);
  });

  it("re-signs on every call but fetches credentials and the region once", async () => {
    const clock = movableClock();
    const supplier = fromAws({
      audience: AUDIENCE,
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.url },
      clock,
    });
    const first = await supplier();
    clock.advance(1000);
    const second = await supplier();
    expect(second.token).not.toBe(first.token);
    expect(aws.count("GET", "/latest/meta-data/iam/security-credentials/")).toBe(1);
    expect(aws.count("GET", "/latest/meta-data/placement/")).toBe(1);
  });

  it("expires the subject token with the credentials when they expire within 15 minutes", async () => {
    const clock = movableClock(Date.parse("2025-01-01T00:00:00Z"));
    const expiration = new Date(clock.now() + 10 * 60_000);
    const supplier = fromAws({
      audience: AUDIENCE,
      region: "us-west-2",
      credentials: async () => ({ accessKeyId: "ASIA", secretAccessKey: "s", sessionToken: "t", expiration }),
      clock,
    });
    expect((await supplier()).expiresAt).toEqual(expiration);
  });

  it("off AWS, says so; and as a skippable error it lets a larger chain move on", async () => {
    const closed = await closedLoopbackUrl();
    const supplier = fromAws({ audience: AUDIENCE, env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: closed } });
    await expect(supplier()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_NO_CREDENTIALS",
      message: expect.stringMatching(/^Not on EC2, and no AWS credentials in the environment/),
    });
    const other = { token: "other", type: "urn:ietf:params:oauth:token-type:jwt" as const };
    await expect(chain(supplier, async () => other)()).resolves.toEqual(other);
  });

  it("asks for AWS_REGION when credentials are there but no region is", async () => {
    const closed = await closedLoopbackUrl();
    await expect(
      fromAws({ audience: AUDIENCE, env: { ...ENV_KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: closed } })(),
    ).rejects.toMatchObject({ code: "ERR_WIF_AWS_REGION_UNKNOWN" });
  });

  it("validates its configuration up front", () => {
    expect(() => fromAws({ audience: "" })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "audience" }),
    );
    expect(() => fromAws({ audience: AUDIENCE, credentialSource: { environment_id: "aws2" } })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_AWS_UNSUPPORTED_ENVIRONMENT" }),
    );
  });
});
