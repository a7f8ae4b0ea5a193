/**
 * Integration tests against the emulator's Google STS, over real HTTP on 127.0.0.1: emulator-minted OIDC,
 * Entra and AWS subject tokens are exchanged, each class of rejection maps to its code, and faults exercise
 * the retry policy.
 */
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exchangeToken, introspectToken, type StsError } from "../src/index.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  emulator.faults.clear();
  emulator.counters.reset();
});

const JWT = "urn:ietf:params:oauth:token-type:jwt";
const fast = { baseDelayMs: 1, maxDelayMs: 5 };
const tokenUrl = () => `${emulator.urls.sts}/v1/token`;

/** A Kubernetes service-account token whose audience is the oidc-provider's own name, as Google expects. */
function kubernetesToken(lifetimeSeconds?: number): { audience: string; subjectToken: string } {
  const audience = emulator.providerAudience("oidc-provider");
  const subjectToken = emulator.mintKubernetesToken({
    audience: `https:${audience}`,
    ...(lifetimeSeconds === undefined ? {} : { lifetimeSeconds }),
  });
  return { audience, subjectToken };
}

async function rejection(promise: Promise<unknown>): Promise<StsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as StsError;
}

describe("exchangeToken against the emulator", () => {
  it("exchanges an emulator-minted OIDC token for a federated token that introspects as active", async () => {
    const { audience, subjectToken } = kubernetesToken();
    const before = Date.now();
    const result = await exchangeToken({
      tokenUrl: tokenUrl(),
      audience,
      subjectToken,
      subjectTokenType: JWT,
    });
    expect(result.tokenType).toBe("Bearer");
    expect(result.issuedTokenType).toBe("urn:ietf:params:oauth:token-type:access_token");
    expect(result.expiresIn).toBeGreaterThan(0);
    expect(result.expiresIn).toBeLessThanOrEqual(3600);
    expect(result.expiresAt.getTime()).toBeGreaterThan(before);
    expect(emulator.counters.get("sts.token")).toBe(1);

    const info = await introspectToken({
      tokenInfoUrl: `${emulator.urls.sts}/v1/introspect`,
      token: result.accessToken,
    });
    expect(info.active).toBe(true);
  });

  it("exchanges an Entra managed-identity token at the Azure provider", async () => {
    const result = await exchangeToken({
      tokenUrl: tokenUrl(),
      audience: emulator.providerAudience("azure-provider"),
      subjectToken: emulator.mintEntraToken({ resource: "api://wifkit-demo" }),
      subjectTokenType: JWT,
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
    });
    expect(result.accessToken.length).toBeGreaterThan(0);
  });

  it("exchanges a signed AWS GetCallerIdentity at the AWS provider", async () => {
    const audience = emulator.providerAudience("aws-provider");
    const result = await exchangeToken({
      tokenUrl: tokenUrl(),
      audience,
      subjectToken: emulator.awsSubjectToken({ audience }),
      subjectTokenType: "urn:ietf:params:aws:token-type:aws4_request",
    });
    expect(result.accessToken.length).toBeGreaterThan(0);
  });
});

describe("STS rejections from the emulator", () => {
  it("maps an audience that is not a provider name to ERR_WIF_STS_BAD_REQUEST, without retrying", async () => {
    const { subjectToken } = kubernetesToken();
    const error = await rejection(
      exchangeToken({
        tokenUrl: tokenUrl(),
        audience: "oidc-provider",
        subjectToken,
        subjectTokenType: JWT,
        retry: fast,
      }),
    );
    expect(error.code).toBe("ERR_WIF_STS_BAD_REQUEST");
    expect(error.upstreamError).toBe("invalid_request");
    expect(error.message).toContain("full resource name");
    expect(error.message).not.toContain(subjectToken);
    expect(emulator.counters.get("sts.token")).toBe(1);
  });

  it("maps an unknown provider to ERR_WIF_STS_BAD_REQUEST (invalid_target)", async () => {
    const { subjectToken } = kubernetesToken();
    const error = await rejection(
      exchangeToken({
        tokenUrl: tokenUrl(),
        audience: emulator.providerAudience("oidc-provider").replace(/oidc-provider$/, "no-such-provider"),
        subjectToken,
        subjectTokenType: JWT,
      }),
    );
    expect(error.code).toBe("ERR_WIF_STS_BAD_REQUEST");
    expect(error.upstreamError).toBe("invalid_target");
    expect(error.message).toContain(
      "Provider no-such-provider of pool wifkit-pool in project 123456789012 does not exist, is disabled or was deleted",
    );
    expect(error.message).toContain(
      "`gcloud iam workload-identity-pools providers describe projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/providers/no-such-provider`",
    );
  });

  it("maps SERVICE_DISABLED to ERR_WIF_SERVICE_DISABLED with the command that enables STS in the pool's project", async () => {
    emulator.reconfigure({ services: { "sts.googleapis.com": false } });
    try {
      const { audience, subjectToken } = kubernetesToken();
      const error = await rejection(
        exchangeToken({ tokenUrl: tokenUrl(), audience, subjectToken, subjectTokenType: JWT }),
      );
      expect(error.code).toBe("ERR_WIF_SERVICE_DISABLED");
      expect(error.status).toBe(403);
      expect(error.reason).toBe("SERVICE_DISABLED");
      expect(error.fix).toBe("gcloud services enable sts.googleapis.com --project=123456789012");
      expect(error.message).toContain(
        "the Security Token Service API (sts.googleapis.com) is not enabled in project 123456789012. Enable it: gcloud services enable sts.googleapis.com --project=123456789012",
      );
      expect(error.message).not.toMatch(/audience|attribute condition/);
      expect(error.message).not.toContain(subjectToken);
      expect(emulator.counters.get("sts.token")).toBe(1);
    } finally {
      emulator.reconfigure({ services: { "sts.googleapis.com": true } });
    }
  });

  it("maps a token for another audience to ERR_WIF_STS_INVALID_SUBJECT_TOKEN", async () => {
    const subjectToken = emulator.mintKubernetesToken({ audience: "https://somewhere-else.example" });
    const error = await rejection(
      exchangeToken({
        tokenUrl: tokenUrl(),
        audience: emulator.providerAudience("oidc-provider"),
        subjectToken,
        subjectTokenType: JWT,
      }),
    );
    expect(error.code).toBe("ERR_WIF_STS_INVALID_SUBJECT_TOKEN");
    expect(error.upstreamError).toBe("invalid_grant");
    expect(error.message).not.toContain(subjectToken);
  });

  it("maps an expired subject token to ERR_WIF_STS_INVALID_SUBJECT_TOKEN", async () => {
    const { audience, subjectToken } = kubernetesToken(600);
    emulator.clock.advance(2 * 60 * 60 * 1000);
    const error = await rejection(
      exchangeToken({ tokenUrl: tokenUrl(), audience, subjectToken, subjectTokenType: JWT }),
    );
    expect(error.code).toBe("ERR_WIF_STS_INVALID_SUBJECT_TOKEN");
    expect(error.message).toContain("expired");
  });

  it("maps an attribute-condition rejection to ERR_WIF_STS_REJECTED_BY_CONDITION", async () => {
    // The emulator's state is live: the next request sees the new condition.
    const provider = emulator.state.pools["wifkit-pool"]?.providers["oidc-provider"];
    if (!provider) throw new Error("the emulator has no oidc-provider");
    provider.attributeCondition = "assertion.sub == 'nobody'";
    try {
      const { audience, subjectToken } = kubernetesToken();
      const error = await rejection(
        exchangeToken({ tokenUrl: tokenUrl(), audience, subjectToken, subjectTokenType: JWT }),
      );
      expect(error.code).toBe("ERR_WIF_STS_REJECTED_BY_CONDITION");
      expect(error.message).toContain("attribute condition");
      expect(error.message).not.toContain(subjectToken);
    } finally {
      provider.attributeCondition = undefined;
    }
  });
});

describe("STS faults from the emulator", () => {
  it("retries a 503 and a 429 with Retry-After, then succeeds", async () => {
    emulator.faults.inject("sts.token", { status: 503 });
    emulator.faults.inject("sts.token", { retryAfterSeconds: 1 });
    const { audience, subjectToken } = kubernetesToken();
    const result = await exchangeToken({
      tokenUrl: tokenUrl(),
      audience,
      subjectToken,
      subjectTokenType: JWT,
      retry: fast,
    });
    expect(result.accessToken.length).toBeGreaterThan(0);
    expect(emulator.counters.get("sts.token")).toBe(3);
  });

  it("reports throttling as ERR_WIF_STS_THROTTLED once the retry budget is spent", async () => {
    emulator.faults.inject("sts.token", { status: 429, times: 5 });
    const { audience, subjectToken } = kubernetesToken();
    const error = await rejection(
      exchangeToken({
        tokenUrl: tokenUrl(),
        audience,
        subjectToken,
        subjectTokenType: JWT,
        retry: { ...fast, retries: 2 },
      }),
    );
    expect(error.code).toBe("ERR_WIF_STS_THROTTLED");
    expect(emulator.counters.get("sts.token")).toBe(3);
  });

  it("times out a hanging STS", async () => {
    emulator.faults.inject("sts.token", { delayMs: 2_000 });
    const { audience, subjectToken } = kubernetesToken();
    const error = await rejection(
      exchangeToken({
        tokenUrl: tokenUrl(),
        audience,
        subjectToken,
        subjectTokenType: JWT,
        timeoutMs: 200,
        retry: false,
      }),
    );
    expect(error.code).toBe("ERR_WIF_TIMEOUT");
    expect(error.message).not.toContain(subjectToken);
  });
});
