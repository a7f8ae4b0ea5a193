import { SourceUnavailableError } from "@wifkit/core";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { exchangeToken } from "@wifkit/sts-client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type AwsSupplierInit,
  awsSupplier,
  deserializeSubjectToken,
  fromAws,
  getCallerIdentity,
} from "../src/index.js";
import { closedLoopbackUrl } from "./fake-aws.js";

// End to end against the emulator: each AWS source yields a subject token that the emulated Google STS
// verifies (SigV4 against the emulated AWS keys, account binding, attribute mapping) and exchanges.

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.stop();
});
beforeEach(() => {
  emulator.counters.reset();
});
afterEach(() => {
  emulator.faults.clear();
  emulator.reconfigure({ aws: { imds: { enabled: true, v2Only: false } } });
});

function audience(): string {
  return emulator.providerAudience("aws-provider");
}

/** fromAws for the emulator's AWS credential config (`imdsv2` adds `imdsv2_session_token_url`). */
function supplierFor(
  env: Record<string, string>,
  options: { imdsv2?: boolean } & Partial<AwsSupplierInit> = {},
) {
  const { imdsv2, ...rest } = options;
  const config = emulator.credentialConfig({ source: "aws", ...(imdsv2 ? { imdsv2 } : {}) });
  const source = config.credential_source;
  if (!("environment_id" in source))
    throw new Error("the emulator's AWS config has no aws1 credential_source");
  expect(source.environment_id).toBe("aws1");
  return fromAws({ audience: config.audience, credentialSource: source, env, ...rest });
}

async function exchange(supplier: ReturnType<typeof fromAws>) {
  const subject = await supplier();
  expect(subject.type).toBe("urn:ietf:params:aws:token-type:aws4_request");
  const result = await exchangeToken({
    tokenUrl: `${emulator.urls.sts}/v1/token`,
    audience: audience(),
    subjectToken: subject.token,
    subjectTokenType: subject.type,
  });
  expect(result.accessToken).not.toBe("");
  expect(result.tokenType).toBe("Bearer");
  return { subject, result };
}

const count = (route: string) => emulator.counters.get(route);

describe("fromAws against the emulator: every source reaches a Google federated token", () => {
  it("environment keys (IAM user; no IMDS)", async () => {
    await exchange(supplierFor(emulator.awsEnv({ source: "static" })));
    expect(count("aws.imds.token")).toBe(0);
    expect(count("aws.imds.credentials")).toBe(0);
    expect(count("sts.token")).toBe(1);
  });

  it("IMDSv2: session token, role credentials and region from IMDS", async () => {
    const { subject } = await exchange(supplierFor(emulator.awsEnv(), { imdsv2: true }));
    expect(count("aws.imds.token")).toBe(1);
    expect(count("aws.imds.credentials")).toBe(1);
    const decoded = JSON.parse(decodeURIComponent(subject.token)) as {
      headers: { key: string; value: string }[];
    };
    const authorization = decoded.headers.find((entry) => entry.key === "authorization")?.value ?? "";
    expect(authorization).toContain(`/${emulator.state.aws.region}/sts/aws4_request`);
  });

  it("IMDSv1: falls back when the token PUT is not supported and the config does not ask for v2", async () => {
    emulator.faults.inject("aws.imds.token", { status: 404, times: 10 });
    await exchange(supplierFor(emulator.awsEnv()));
    expect(count("aws.imds.credentials")).toBe(1);
  });

  it("IMDSv2-only instance: works with v2, and the v1 fallback is refused with a clear 401 error", async () => {
    emulator.reconfigure({ aws: { imds: { v2Only: true } } });
    await exchange(supplierFor(emulator.awsEnv(), { imdsv2: true }));

    // The token PUT is refused (405) while IMDS requires v2: the v1 attempt gets 401.
    emulator.faults.inject("aws.imds.token", { status: 405, times: 10 });
    const env = emulator.awsEnv();
    delete env.AWS_EC2_METADATA_V1_DISABLED;
    await expect(supplierFor(env)()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_UNAUTHORIZED",
      status: 401,
    });
  });

  it("ECS container endpoint (full URI with an authorization token)", async () => {
    await exchange(supplierFor(emulator.awsEnv({ source: "container" })));
    expect(count("aws.container.credentials")).toBe(1);
    expect(count("aws.imds.token")).toBe(0);
  });

  it("EKS Pod Identity (full URI with an authorization token file)", async () => {
    await exchange(supplierFor(emulator.awsEnv({ source: "pod-identity" })));
    expect(count("aws.container.credentials")).toBe(1);
  });

  it("EKS IRSA (AssumeRoleWithWebIdentity at the emulated AWS STS)", async () => {
    await exchange(supplierFor(emulator.awsEnv({ source: "web-identity" })));
    expect(count("aws.sts.assumeRoleWithWebIdentity")).toBe(1);
    expect(count("aws.imds.token")).toBe(0);
  });

  it("caches temporary credentials across subject tokens", async () => {
    const supplier = supplierFor(emulator.awsEnv(), { imdsv2: true });
    await exchange(supplier);
    await exchange(supplier);
    expect(count("aws.imds.credentials")).toBe(1);
    expect(count("aws.imds.token")).toBe(1);
    expect(count("sts.token")).toBe(2);
  });
});

describe("getCallerIdentity", () => {
  it("replays a subject token at AWS STS and reports the identity Google STS would see", async () => {
    const { subject } = await exchange(supplierFor(emulator.awsEnv(), { imdsv2: true }));
    const identity = await getCallerIdentity({
      request: deserializeSubjectToken(subject.token),
      endpoint: emulator.urls.awsSts,
    });
    expect(identity.account).toBe(emulator.state.aws.accountId);
    expect(identity.arn).toBe(emulator.awsCredentials("instance").arn);
    expect(identity.userId).toMatch(/^AROA/);
  });

  it("says AWS refused when the signature does not verify, with AWS's code", async () => {
    const request = deserializeSubjectToken(
      emulator.awsSubjectToken({
        credentials: { accessKeyId: "AKIAUNKNOWNKEY000001", secretAccessKey: "not-known-to-aws" },
      }),
    );
    await expect(getCallerIdentity({ request, endpoint: emulator.urls.awsSts })).rejects.toMatchObject({
      code: "ERR_WIF_AWS_CALLER_IDENTITY_FAILED",
      status: 403,
      upstreamError: "InvalidClientTokenId",
    });
  });
});

describe("awsSupplier, the registration @wifkit/credentials takes", () => {
  it("builds fromAws from a credential config's audience and credential_source", async () => {
    const config = emulator.credentialConfig({ source: "aws", imdsv2: true });
    if (!("environment_id" in config.credential_source)) throw new Error("not an AWS config");
    const supplier = awsSupplier.create(
      { audience: config.audience, credential_source: config.credential_source },
      { env: emulator.awsEnv() },
    );
    await exchange(supplier);
    expect(awsSupplier.kind).toBe("aws");
    expect(awsSupplier.packageName).toBe("@wifkit/aws-supplier");
  });
});

describe("fromAws against the emulator: failures", () => {
  it("not on AWS: IMDS at a closed loopback port fails at once with a clear message", async () => {
    const closed = await closedLoopbackUrl();
    const supplier = fromAws({ audience: audience(), env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: closed } });
    const error = await supplier().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_AWS_NO_CREDENTIALS" });
    expect((error as Error).message).toContain("Not on EC2, and no AWS credentials in the environment");
    expect((error as Error).message).toContain(`IMDS at ${closed}: ECONNREFUSED`);
  });

  it("IMDS 401 on every credential request: one token refetch, then ERR_WIF_AWS_IMDS_UNAUTHORIZED", async () => {
    emulator.faults.inject("aws.imds.roleName", { status: 401, times: 10 });
    await expect(supplierFor(emulator.awsEnv(), { imdsv2: true })()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_UNAUTHORIZED",
      status: 401,
    });
    expect(count("aws.imds.token")).toBe(2);
  });

  it("IMDS 403 (metadata service turned off): ERR_WIF_AWS_IMDS_DISABLED, with or without v2 required", async () => {
    emulator.reconfigure({ aws: { imds: { enabled: false } } });
    await expect(supplierFor(emulator.awsEnv())()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_DISABLED",
      status: 403,
    });
    await expect(supplierFor(emulator.awsEnv(), { imdsv2: true })()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_DISABLED",
      status: 403,
      message: expect.stringContaining("HttpEndpoint=enabled"),
    });
  });

  it("IMDS 404 (no role attached): ERR_WIF_AWS_IMDS_NO_ROLE", async () => {
    emulator.faults.inject("aws.imds.roleName", { status: 404, times: 10 });
    await expect(supplierFor(emulator.awsEnv(), { imdsv2: true })()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_IMDS_NO_ROLE",
      status: 404,
    });
  });

  it("expired container credentials: ERR_WIF_AWS_CREDENTIALS_EXPIRED, and no subject token", async () => {
    const stale = emulator.awsCredentials("container");
    emulator.faults.inject("aws.container.credentials", {
      status: 200,
      body: {
        AccessKeyId: stale.accessKeyId,
        SecretAccessKey: stale.secretAccessKey,
        Token: stale.sessionToken ?? "",
        Expiration: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
      times: 10,
    });
    await expect(supplierFor(emulator.awsEnv({ source: "container" }))()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_CREDENTIALS_EXPIRED",
    });
    expect(count("sts.token")).toBe(0);
  });

  it("container endpoint refusing a wrong authorization token: ERR_WIF_AWS_CONTAINER_FAILED", async () => {
    const env = {
      ...emulator.awsEnv({ source: "container" }),
      AWS_CONTAINER_AUTHORIZATION_TOKEN: "not-the-token",
    };
    await expect(supplierFor(env)()).rejects.toMatchObject({
      code: "ERR_WIF_AWS_CONTAINER_FAILED",
      status: 401,
    });
  });

  it("keys AWS does not know: the token is well formed, and Google STS rejects it", async () => {
    const supplier = supplierFor(
      {},
      {
        region: "us-east-1",
        credentials: { accessKeyId: "AKIAUNKNOWNKEY000001", secretAccessKey: "not-known-to-aws" },
      },
    );
    const subject = await supplier();
    const error = await exchangeToken({
      tokenUrl: `${emulator.urls.sts}/v1/token`,
      audience: audience(),
      subjectToken: subject.token,
      subjectTokenType: subject.type,
      retry: false,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "ERR_WIF_STS_INVALID_SUBJECT_TOKEN",
      status: 400,
      upstreamError: "invalid_grant",
      upstreamDescription: expect.stringContaining("InvalidClientTokenId"),
    });
  });
});
