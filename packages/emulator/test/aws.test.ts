import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { awsExchange, call, postForm } from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
afterEach(() => {
  emulator.clock.set(Date.now());
  emulator.state.aws.imds.enabled = true;
  emulator.state.aws.imds.v2Only = false;
});

const imds = (path: string, headers: Record<string, string> = {}) =>
  call(`${emulator.urls.awsImds}${path}`, { headers });
const putToken = (headers: Record<string, string>) =>
  call(`${emulator.urls.awsImds}/latest/api/token`, { method: "PUT", headers });
const CREDENTIALS = "/latest/meta-data/iam/security-credentials";

describe("EC2 instance metadata", () => {
  it("hands out the role name without a newline and credentials that expire in the future", async () => {
    const role = await imds(CREDENTIALS);
    expect(role.status).toBe(200);
    expect(role.text).toBe("wifkit-ec2-role");
    const credentials = await imds(`${CREDENTIALS}/${role.text}`);
    const body = credentials.json();
    expect(body).toEqual({
      Code: "Success",
      LastUpdated: expect.stringMatching(/Z$/),
      Type: "AWS-HMAC",
      AccessKeyId: expect.stringMatching(/^ASIA[A-Z2-7]{16}$/),
      SecretAccessKey: expect.any(String),
      Token: expect.any(String),
      Expiration: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    });
    expect(Date.parse(body.Expiration)).toBeGreaterThan(emulator.clock.now() + 60 * 60_000);
    expect((await imds(`${CREDENTIALS}/other-role`)).status).toBe(404);
  });

  it("keeps the same credentials until they near expiry, then rotates them (old ones stay valid until they expire)", async () => {
    const first = (await imds(`${CREDENTIALS}/wifkit-ec2-role`)).json();
    expect((await imds(`${CREDENTIALS}/wifkit-ec2-role`)).json().AccessKeyId).toBe(first.AccessKeyId);
    emulator.clock.set(Date.parse(first.Expiration) - 10 * 60_000);
    const second = (await imds(`${CREDENTIALS}/wifkit-ec2-role`)).json();
    expect(second.AccessKeyId).not.toBe(first.AccessKeyId);
    expect(Date.parse(second.Expiration)).toBeGreaterThan(Date.parse(first.Expiration));
    const old = emulator.awsKeys().find((key) => key.accessKeyId === first.AccessKeyId);
    expect(old?.expiresAt).toBe(Date.parse(first.Expiration));
  });

  it("serves placement and the instance id, and 404 for unknown paths", async () => {
    expect((await imds("/latest/meta-data/placement/availability-zone")).text).toBe("us-east-1a");
    expect((await imds("/latest/meta-data/placement/region")).text).toBe("us-east-1");
    expect((await imds("/latest/meta-data/instance-id")).text).toBe("i-0a1b2c3d4e5f60718");
    expect((await imds("/latest/meta-data/no/such/thing")).status).toBe(404);
    expect((await imds("/nothing-here")).status).toBe(404);
  });

  it("issues IMDSv2 session tokens for a TTL of 1..21600 seconds and refuses X-Forwarded-For", async () => {
    const token = await putToken({ "x-aws-ec2-metadata-token-ttl-seconds": "300" });
    expect(token.status).toBe(200);
    expect(token.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("300");
    for (const ttl of ["0", "21601", "abc"]) {
      expect((await putToken({ "x-aws-ec2-metadata-token-ttl-seconds": ttl })).status).toBe(400);
    }
    expect((await putToken({})).status).toBe(400);
    expect(
      (await putToken({ "x-aws-ec2-metadata-token-ttl-seconds": "300", "x-forwarded-for": "10.0.0.1" }))
        .status,
    ).toBe(403);
    expect((await call(`${emulator.urls.awsImds}/latest/api/token`)).status).toBe(405);
  });

  it("requires a live session token when v2-only, and refuses an expired token either way", async () => {
    emulator.state.aws.imds.v2Only = true;
    expect((await imds(CREDENTIALS)).status).toBe(401);
    const token = (await putToken({ "x-aws-ec2-metadata-token-ttl-seconds": "60" })).text;
    expect((await imds(CREDENTIALS, { "x-aws-ec2-metadata-token": token })).text).toBe("wifkit-ec2-role");
    emulator.clock.advance(61_000);
    expect((await imds(CREDENTIALS, { "x-aws-ec2-metadata-token": token })).status).toBe(401);
    emulator.state.aws.imds.v2Only = false;
    expect((await imds(CREDENTIALS, { "x-aws-ec2-metadata-token": token })).status).toBe(401);
    expect((await imds(CREDENTIALS)).status).toBe(200);
  });

  it("answers 403 everywhere when IMDS is disabled", async () => {
    emulator.state.aws.imds.enabled = false;
    expect((await imds(CREDENTIALS)).status).toBe(403);
    expect((await putToken({ "x-aws-ec2-metadata-token-ttl-seconds": "300" })).status).toBe(403);
  });
});

describe("container credentials (ECS, EKS Pod Identity)", () => {
  it("requires the authorization token and returns role credentials", async () => {
    const env = emulator.awsEnv({ source: "pod-identity" });
    const authorization = readFileSync(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!, "utf8");
    const reply = await call(env.AWS_CONTAINER_CREDENTIALS_FULL_URI!, { headers: { authorization } });
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({
      AccessKeyId: expect.stringMatching(/^ASIA/),
      RoleArn: "arn:aws:iam::111122223333:role/wifkit-task-role",
      Expiration: expect.stringMatching(/Z$/),
    });
    const ecs = emulator.awsEnv({ source: "container" });
    expect(
      (
        await call(ecs.AWS_CONTAINER_CREDENTIALS_FULL_URI!, {
          headers: { authorization: ecs.AWS_CONTAINER_AUTHORIZATION_TOKEN! },
        })
      ).status,
    ).toBe(200);
    expect((await call(ecs.AWS_CONTAINER_CREDENTIALS_FULL_URI!)).status).toBe(401);
    expect(
      (await call(ecs.AWS_CONTAINER_CREDENTIALS_FULL_URI!, { headers: { authorization: "wrong" } })).status,
    ).toBe(401);
  });

  it("hands out credentials STS accepts, mapped to the container role", async () => {
    const reply = await awsExchange(emulator, emulator.awsSubjectToken({ credentials: "container" }));
    expect(reply.status).toBe(200);
    const introspection = await postForm(`${emulator.urls.sts}/v1/introspect`, {
      token: reply.json().access_token,
    });
    expect(introspection.json().sub).toBe(
      "arn:aws:sts::111122223333:assumed-role/wifkit-task-role/wifkit-task",
    );
  });
});

describe("AWS STS AssumeRoleWithWebIdentity (EKS IRSA)", () => {
  const assume = (fields: Record<string, string>) =>
    postForm(`${emulator.urls.awsSts}/`, {
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      ...fields,
    });
  const code = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
  const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

  it("returns temporary credentials for the IRSA token, which then work at Google STS and GetCallerIdentity", async () => {
    const env = emulator.awsEnv({ source: "web-identity" });
    const reply = await assume({
      RoleArn: env.AWS_ROLE_ARN!,
      RoleSessionName: env.AWS_ROLE_SESSION_NAME!,
      WebIdentityToken: readFileSync(env.AWS_WEB_IDENTITY_TOKEN_FILE!, "utf8"),
    });
    expect(reply.status).toBe(200);
    expect(field(reply.text, "Arn")).toBe(
      "arn:aws:sts::111122223333:assumed-role/wifkit-irsa-role/wifkit-irsa-session",
    );
    expect(field(reply.text, "SubjectFromWebIdentityToken")).toBe("system:serviceaccount:default:wifkit");
    const credentials = {
      accessKeyId: field(reply.text, "AccessKeyId")!,
      secretAccessKey: field(reply.text, "SecretAccessKey")!,
      sessionToken: field(reply.text, "SessionToken")!,
    };
    expect(Date.parse(field(reply.text, "Expiration")!)).toBeGreaterThan(emulator.clock.now() + 59 * 60_000);
    expect((await awsExchange(emulator, emulator.awsSubjectToken({ credentials }))).status).toBe(200);
    expect(emulator.counters.get("aws.sts.assumeRoleWithWebIdentity")).toBeGreaterThanOrEqual(1);
  });

  it("refuses wrong audiences, subjects, issuers, expired tokens, unknown roles and bad parameters with AWS's codes", async () => {
    const role = "arn:aws:iam::111122223333:role/wifkit-irsa-role";
    const session = "s1";
    const cases: Array<[string, Record<string, string>, number, string]> = [
      [
        "audience",
        {
          RoleArn: role,
          RoleSessionName: session,
          WebIdentityToken: emulator.mintKubernetesToken({ audience: "other" }),
        },
        400,
        "InvalidIdentityToken",
      ],
      [
        "subject",
        {
          RoleArn: role,
          RoleSessionName: session,
          WebIdentityToken: emulator.mintKubernetesToken({
            audience: "sts.amazonaws.com",
            serviceAccount: "intruder",
          }),
        },
        403,
        "AccessDenied",
      ],
      [
        "issuer",
        {
          RoleArn: role,
          RoleSessionName: session,
          WebIdentityToken: emulator.mintEntraToken({ resource: "sts.amazonaws.com" }),
        },
        400,
        "InvalidIdentityToken",
      ],
      [
        "not a JWT",
        { RoleArn: role, RoleSessionName: session, WebIdentityToken: "nope" },
        400,
        "InvalidIdentityToken",
      ],
      [
        "unknown role",
        {
          RoleArn: "arn:aws:iam::111122223333:role/nope",
          RoleSessionName: session,
          WebIdentityToken: emulator.mintKubernetesToken({ audience: "sts.amazonaws.com" }),
        },
        403,
        "AccessDenied",
      ],
      ["missing token", { RoleArn: role, RoleSessionName: session }, 400, "ValidationError"],
      [
        "bad session name",
        { RoleArn: role, RoleSessionName: "a b", WebIdentityToken: "x" },
        400,
        "ValidationError",
      ],
      [
        "too long",
        {
          RoleArn: role,
          RoleSessionName: session,
          DurationSeconds: "7200",
          WebIdentityToken: emulator.mintKubernetesToken({ audience: "sts.amazonaws.com" }),
        },
        400,
        "ValidationError",
      ],
    ];
    for (const [name, fields, status, expected] of cases) {
      const reply = await assume(fields);
      expect({ name, status: reply.status, code: code(reply.text) }).toEqual({
        name,
        status,
        code: expected,
      });
    }
    const expiring = emulator.mintKubernetesToken({ audience: "sts.amazonaws.com", lifetimeSeconds: 60 });
    emulator.clock.advance(120_000);
    const expired = await assume({ RoleArn: role, RoleSessionName: session, WebIdentityToken: expiring });
    expect(code(expired.text)).toBe("ExpiredTokenException");
    expect((await postForm(`${emulator.urls.awsSts}/`, { Action: "GetFederationToken" })).status).toBe(400);
  });
});
