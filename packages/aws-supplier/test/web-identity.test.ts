import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SourceUnavailableError } from "@wifkit/core";
import type { HttpTransport } from "@wifkit/http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fromWebIdentity } from "../src/index.js";
import { type FakeAws, STS_CREDENTIALS, startFakeAws } from "./fake-aws.js";

const ROLE_ARN = "arn:aws:iam::111122223333:role/irsa-role";
let aws: FakeAws;
let dir: string;
let tokenFile: string;
beforeEach(async () => {
  aws = await startFakeAws();
  dir = await mkdtemp(join(tmpdir(), "wifkit-aws-irsa-"));
  tokenFile = join(dir, "token");
  await writeFile(tokenFile, "eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig\n");
});
afterEach(async () => {
  await aws.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("fromWebIdentity (EKS IRSA)", () => {
  it("calls AssumeRoleWithWebIdentity unsigned at AWS_ENDPOINT_URL_STS and parses the XML credentials", async () => {
    const credentials = await fromWebIdentity({
      env: {
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: ROLE_ARN,
        AWS_ROLE_SESSION_NAME: "my-app",
        AWS_ENDPOINT_URL_STS: aws.url,
        AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      },
    })();
    expect(credentials).toMatchObject(STS_CREDENTIALS);
    expect(credentials.expiration).toEqual(new Date(aws.state.expiration));
    expect(aws.requests).toHaveLength(1);
    const [request] = aws.requests;
    expect(request?.method).toBe("POST");
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.headers["content-type"]).toContain("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: ROLE_ARN,
      RoleSessionName: "my-app",
      WebIdentityToken: "eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig",
    });
  });

  it("falls back to AWS_ENDPOINT_URL and names the session when AWS_ROLE_SESSION_NAME is unset", async () => {
    await fromWebIdentity({
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL: aws.url },
      clock: { now: () => 1_700_000_000_000 },
    })();
    expect(new URLSearchParams(aws.requests[0]?.body).get("RoleSessionName")).toBe("wifkit-1700000000000");
  });

  it("re-reads the token file on every call (the kubelet rotates it)", async () => {
    const provider = fromWebIdentity({
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL_STS: aws.url },
    });
    await provider();
    await writeFile(tokenFile, "rotated-token");
    await provider();
    expect(aws.requests.map((request) => new URLSearchParams(request.body).get("WebIdentityToken"))).toEqual([
      "eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig",
      "rotated-token",
    ]);
  });

  it("turns AWS's error XML into ERR_WIF_AWS_WEB_IDENTITY_FAILED with its code and message, never the token", async () => {
    aws.state.stsStatus = 400;
    const error = await fromWebIdentity({
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL_STS: aws.url },
    })().catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "ERR_WIF_AWS_WEB_IDENTITY_FAILED",
      status: 400,
      upstreamError: "InvalidIdentityToken",
      upstreamDescription: "Token & issuer not trusted",
    });
    expect((error as Error).message).toContain(ROLE_ARN);
    expect((error as Error).message).not.toContain("projected-service-account-token");
  });

  it("uses the regional AWS STS endpoint by default, and the global one without a region", async () => {
    const seen: string[] = [];
    const capture: HttpTransport = async (request) => {
      seen.push(request.url.href);
      return { status: 400, headers: {}, body: Buffer.from("<ErrorResponse/>") };
    };
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE_ARN };
    const attempt = (extra: Record<string, string>, region?: string) =>
      fromWebIdentity({
        env: { ...env, ...extra },
        transport: capture,
        ...(region ? { region } : {}),
      })().catch(() => undefined);
    await attempt({ AWS_REGION: "eu-west-1" });
    await attempt({ AWS_DEFAULT_REGION: "cn-north-1" });
    await attempt({}, "ap-northeast-3");
    await attempt({});
    expect([...new Set(seen)]).toEqual([
      "https://sts.eu-west-1.amazonaws.com/",
      "https://sts.cn-north-1.amazonaws.com.cn/",
      "https://sts.ap-northeast-3.amazonaws.com/",
      "https://sts.amazonaws.com/",
    ]);
  });

  it("does not apply without AWS_WEB_IDENTITY_TOKEN_FILE, and says what is missing when only the file is set", async () => {
    await expect(fromWebIdentity({ env: { AWS_ROLE_ARN: ROLE_ARN } })()).rejects.toBeInstanceOf(
      SourceUnavailableError,
    );
    const error = await fromWebIdentity({ env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile } })().catch(
      (caught: unknown) => caught,
    );
    expect(error).not.toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({
      code: "ERR_WIF_AWS_WEB_IDENTITY_CONFIG",
      message: expect.stringContaining("AWS_ROLE_ARN"),
    });
  });

  it("takes the role assumer as an injected function (the AWS SDK's shape), and checks what it returns", async () => {
    const asked: unknown[] = [];
    const provider = fromWebIdentity({
      env: {
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: ROLE_ARN,
        AWS_ROLE_SESSION_NAME: "my-app",
      },
      roleAssumerWithWebIdentity: async (params) => {
        asked.push(params);
        return { accessKeyId: "ASIAFROMSDK", secretAccessKey: "s", sessionToken: "t" };
      },
    });
    await expect(provider()).resolves.toEqual({
      accessKeyId: "ASIAFROMSDK",
      secretAccessKey: "s",
      sessionToken: "t",
    });
    expect(asked).toEqual([
      {
        RoleArn: ROLE_ARN,
        RoleSessionName: "my-app",
        WebIdentityToken: "eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig",
      },
    ]);
    expect(aws.requests).toHaveLength(0);
    const broken = fromWebIdentity({
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: ROLE_ARN },
      roleAssumerWithWebIdentity: async () => ({ accessKeyId: "", secretAccessKey: "" }),
    });
    await expect(broken()).rejects.toMatchObject({ code: "ERR_WIF_AWS_CREDENTIALS_INVALID" });
  });

  it("reports a missing or empty token file", async () => {
    const env = { AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL_STS: aws.url };
    await expect(
      fromWebIdentity({ env: { ...env, AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "absent") } })(),
    ).rejects.toMatchObject({
      code: "ERR_WIF_AWS_WEB_IDENTITY_CONFIG",
      message: expect.stringContaining("ENOENT"),
    });
    await writeFile(tokenFile, "  \n");
    await expect(
      fromWebIdentity({ env: { ...env, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile } })(),
    ).rejects.toMatchObject({
      code: "ERR_WIF_AWS_WEB_IDENTITY_CONFIG",
      message: expect.stringContaining("empty"),
    });
    expect(aws.requests).toHaveLength(0);
  });
});
