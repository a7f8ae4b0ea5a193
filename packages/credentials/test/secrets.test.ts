/**
 * No token, secret or subject token in any error message: each failure a user can meet is provoked against
 * the emulator, and its message, its cause chain and its upstream fields are searched for every secret the
 * failing call handled.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Credentials, fromConfig } from "../src/index.js";
import { cleanup, fakeJwt, sendJson, serve, tempDir } from "./helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await cleanup();
  await emulator.stop();
});

/** Every string a user might log from an error: message, stack, upstream fields, and the same for causes. */
function loggableText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, String(current.stack));
      const fields = current as unknown as Record<string, unknown>;
      for (const key of ["upstreamError", "upstreamDescription", "url"]) {
        if (typeof fields[key] === "string") parts.push(fields[key] as string);
      }
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join("\n");
}

/** Forms of a secret that would also count as leaking it. */
function variants(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString("base64")];
  // A JWT's signature alone is as good as the whole token for a replay inside its lifetime.
  const signature = secret.split(".")[2];
  if (signature && signature.length > 16) forms.push(signature);
  return forms;
}

async function expectNoSecrets(call: Promise<unknown>, secrets: string[], code: RegExp): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toMatch(code);
  const text = loggableText(error);
  for (const secret of secrets) {
    for (const form of variants(secret)) expect(text).not.toContain(form);
  }
}

async function fileCredentials(token: string, extra: { serviceAccount?: string } = {}): Promise<Credentials> {
  const dir = await tempDir();
  const path = join(dir, "token");
  await writeFile(path, token);
  return fromConfig(emulator.credentialConfig({ source: "file", file: path, ...extra }), {
    allow: { origins: emulator.allowOrigins },
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
}

const oidcAudience = () => `https:${emulator.credentialConfig({ source: "file" }).audience}`;

describe("error messages never carry secrets", () => {
  it("STS rejecting a forged subject token", async () => {
    const forged = fakeJwt({ iss: emulator.state.kubernetes.issuer, sub: "attacker", aud: oidcAudience() });
    await expectNoSecrets((await fileCredentials(forged)).getAccessToken(), [forged], /^ERR_WIF_STS_/);
  });

  it("STS rejecting an expired subject token", async () => {
    const expired = emulator.mintKubernetesToken({ audience: oidcAudience(), lifetimeSeconds: 60 });
    emulator.clock.advance(10 * 60_000);
    try {
      await expectNoSecrets((await fileCredentials(expired)).getAccessToken(), [expired], /^ERR_WIF_STS_/);
    } finally {
      emulator.clock.advance(-10 * 60_000);
    }
  });

  it("STS rejecting by attribute condition", async () => {
    emulator.reconfigure({
      pools: {
        "wifkit-pool": {
          providers: { "oidc-provider": { type: "oidc", attributeCondition: "assertion.sub == 'nobody'" } },
        },
      },
    });
    try {
      const token = emulator.mintKubernetesToken({ audience: oidcAudience() });
      await expectNoSecrets(
        (await fileCredentials(token)).getAccessToken(),
        [token],
        /^ERR_WIF_STS_REJECTED_BY_CONDITION$/,
      );
    } finally {
      emulator.reconfigure({
        pools: {
          "wifkit-pool": { providers: { "oidc-provider": { type: "oidc", attributeCondition: "true" } } },
        },
      });
    }
  });

  it("IAM denying impersonation of a service account the principal is not bound to", async () => {
    const token = emulator.mintKubernetesToken({ audience: oidcAudience() });
    const credentials = await fileCredentials(token, { serviceAccount: "wifkit-admin" });
    const federated = emulator.counters.get("sts.token");
    await expectNoSecrets(credentials.getAccessToken(), [token], /^ERR_WIF_IAM_PERMISSION_DENIED$/);
    expect(emulator.counters.get("sts.token")).toBe(federated + 1);
    await expectNoSecrets(
      credentials.getIdToken({ audience: "https://svc" }),
      [token],
      /^ERR_WIF_IAM_PERMISSION_DENIED$/,
    );
  });

  it("STS unavailable after every retry, and a timeout", async () => {
    const token = emulator.mintKubernetesToken({ audience: oidcAudience() });
    emulator.faults.inject("sts.token", { status: 503, times: 10 });
    try {
      await expectNoSecrets(
        (await fileCredentials(token)).getAccessToken(),
        [token],
        /^ERR_WIF_STS_UNAVAILABLE$/,
      );
    } finally {
      emulator.faults.clear();
    }
    emulator.faults.inject("sts.token", { delayMs: 2_000, times: 10 });
    try {
      const credentials = await fileCredentials(token);
      await expectNoSecrets(credentials.getAccessToken({ timeoutMs: 200 }), [token], /^ERR_WIF_TIMEOUT$/);
    } finally {
      emulator.faults.clear();
    }
  });

  it("a workforce client secret rejected by STS", async () => {
    const secret = "workforce-client-secret-value-123";
    const token = emulator.mintKubernetesToken({ audience: oidcAudience() });
    const dir = await tempDir();
    const path = join(dir, "token");
    await writeFile(path, token);
    emulator.faults.inject("sts.token", {
      status: 401,
      body: { error: "invalid_client", error_description: `Client authentication failed for ${secret}` },
    });
    const credentials = await fromConfig(
      {
        ...emulator.credentialConfig({ source: "file", file: path }),
        client_id: "client-id",
        client_secret: secret,
      },
      { allow: { origins: emulator.allowOrigins } },
    );
    await expectNoSecrets(
      credentials.getAccessToken(),
      [token, secret, `client-id:${secret}`],
      /^ERR_WIF_STS_/,
    );
  });

  it("a refresh token and client secret rejected by STS (authorized user)", async () => {
    const refreshToken = "1//0refresh-token-value-abcdefghijklmnop";
    const secret = "authorized-user-client-secret";
    emulator.faults.inject("sts.*", {
      status: 400,
      body: { error: "invalid_grant", error_description: `Bad refresh token ${refreshToken}` },
    });
    try {
      const credentials = await fromConfig(
        {
          type: "external_account_authorized_user",
          audience: "//iam.googleapis.com/locations/global/workforcePools/staff/providers/okta",
          refresh_token: refreshToken,
          token_url: `${emulator.urls.sts}/v1/oauthtoken`,
          client_id: "client",
          client_secret: secret,
        },
        { allow: { origins: emulator.allowOrigins } },
      );
      await expectNoSecrets(credentials.getAccessToken(), [refreshToken, secret], /^ERR_WIF_STS_/);
    } finally {
      emulator.faults.clear();
    }
  });

  it("a URL source that rejects the request, echoing its API key header", async () => {
    const apiKey = "url-source-api-key-0123456789";
    const source = await serve((req, res) =>
      sendJson(res, 401, { error: "unauthorized", error_description: `bad key ${req.headers["x-api-key"]}` }),
    );
    const credentials = await fromConfig(
      emulator.credentialConfig({
        source: "url",
        url: `${source.origin}/token?key=${apiKey}`,
        headers: { "x-api-key": apiKey },
      }),
      { allow: { origins: [...emulator.allowOrigins, source.origin] } },
    );
    await expectNoSecrets(credentials.getAccessToken(), [apiKey], /^ERR_WIF_SUBJECT_TOKEN_URL_FAILED$/);
  });

  it("a service account token that the guarded object refuses is not echoed by the credential's errors", async () => {
    const token = emulator.mintKubernetesToken({ audience: oidcAudience() });
    const credentials = await fileCredentials(token, { serviceAccount: "wifkit-reader" });
    const accessToken = await credentials.getAccessToken();
    // The federated token is now cached; a failing ID token call must not mention it or the SA token.
    emulator.faults.inject("iam.generateIdToken", { status: 500, times: 10 });
    try {
      await expectNoSecrets(
        credentials.getIdToken({ audience: "https://svc" }),
        [token, accessToken.value],
        /^ERR_WIF_IAM_UNAVAILABLE$/,
      );
    } finally {
      emulator.faults.clear();
    }
  });
});
