import { describe, expect, it } from "vitest";
import {
  DEFAULT_EMULATOR_CONFIG,
  EMPTY_EMULATOR_CONFIG,
  EmulatorConfigError,
  mergeConfig,
  resolveCompleteConfig,
  resolveConfig,
} from "./config.js";

const URLS = { entra: "http://127.0.0.1:1001", kubernetes: "http://127.0.0.1:1002" };

describe("mergeConfig", () => {
  it("merges objects key by key, replaces arrays and scalars, and deletes on null", () => {
    const merged = mergeConfig(
      { a: { b: 1, c: [1, 2] }, d: "x", e: { f: 1 } },
      { a: { c: [3] }, d: "y", e: null },
    );
    expect(merged).toEqual({ a: { b: 1, c: [3] }, d: "y" });
  });
});

describe("resolveConfig", () => {
  it("resolves the defaults: audiences, emails, ARNs and the Entra issuer", () => {
    const state = resolveConfig(undefined, URLS);
    const aws = state.pools["wifkit-pool"]!.providers["aws-provider"]!;
    expect(aws.audience).toBe(
      "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/providers/aws-provider",
    );
    expect(aws.awsAccountId).toBe("111122223333");
    expect(state.pools["wifkit-pool"]!.providers["azure-provider"]!.issuerUri).toBe(
      `${URLS.entra}/${DEFAULT_EMULATOR_CONFIG.azure.tenantId}`,
    );
    expect(state.azure.issuer).toBe(`${URLS.entra}/${DEFAULT_EMULATOR_CONFIG.azure.tenantId}/`);
    expect(state.serviceAccounts["wifkit-reader"]!.email).toBe(
      "wifkit-reader@wifkit-demo.iam.gserviceaccount.com",
    );
    expect(state.aws.instance.assumedRoleArn).toBe(
      "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role/i-0a1b2c3d4e5f60718",
    );
    expect(state.aws.instance.roleId).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(state.aws.users["wifkit-user"]!.arn).toBe("arn:aws:iam::111122223333:user/wifkit-user");
    expect(state.aws.roles["wifkit-irsa-role"]!.webIdentity!.issuer).toBe(URLS.kubernetes);
    expect(state.kubernetes.subject).toBe("system:serviceaccount:default:wifkit");
  });

  it("fills placeholders from overrides, so bindings follow a changed project number and account", () => {
    const state = resolveConfig({ projectNumber: "999", aws: { accountId: "444455556666" } }, URLS);
    const members = state.serviceAccounts["wifkit-admin"]!.bindings["roles/iam.workloadIdentityUser"]!;
    expect(members[0]).toBe(
      "principalSet://iam.googleapis.com/projects/999/locations/global/workloadIdentityPools/wifkit-pool/attribute.aws_role/arn:aws:sts::444455556666:assumed-role/wifkit-ec2-role",
    );
  });

  it("lets one provider be disabled or removed without restating the others", () => {
    const state = resolveConfig(
      {
        pools: {
          "wifkit-pool": {
            providers: { "aws-provider": { type: "aws", disabled: true }, "oidc-provider": null },
          },
        },
      },
      URLS,
    );
    const providers = state.pools["wifkit-pool"]!.providers;
    expect(providers["aws-provider"]!.disabled).toBe(true);
    expect(Object.keys(providers).sort()).toEqual(["aws-provider", "azure-provider"]);
  });

  it("names the field of an unusable config", () => {
    const cases: Array<[object, RegExp]> = [
      [{ projectNumber: "wifkit-demo" }, /projectNumber/],
      [{ aws: { accountId: "12" } }, /aws\.accountId/],
      [
        { pools: { "wifkit-pool": { providers: { "aws-provider": { type: "saml" } } } } },
        /providers\.aws-provider\.type/,
      ],
      [{ pools: { P: {} } }, /pools\.P: .*4-32 characters/],
      [{ pools: { "gcp-pool": {} } }, /pools\.gcp-pool: .*prefix `gcp-` is reserved/],
      [
        {
          pools: {
            "wifkit-pool": {
              providers: {
                "azure-provider": { allowedAudiences: Array.from({ length: 11 }, (_, i) => `api://a${i}`) },
              },
            },
          },
        },
        /azure-provider\.allowedAudiences: A maximum of 10 audiences/,
      ],
      [
        {
          pools: {
            "wifkit-pool": { providers: { "azure-provider": { issuerUri: "http://issuer.example" } } },
          },
        },
        /issuerUri: .*must be an HTTPS endpoint/,
      ],
      [{ pools: { "wifkit-pool": { displayName: "x".repeat(33) } } }, /displayName: .*32 characters/],
      [{ iam: { maxAccessTokenLifetimeSeconds: 50000 } }, /iam\.maxAccessTokenLifetimeSeconds/],
      [{ azure: { identities: { other: { type: "system", clientId: "a", objectId: "b" } } } }, /at most one/],
    ];
    for (const [config, message] of cases) {
      expect(() => resolveConfig(config as never, URLS)).toThrow(EmulatorConfigError);
      expect(() => resolveConfig(config as never, URLS)).toThrow(message);
    }
  });
});

describe("EMPTY_EMULATOR_CONFIG", () => {
  it("is a new project: no pools, service accounts or bucket bindings, only Google's default APIs", () => {
    const state = resolveCompleteConfig(EMPTY_EMULATOR_CONFIG, URLS);
    expect(state.pools).toEqual({});
    expect(state.serviceAccounts).toEqual({});
    expect(state.storage.buckets["wifkit-bucket"]!.bindings).toEqual({});
    expect(state.services).toEqual({ "serviceusage.googleapis.com": true, "storage.googleapis.com": true });
    // The workload's side stays: the object to guard, the AWS account, the Azure tenant.
    expect(state.storage.buckets["wifkit-bucket"]!.objects["hello.txt"]).toBeDefined();
    expect(state.aws.accountId).toBe("111122223333");
  });
});
