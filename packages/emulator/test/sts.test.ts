import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, STS_ERRORS, startEmulator } from "../src/index.js";
import {
  ACCESS_TOKEN,
  AWS4_REQUEST,
  awsExchange,
  CLOUD_PLATFORM,
  editAwsToken,
  exchange,
  JWT,
  oidcExchange,
  postForm,
  postJson,
  type Reply,
  TOKEN_EXCHANGE,
} from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
afterEach(() => {
  emulator.clock.set(Date.now());
  emulator.faults.clear();
});

function expectOAuthError(reply: Reply, error: string, description: string | RegExp) {
  expect(reply.status).toBe(400);
  const body = reply.json();
  expect(body.error).toBe(error);
  if (typeof description === "string") expect(body.error_description).toBe(description);
  else expect(body.error_description).toMatch(description);
}

describe("successful exchanges", () => {
  it("exchanges a signed GetCallerIdentity for an opaque Bearer token of at most an hour", async () => {
    const reply = await awsExchange(emulator, emulator.awsSubjectToken());
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({
      access_token: expect.stringMatching(/^ya29\.d\./),
      issued_token_type: ACCESS_TOKEN,
      token_type: "Bearer",
      expires_in: 3600,
    });
  });

  it("accepts a JSON body with camelCase keys and the https:// audience form", async () => {
    const reply = await postJson(`${emulator.urls.sts}/v1/token`, {
      grantType: TOKEN_EXCHANGE,
      audience: `https:${emulator.providerAudience("azure-provider")}`,
      scope: CLOUD_PLATFORM,
      requestedTokenType: ACCESS_TOKEN,
      subjectTokenType: JWT,
      subjectToken: emulator.mintEntraToken(),
    });
    expect(reply.status).toBe(200);
    expect(reply.json().access_token).toMatch(/^ya29\./);
  });

  it("accepts a subject token encoded with form rules (spaces as +) and the options JSON, plain or URL-quoted", async () => {
    const token = emulator.awsSubjectToken();
    const formEncoded = new URLSearchParams({ t: decodeURIComponent(token) }).toString().slice(2);
    expect(formEncoded).toContain("+");
    const options = JSON.stringify({ userProject: "wifkit-demo" });
    for (const value of [options, encodeURIComponent(options)]) {
      const reply = await exchange(emulator, {
        audience: emulator.providerAudience(),
        subject_token_type: AWS4_REQUEST,
        subject_token: formEncoded,
        options: value,
      });
      expect(reply.status).toBe(200);
    }
  });

  it("never issues a token that outlives the subject credential", async () => {
    const entra = await oidcExchange(emulator, emulator.mintEntraToken({ lifetimeSeconds: 600 }));
    expect(entra.json().expires_in).toBeGreaterThan(590);
    expect(entra.json().expires_in).toBeLessThanOrEqual(600);

    emulator.registerAwsKey({
      accessKeyId: "ASIASHORTLIVEDKEY001",
      secretAccessKey: "shortLivedSecretKeyForTheEmulatorTest001",
      sessionToken: "short-lived-session",
      arn: "arn:aws:sts::111122223333:assumed-role/short-role/short-session",
      expiresAt: emulator.clock.now() + 300_000,
    });
    const aws = await awsExchange(
      emulator,
      emulator.awsSubjectToken({
        credentials: {
          accessKeyId: "ASIASHORTLIVEDKEY001",
          secretAccessKey: "shortLivedSecretKeyForTheEmulatorTest001",
          sessionToken: "short-lived-session",
        },
      }),
    );
    expect(aws.status).toBe(200);
    expect(aws.json().expires_in).toBeLessThanOrEqual(300);
  });

  it("introspects its tokens (active with the principal, then inactive once expired)", async () => {
    const token = (await awsExchange(emulator, emulator.awsSubjectToken())).json().access_token;
    const active = await postForm(`${emulator.urls.sts}/v1/introspect`, { token });
    expect(active.json()).toMatchObject({
      active: true,
      scope: CLOUD_PLATFORM,
      username: `principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/subject/${emulator.state.aws.instance.assumedRoleArn}`,
    });
    emulator.clock.advance(3601_000);
    expect((await postForm(`${emulator.urls.sts}/v1/introspect`, { token })).json()).toEqual({
      active: false,
    });
    expect((await postForm(`${emulator.urls.sts}/v1/introspect`, { token: "ya29.unknown" })).json()).toEqual({
      active: false,
    });
  });
});

describe("request errors", () => {
  it("refuses an audience that is not a provider's full resource name", async () => {
    for (const audience of [
      "wifkit-pool",
      "//iam.googleapis.com/projects/123456789012/providers/aws-provider",
      "",
    ]) {
      const reply = await awsExchange(emulator, emulator.awsSubjectToken(), audience);
      expectOAuthError(reply, "invalid_request", STS_ERRORS.audienceFormat);
    }
  });

  it("answers invalid_target for an unknown project, pool or provider, a workforce pool, and a disabled pool or provider", async () => {
    const base = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools";
    const audiences = [
      `${base}/wifkit-pool/providers/no-such-provider`,
      `${base}/no-such-pool/providers/aws-provider`,
      "//iam.googleapis.com/projects/999999999999/locations/global/workloadIdentityPools/wifkit-pool/providers/aws-provider",
      "//iam.googleapis.com/projects/wifkit-demo/locations/global/workloadIdentityPools/wifkit-pool/providers/aws-provider",
      "//iam.googleapis.com/locations/global/workforcePools/pool/providers/provider",
    ];
    for (const audience of audiences) {
      expectOAuthError(
        await awsExchange(emulator, emulator.awsSubjectToken(), audience),
        "invalid_target",
        STS_ERRORS.invalidTarget,
      );
    }
    const pool = emulator.state.pools["wifkit-pool"]!;
    pool.providers["aws-provider"]!.disabled = true;
    try {
      expectOAuthError(
        await awsExchange(emulator, emulator.awsSubjectToken()),
        "invalid_target",
        STS_ERRORS.invalidTarget,
      );
    } finally {
      pool.providers["aws-provider"]!.disabled = false;
    }
    pool.disabled = true;
    try {
      expectOAuthError(
        await awsExchange(emulator, emulator.awsSubjectToken()),
        "invalid_target",
        STS_ERRORS.invalidTarget,
      );
    } finally {
      pool.disabled = false;
    }
  });

  it("names the bad parameter for grant_type, requested_token_type, subject_token_type, subject_token and options", async () => {
    const audience = emulator.providerAudience();
    const good = { audience, subject_token_type: AWS4_REQUEST, subject_token: emulator.awsSubjectToken() };
    expectOAuthError(
      await exchange(emulator, { ...good, grant_type: "client_credentials" }),
      "unsupported_grant_type",
      /grant_type/,
    );
    expectOAuthError(
      await exchange(emulator, { ...good, grant_type: undefined }),
      "invalid_request",
      /grant_type/,
    );
    expectOAuthError(
      await exchange(emulator, { ...good, requested_token_type: JWT }),
      "invalid_request",
      /requested_token_type/,
    );
    expectOAuthError(
      await exchange(emulator, { ...good, subject_token_type: "urn:x" }),
      "invalid_request",
      /subject_token_type/,
    );
    expectOAuthError(
      await exchange(emulator, { ...good, subject_token: undefined }),
      "invalid_request",
      /subject_token/,
    );
    expectOAuthError(
      await exchange(emulator, { ...good, options: "{not json" }),
      "invalid_request",
      /options/,
    );
    expectOAuthError(
      await exchange(emulator, { ...good, subject_token_type: JWT }),
      "invalid_request",
      /aws4_request/,
    );
  });
});

describe("mapping and condition", () => {
  it("refuses a credential the attribute condition rejects with unauthorized_client", async () => {
    emulator.reconfigure({
      pools: {
        "wifkit-pool": {
          providers: {
            "aws-provider": { type: "aws", attributeCondition: "attribute.aws_role.endsWith('/other-role')" },
          },
        },
      },
    });
    try {
      const reply = await awsExchange(emulator, emulator.awsSubjectToken());
      expectOAuthError(reply, "unauthorized_client", STS_ERRORS.conditionRejected);
      emulator.reconfigure({
        pools: {
          "wifkit-pool": {
            providers: {
              "aws-provider": {
                type: "aws",
                attributeCondition: "attribute.aws_role.endsWith('/wifkit-ec2-role')",
              },
            },
          },
        },
      });
      expect((await awsExchange(emulator, emulator.awsSubjectToken())).status).toBe(200);
    } finally {
      emulator.reconfigure({
        pools: {
          "wifkit-pool": { providers: { "aws-provider": { type: "aws", attributeCondition: null } } },
        },
      } as never);
    }
  });

  it("refuses a mapped google.subject over 127 bytes", async () => {
    const reply = await oidcExchange(emulator, emulator.mintEntraToken({ claims: { sub: "x".repeat(128) } }));
    expectOAuthError(
      reply,
      "invalid_request",
      /^The size of mapped attribute google\.subject exceeds the 127 bytes limit\./,
    );
    expect(
      (await oidcExchange(emulator, emulator.mintEntraToken({ claims: { sub: "x".repeat(127) } }))).status,
    ).toBe(200);
  });
});

describe("OIDC subject tokens", () => {
  it("refuses a token that is not a JWT", async () => {
    expectOAuthError(
      await oidcExchange(emulator, "not-a-jwt"),
      "invalid_grant",
      "Unable to parse the ID Token.",
    );
  });

  it("refuses a token from another issuer than the provider's", async () => {
    const reply = await oidcExchange(
      emulator,
      emulator.mintKubernetesToken({ audience: "api://wifkit-demo" }),
    );
    expectOAuthError(reply, "invalid_grant", /^The issuer in ID Token .* does not match the expected ones/);
  });

  it("refuses a token whose signature does not verify", async () => {
    const [head, body, signature] = emulator.mintEntraToken().split(".") as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    expectOAuthError(
      await oidcExchange(emulator, `${head}.${body}.${flipped}`),
      "invalid_grant",
      "Invalid ID Token signature.",
    );
  });

  it("refuses a token for another audience", async () => {
    const reply = await oidcExchange(emulator, emulator.mintEntraToken({ resource: "api://someone-else" }));
    expectOAuthError(
      reply,
      "invalid_grant",
      "The audience in ID Token [api://someone-else] does not match the expected audience.",
    );
  });

  it("accepts only the provider's own name as audience when it has no allowed audiences", async () => {
    const own = `https:${emulator.providerAudience("oidc-provider")}`;
    expect(
      (await oidcExchange(emulator, emulator.mintKubernetesToken({ audience: own }), "oidc-provider")).status,
    ).toBe(200);
    const other = await oidcExchange(
      emulator,
      emulator.mintKubernetesToken({ audience: "sts.amazonaws.com" }),
      "oidc-provider",
    );
    expectOAuthError(other, "invalid_grant", /does not match the expected audience/);
  });

  it("refuses an expired token (on the emulator clock) and one not yet valid", async () => {
    const token = emulator.mintEntraToken({ lifetimeSeconds: 60 });
    emulator.clock.advance(61_000);
    expectOAuthError(
      await oidcExchange(emulator, token),
      "invalid_grant",
      /^ID Token issued at \d+ is stale to sign-in\.$/,
    );
    emulator.clock.advance(-61_000);
    const future = emulator.mintEntraToken({
      claims: { nbf: Math.floor(emulator.clock.now() / 1000) + 600 },
    });
    expectOAuthError(await oidcExchange(emulator, future), "invalid_grant", /not yet valid/);
  });

  it("answers 'Error connecting to the given credential's issuer.' when discovery fails", async () => {
    // Keys are cached per issuer; a fresh emulator has not fetched them yet.
    const fresh = await startEmulator();
    try {
      fresh.faults.inject("entra.discovery", { status: 500, forMs: 60_000 });
      const reply = await oidcExchange(fresh, fresh.mintEntraToken());
      expectOAuthError(reply, "invalid_grant", STS_ERRORS.issuerUnreachable);
      expect(fresh.counters.get("entra.discovery")).toBeGreaterThanOrEqual(1);
    } finally {
      await fresh.stop();
    }
  });
});

describe("AWS subject tokens", () => {
  it("refuses a token that is not a serialized signed GetCallerIdentity request", async () => {
    const good = emulator.awsSubjectToken();
    const variants = [
      "not-json",
      encodeURIComponent(JSON.stringify({ url: "https://sts.us-east-1.amazonaws.com", method: "POST" })),
      editAwsToken(good, (request) => {
        request.url = "https://sts.us-east-1.amazonaws.com?Action=GetSessionToken&Version=2011-06-15";
      }),
      editAwsToken(good, (request) => {
        request.url = "https://sts.us-east-1.evil.example?Action=GetCallerIdentity&Version=2011-06-15";
      }),
      editAwsToken(good, (request) => {
        request.headers = request.headers.filter((header) => header.key !== "authorization");
      }),
    ];
    for (const token of variants) {
      expectOAuthError(await awsExchange(emulator, token), "invalid_grant", STS_ERRORS.awsInvalidFormat);
    }
  });

  it("refuses a token whose x-goog-cloud-target-resource is missing or names another provider", async () => {
    const other = await awsExchange(
      emulator,
      emulator.awsSubjectToken({ audience: emulator.providerAudience("azure-provider") }),
    );
    expectOAuthError(other, "invalid_grant", /x-goog-cloud-target-resource.*does not match/);
    const missing = editAwsToken(emulator.awsSubjectToken(), (request) => {
      request.headers = request.headers.filter((header) => header.key !== "x-goog-cloud-target-resource");
    });
    expectOAuthError(await awsExchange(emulator, missing), "invalid_grant", /x-goog-cloud-target-resource/);
    // The https: form of the audience is the same provider.
    const https = emulator.awsSubjectToken({ audience: `https:${emulator.providerAudience()}` });
    expect((await awsExchange(emulator, https)).status).toBe(200);
  });

  it("passes AWS's verdict on the signature through: wrong secret, unknown key, expired key, stale date, wrong region", async () => {
    const instance = emulator.awsCredentials("instance");
    const wrongSecret = emulator.awsSubjectToken({
      credentials: { ...instance, secretAccessKey: "x".repeat(40) },
    });
    expectOAuthError(
      await awsExchange(emulator, wrongSecret),
      "invalid_grant",
      /^Received invalid AWS response of type SignatureDoesNotMatch with error message: The request signature we calculated/,
    );

    const unknown = emulator.awsSubjectToken({
      credentials: { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "s".repeat(40) },
    });
    expectOAuthError(
      await awsExchange(emulator, unknown),
      "invalid_grant",
      "Received invalid AWS response of type InvalidClientTokenId with error message: The security token included in the request is invalid.",
    );

    const stale = emulator.awsSubjectToken({ date: emulator.clock.now() - 16 * 60_000 });
    expectOAuthError(
      await awsExchange(emulator, stale),
      "invalid_grant",
      /type SignatureDoesNotMatch with error message: Signature expired: /,
    );

    const otherRegion = editAwsToken(emulator.awsSubjectToken({ region: "us-west-2" }), (request) => {
      request.url = "https://sts.us-east-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";
    });
    expectOAuthError(
      await awsExchange(emulator, otherRegion),
      "invalid_grant",
      /SignatureDoesNotMatch with error message: Credential should be scoped to a valid region, not 'us-west-2'/,
    );

    emulator.registerAwsKey({
      accessKeyId: "ASIAEXPIREDKEY000001",
      secretAccessKey: "e".repeat(40),
      sessionToken: "expired-session",
      arn: "arn:aws:sts::111122223333:assumed-role/old-role/old",
      expiresAt: emulator.clock.now() - 1000,
    });
    const expired = emulator.awsSubjectToken({
      credentials: {
        accessKeyId: "ASIAEXPIREDKEY000001",
        secretAccessKey: "e".repeat(40),
        sessionToken: "expired-session",
      },
    });
    expectOAuthError(
      await awsExchange(emulator, expired),
      "invalid_grant",
      "Received invalid AWS response of type ExpiredToken with error message: The security token included in the request is expired",
    );
  });

  it("refuses temporary credentials once they expire on the emulator clock", async () => {
    const instance = emulator.awsCredentials("instance");
    const token = () =>
      emulator.awsSubjectToken({
        credentials: {
          accessKeyId: instance.accessKeyId,
          secretAccessKey: instance.secretAccessKey,
          sessionToken: instance.sessionToken!,
        },
      });
    expect((await awsExchange(emulator, token())).status).toBe(200);
    emulator.clock.set(instance.expiresAt!.getTime() + 1000);
    expectOAuthError(await awsExchange(emulator, token()), "invalid_grant", /type ExpiredToken/);
  });

  it("refuses a credential from another AWS account than the provider's", async () => {
    const key = {
      accessKeyId: "AKIAOTHERACCOUNT0001",
      secretAccessKey: "o".repeat(40),
    };
    emulator.registerAwsKey({ ...key, arn: "arn:aws:iam::444455556666:user/intruder" });
    const reply = await awsExchange(emulator, emulator.awsSubjectToken({ credentials: key }));
    expectOAuthError(
      reply,
      "invalid_grant",
      /AWS account 444455556666 .* does not match the AWS account 111122223333/,
    );
  });

  it("accepts the IAM user's static keys, with the user ARN as subject", async () => {
    const reply = await awsExchange(emulator, emulator.awsSubjectToken({ credentials: "user" }));
    expect(reply.status).toBe(200);
    const introspection = await postForm(`${emulator.urls.sts}/v1/introspect`, {
      token: reply.json().access_token,
    });
    expect(introspection.json().sub).toBe("arn:aws:iam::111122223333:user/wifkit-user");
  });
});
