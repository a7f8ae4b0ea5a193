import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { bearer, call, federatedToken, oidcExchange, postJson } from "./helpers.js";

let emulator: Emulator;
let reader: string;
let admin: string;
beforeAll(async () => {
  emulator = await startEmulator();
  reader = emulator.serviceAccountEmail("wifkit-reader");
  admin = emulator.serviceAccountEmail("wifkit-admin");
});
afterAll(() => emulator.stop());
afterEach(() => emulator.clock.set(Date.now()));

const url = (email: string, method: "generateAccessToken" | "generateIdToken", project = "-") =>
  `${emulator.urls.iamCredentials}/v1/projects/${project}/serviceAccounts/${email}:${method}`;

function permissionDeniedBody(permission: string) {
  return {
    error: {
      code: 403,
      message: `Permission '${permission}' denied on resource (or it may not exist).`,
      status: "PERMISSION_DENIED",
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "IAM_PERMISSION_DENIED",
          domain: "iam.googleapis.com",
          metadata: { permission },
        },
      ],
    },
  };
}

/** A federated token for the user-assigned Azure identity, which is bound only through the whole-pool member. */
async function userAssignedIdentityToken(): Promise<string> {
  const reply = await oidcExchange(emulator, emulator.mintEntraToken({ identity: "wifkit-identity" }));
  return reply.json().access_token;
}

describe("generateAccessToken", () => {
  it("issues a service account token for a bound federated identity, expiring per lifetime, RFC 3339 without fractions", async () => {
    const token = await federatedToken(emulator);
    const now = emulator.clock.now();
    const reply = await postJson(
      url(admin, "generateAccessToken"),
      { scope: ["https://www.googleapis.com/auth/cloud-platform"], lifetime: "1200s" },
      bearer(token),
    );
    expect(reply.status).toBe(200);
    const body = reply.json();
    expect(body.accessToken).toMatch(/^ya29\.c\./);
    expect(body.expireTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Math.abs(Date.parse(body.expireTime) - (now + 1_200_000))).toBeLessThan(15_000);
    const defaultLifetime = await postJson(
      url(reader, "generateAccessToken"),
      { scope: ["https://www.googleapis.com/auth/cloud-platform"] },
      bearer(token),
    );
    expect(Math.abs(Date.parse(defaultLifetime.json().expireTime) - (now + 3_600_000))).toBeLessThan(15_000);
  });

  it("answers 401 UNAUTHENTICATED without a token, with an unknown one and with an expired one", async () => {
    const token = await federatedToken(emulator);
    const body = { scope: ["https://www.googleapis.com/auth/cloud-platform"] };
    const none = await postJson(url(reader, "generateAccessToken"), body);
    const unknown = await postJson(url(reader, "generateAccessToken"), body, bearer("ya29.not-issued"));
    emulator.clock.advance(3601_000);
    const expired = await postJson(url(reader, "generateAccessToken"), body, bearer(token));
    for (const reply of [none, unknown, expired]) {
      expect(reply.status).toBe(401);
      expect(reply.json().error).toMatchObject({ code: 401, status: "UNAUTHENTICATED" });
    }
  });

  it("answers 403 PERMISSION_DENIED naming iam.serviceAccounts.getAccessToken for an identity not bound on the account", async () => {
    const reply = await postJson(
      url(admin, "generateAccessToken"),
      { scope: ["https://www.googleapis.com/auth/cloud-platform"] },
      bearer(await userAssignedIdentityToken()),
    );
    expect(reply.status).toBe(403);
    expect(reply.json()).toEqual(permissionDeniedBody("iam.serviceAccounts.getAccessToken"));
  });

  it("answers 403 when the caller's token lacks the cloud-platform or iam scope", async () => {
    const { accessToken } = emulator.issueGoogleToken({
      scopes: ["https://www.googleapis.com/auth/devstorage.read_only"],
    });
    const reply = await postJson(url(reader, "generateAccessToken"), { scope: ["x"] }, bearer(accessToken));
    expect(reply.status).toBe(403);
    expect(reply.json().error).toMatchObject({
      status: "PERMISSION_DENIED",
      message: "Request had insufficient authentication scopes.",
    });
  });

  it("answers 404 NOT_FOUND for an unknown service account, or 403 when configured like Google's hiding", async () => {
    const token = await federatedToken(emulator);
    const missing = "nobody@wifkit-demo.iam.gserviceaccount.com";
    const reply = await postJson(url(missing, "generateAccessToken"), { scope: ["x"] }, bearer(token));
    expect(reply.status).toBe(404);
    expect(reply.json().error).toEqual({
      code: 404,
      message: `Not found; Gaia id not found for email ${missing}`,
      status: "NOT_FOUND",
    });
    emulator.state.iam.unknownServiceAccount = "permission-denied";
    try {
      const hidden = await postJson(url(missing, "generateAccessToken"), { scope: ["x"] }, bearer(token));
      expect(hidden.status).toBe(403);
      expect(hidden.json()).toEqual(permissionDeniedBody("iam.serviceAccounts.getAccessToken"));
    } finally {
      emulator.state.iam.unknownServiceAccount = "not-found";
    }
  });

  it("answers 400 INVALID_ARGUMENT for a missing scope, a bad or too long lifetime, bad delegates and invalid JSON", async () => {
    const token = await federatedToken(emulator);
    const cases: unknown[] = [
      {},
      { scope: [] },
      { scope: ["x"], lifetime: "3601s" },
      { scope: ["x"], lifetime: "one hour" },
      { scope: ["x"], lifetime: "0s" },
      { scope: ["x"], delegates: ["wifkit-admin"] },
    ];
    for (const body of cases) {
      const reply = await postJson(url(reader, "generateAccessToken"), body, bearer(token));
      expect({ body, status: reply.status, error: reply.json().error.status }).toEqual({
        body,
        status: 400,
        error: "INVALID_ARGUMENT",
      });
    }
    const broken = await call(url(reader, "generateAccessToken"), {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(token) },
      body: "{",
    });
    expect(broken.status).toBe(400);
    expect(broken.json().error.status).toBe("INVALID_ARGUMENT");
  });

  it("allows lifetimes up to 12 hours only when the config raises the maximum", async () => {
    const token = await federatedToken(emulator);
    const body = { scope: ["https://www.googleapis.com/auth/cloud-platform"], lifetime: "43200s" };
    expect((await postJson(url(reader, "generateAccessToken"), body, bearer(token))).status).toBe(400);
    emulator.state.iam.maxAccessTokenLifetimeSeconds = 43200;
    try {
      const reply = await postJson(url(reader, "generateAccessToken"), body, bearer(token));
      expect(reply.status).toBe(200);
      expect(Date.parse(reply.json().expireTime) - emulator.clock.now()).toBeGreaterThan(43_000_000);
    } finally {
      emulator.state.iam.maxAccessTokenLifetimeSeconds = 3600;
    }
  });

  it("follows delegation chains: each hop needs roles/iam.serviceAccountTokenCreator on the next", async () => {
    const token = await federatedToken(emulator);
    const body = {
      scope: ["https://www.googleapis.com/auth/cloud-platform"],
      delegates: [`projects/-/serviceAccounts/${reader}`],
    };
    const refused = await postJson(url(admin, "generateAccessToken"), body, bearer(token));
    expect(refused.json()).toEqual(permissionDeniedBody("iam.serviceAccounts.getAccessToken"));
    emulator.reconfigure({
      serviceAccounts: {
        "wifkit-admin": {
          bindings: { "roles/iam.serviceAccountTokenCreator": [`serviceAccount:${reader}`] },
        },
      },
    });
    try {
      const allowed = await postJson(url(admin, "generateAccessToken"), body, bearer(token));
      expect(allowed.status).toBe(200);
      // A service account token is itself a bearer: reader's token can now mint admin's directly.
      const readerToken = (
        await postJson(
          url(reader, "generateAccessToken"),
          { scope: ["https://www.googleapis.com/auth/cloud-platform"] },
          bearer(token),
        )
      ).json().accessToken;
      const direct = await postJson(
        url(admin, "generateAccessToken"),
        { scope: ["https://www.googleapis.com/auth/cloud-platform"] },
        bearer(readerToken),
      );
      expect(direct.status).toBe(200);
      // The user-assigned identity may use reader, but a chain through reader needs reader to be the caller's first hop.
      const viaDelegate = await postJson(
        url(admin, "generateAccessToken"),
        body,
        bearer(await userAssignedIdentityToken()),
      );
      expect(viaDelegate.status).toBe(200);
      const badDelegate = await postJson(
        url(reader, "generateAccessToken"),
        { scope: ["x"], delegates: [`projects/-/serviceAccounts/${admin}`] },
        bearer(await userAssignedIdentityToken()),
      );
      expect(badDelegate.json()).toEqual(permissionDeniedBody("iam.serviceAccounts.implicitDelegation"));
    } finally {
      emulator.reconfigure({
        serviceAccounts: { "wifkit-admin": { bindings: { "roles/iam.serviceAccountTokenCreator": null } } },
      } as never);
    }
  });
});

describe("generateIdToken", () => {
  it("mints an RS256 ID token that verifies against the emulator's Google certs", async () => {
    const token = await federatedToken(emulator);
    const reply = await postJson(
      url(reader, "generateIdToken"),
      { audience: "https://service.example", includeEmail: true },
      bearer(token),
    );
    expect(reply.status).toBe(200);
    const jwks = createRemoteJWKSet(new URL(`${emulator.urls.googleCerts}/oauth2/v3/certs`));
    const { payload, protectedHeader } = await jwtVerify(reply.json().token, jwks, {
      issuer: "https://accounts.google.com",
      audience: "https://service.example",
      currentDate: new Date(emulator.clock.now()),
    });
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload).toMatchObject({ email: reader, email_verified: true, azp: payload.sub });
    expect(payload.exp! - payload.iat!).toBe(3600);
    const withoutEmail = await postJson(
      url(reader, "generateIdToken"),
      { audience: "https://service.example" },
      bearer(token),
    );
    const { payload: bare } = await jwtVerify(withoutEmail.json().token, jwks, {
      currentDate: new Date(emulator.clock.now()),
    });
    expect(bare.email).toBeUndefined();
    const discovery = (await call(`${emulator.urls.googleCerts}/.well-known/openid-configuration`)).json();
    expect(discovery).toMatchObject({
      issuer: "https://accounts.google.com",
      jwks_uri: `${emulator.urls.googleCerts}/oauth2/v3/certs`,
    });
  });

  it("answers 403 naming iam.serviceAccounts.getOpenIdToken, and 400 without an audience", async () => {
    const denied = await postJson(
      url(admin, "generateIdToken"),
      { audience: "a" },
      bearer(await userAssignedIdentityToken()),
    );
    expect(denied.json()).toEqual(permissionDeniedBody("iam.serviceAccounts.getOpenIdToken"));
    const noAudience = await postJson(
      url(reader, "generateIdToken"),
      {},
      bearer(await federatedToken(emulator)),
    );
    expect(noAudience.status).toBe(400);
    expect(noAudience.json().error.status).toBe("INVALID_ARGUMENT");
  });
});
