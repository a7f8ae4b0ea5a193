import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SourceUnavailableError } from "@wifkit/core";
import { type HttpTransport, nodeTransport } from "@wifkit/http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fromContainerMetadata } from "../src/index.js";
import { CONTAINER_CREDENTIALS, type FakeAws, startFakeAws } from "./fake-aws.js";

let aws: FakeAws;
let dir: string;
beforeEach(async () => {
  aws = await startFakeAws();
  dir = await mkdtemp(join(tmpdir(), "wifkit-aws-container-"));
});
afterEach(async () => {
  await aws.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A transport that records the URL asked for and answers with a fixed credential document. */
function capturing(seen: string[]): HttpTransport {
  return async (request) => {
    seen.push(request.url.href);
    return {
      status: 200,
      headers: {},
      body: Buffer.from(
        JSON.stringify({
          AccessKeyId: "AKIDCAPTURE",
          SecretAccessKey: "s",
          Token: "t",
          Expiration: "2999-01-01T00:00:00Z",
        }),
      ),
    };
  };
}

describe("fromContainerMetadata", () => {
  it("does not apply when neither container URI variable is set", async () => {
    await expect(fromContainerMetadata({ env: {} })()).rejects.toBeInstanceOf(SourceUnavailableError);
  });

  it("sends the token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE and re-reads the file on every call", async () => {
    const tokenFile = join(dir, "eks-pod-identity-token");
    await writeFile(tokenFile, "pod-identity-token-1\n");
    aws.state.containerToken = "pod-identity-token-1";
    const provider = fromContainerMetadata({
      env: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "ignored-when-the-file-is-set",
      },
    });
    const credentials = await provider();
    expect(credentials).toMatchObject(CONTAINER_CREDENTIALS);
    expect(credentials.expiration).toEqual(new Date(aws.state.expiration));

    await writeFile(tokenFile, "pod-identity-token-2");
    aws.state.containerToken = "pod-identity-token-2";
    await expect(provider()).resolves.toMatchObject({ accessKeyId: CONTAINER_CREDENTIALS.accessKeyId });
    expect(aws.requests.map((request) => request.headers.authorization)).toEqual([
      "pod-identity-token-1",
      "pod-identity-token-2",
    ]);
  });

  it("sends AWS_CONTAINER_AUTHORIZATION_TOKEN when there is no token file", async () => {
    aws.state.containerToken = "Basic static-token";
    const provider = fromContainerMetadata({
      env: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "Basic static-token",
      },
    });
    await expect(provider()).resolves.toMatchObject({ accessKeyId: CONTAINER_CREDENTIALS.accessKeyId });
  });

  it("turns a refused token into ERR_WIF_AWS_CONTAINER_FAILED with the endpoint's status and code", async () => {
    aws.state.containerToken = "expected";
    const error = await fromContainerMetadata({
      env: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds?secret=query`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong-token-value",
      },
    })().catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "ERR_WIF_AWS_CONTAINER_FAILED",
      status: 401,
      upstreamError: "AccessDenied",
      url: `${aws.url}/container/creds`,
    });
    expect((error as Error).message).not.toContain("wrong-token-value");
    expect((error as Error).message).not.toContain("secret=query");
  });

  it("refuses expired container credentials", async () => {
    aws.state.expiration = new Date(Date.now() - 1000).toISOString();
    await expect(
      fromContainerMetadata({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds` } })(),
    ).rejects.toMatchObject({
      code: "ERR_WIF_AWS_CREDENTIALS_EXPIRED",
      message: expect.stringContaining("expired at"),
    });
  });

  it("retries a busy agent, then reports it", async () => {
    aws.state.containerStatus = 503;
    await expect(
      fromContainerMetadata({
        env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds` },
        retries: 1,
      })(),
    ).rejects.toMatchObject({ code: "ERR_WIF_AWS_CONTAINER_FAILED", status: 503, retryable: true });
    expect(aws.count("GET", "/container/")).toBe(2);
  });

  it("reports an unreadable token file", async () => {
    await expect(
      fromContainerMetadata({
        env: {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/container/creds`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, "missing"),
        },
      })(),
    ).rejects.toMatchObject({
      code: "ERR_WIF_AWS_CONTAINER_TOKEN_FILE",
      message: expect.stringContaining("ENOENT"),
    });
    expect(aws.requests).toHaveLength(0);
  });

  it("resolves AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against http://169.254.170.2 and prefers it", async () => {
    const seen: string[] = [];
    await fromContainerMetadata({
      env: {
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/4f1c-task",
        AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:1/ignored",
      },
      transport: capturing(seen),
    })();
    expect(seen).toEqual(["http://169.254.170.2/v2/credentials/4f1c-task"]);
  });

  it("reaches a relative URI through the transport seam (the ECS agent redirected to a local server)", async () => {
    const redirect: HttpTransport = (request) =>
      nodeTransport({ ...request, url: new URL(request.url.pathname, aws.url) });
    await expect(
      fromContainerMetadata({
        env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/container/task" },
        transport: redirect,
      })(),
    ).resolves.toMatchObject({ accessKeyId: CONTAINER_CREDENTIALS.accessKeyId });
  });

  for (const url of [
    "http://169.254.170.2/creds",
    "http://169.254.170.23/v1/credentials",
    "http://[fd00:ec2::23]/v1/credentials",
    "http://127.0.0.1:8080/creds",
    "http://127.10.0.5/creds",
    "http://localhost:9911/creds",
    "http://[::1]:9911/creds",
    "https://credentials.example.com/creds",
  ]) {
    it(`accepts AWS_CONTAINER_CREDENTIALS_FULL_URI ${url}`, async () => {
      const seen: string[] = [];
      await fromContainerMetadata({
        env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: url },
        transport: capturing(seen),
      })();
      expect(seen).toEqual([new URL(url).href]);
    });
  }

  for (const url of [
    "http://169.254.170.99/creds",
    "http://credentials.example.com/creds",
    "http://10.0.0.8/creds",
    "http://127.0.0.1.nip.io/creds",
    "ftp://127.0.0.1/creds",
  ]) {
    it(`refuses AWS_CONTAINER_CREDENTIALS_FULL_URI ${url} without sending anything`, async () => {
      const seen: string[] = [];
      await expect(
        fromContainerMetadata({
          env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: url },
          transport: capturing(seen),
        })(),
      ).rejects.toMatchObject({ code: "ERR_WIF_AWS_CONTAINER_URI_REJECTED" });
      expect(seen).toEqual([]);
    });
  }
});
