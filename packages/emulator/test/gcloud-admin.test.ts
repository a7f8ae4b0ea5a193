/**
 * The rest of the gcloud surface the emulator serves, beyond the guide's own commands: describe, list,
 * update, delete and undelete of pools and providers, service account policy reads and removals, and
 * Service Usage's list and disable, each checked by what the emulated services then do.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { GCLOUD_TEST_TIMEOUT_MS, gcloudMissing, gcloudOk } from "./gcloud.js";
import { awsExchange, bearer, oidcExchange, postJson } from "./helpers.js";

const POOL_FLAGS = ["--location=global", "--workload-identity-pool=wifkit-pool"];

describe.skipIf(gcloudMissing("gcloud admin commands"))(
  "gcloud administers the emulator",
  { timeout: GCLOUD_TEST_TIMEOUT_MS },
  () => {
    let emulator: Emulator;
    let env: Record<string, string>;
    const run = (...args: string[]) => gcloudOk(args, env);
    const json = async (...args: string[]) => JSON.parse(await run(...args, "--format=json"));

    beforeAll(async () => {
      emulator = await startEmulator();
      env = emulator.gcloudEnv();
    });
    afterAll(() => emulator.stop());

    it.concurrent("pools: create, update, describe, delete, list --show-deleted, undelete", async () => {
      const pools = ["iam", "workload-identity-pools"];
      await run(...pools, "create", "lifecycle-pool", "--location=global", "--display-name=Before");
      await run(
        ...pools,
        "update",
        "lifecycle-pool",
        "--location=global",
        "--display-name=After",
        "--disabled",
      );
      expect(await json(...pools, "describe", "lifecycle-pool", "--location=global")).toEqual({
        name: "projects/123456789012/locations/global/workloadIdentityPools/lifecycle-pool",
        displayName: "After",
        state: "ACTIVE",
        disabled: true,
      });
      await run(...pools, "delete", "lifecycle-pool", "--location=global");
      const [withDeleted, active] = await Promise.all([
        json(...pools, "list", "--location=global", "--show-deleted"),
        json(...pools, "list", "--location=global"),
      ]);
      const deleted = withDeleted.find((pool: { name: string }) => pool.name.endsWith("/lifecycle-pool"));
      expect(deleted).toMatchObject({ state: "DELETED", expireTime: expect.stringMatching(/Z$/) });
      // Google keeps a deleted pool for 30 days.
      expect(Date.parse(deleted.expireTime) - emulator.clock.now()).toBeGreaterThan(29 * 86_400_000);
      expect(active.map((pool: { name: string }) => pool.name.split("/").pop())).toEqual(["wifkit-pool"]);
      await run(...pools, "undelete", "lifecycle-pool", "--location=global");
      expect(emulator.state.pools["lifecycle-pool"]).toMatchObject({ deleteTime: undefined, disabled: true });
    });

    it.concurrent("providers: describe, list, update-aws, update-oidc, delete, undelete", async () => {
      const providers = ["iam", "workload-identity-pools", "providers"];
      // An AWS provider created without a mapping shows Google's default one.
      const aws = await json(...providers, "describe", "aws-provider", ...POOL_FLAGS);
      expect(aws).toMatchObject({
        aws: { accountId: "111122223333" },
        attributeMapping: { "google.subject": "assertion.arn", "attribute.aws_role": expect.any(String) },
        state: "ACTIVE",
      });

      await run(
        ...providers,
        "update-aws",
        "aws-provider",
        ...POOL_FLAGS,
        "--attribute-condition=attribute.aws_role.endsWith('/other-role')",
      );
      const refused = await awsExchange(emulator, emulator.awsSubjectToken());
      expect(refused.json()).toMatchObject({ error: "unauthorized_client" });
      await run(...providers, "update-aws", "aws-provider", ...POOL_FLAGS, "--disabled");
      expect((await awsExchange(emulator, emulator.awsSubjectToken())).json()).toMatchObject({
        error: "invalid_target",
      });

      await run(
        ...providers,
        "update-oidc",
        "azure-provider",
        ...POOL_FLAGS,
        "--allowed-audiences=api://other",
      );
      const wrongAudience = await oidcExchange(emulator, emulator.mintEntraToken());
      expect(wrongAudience.json().error_description).toMatch(/audience/);
      expect(
        (await oidcExchange(emulator, emulator.mintEntraToken({ resource: "api://other" }))).status,
      ).toBe(200);

      await run(...providers, "delete", "oidc-provider", ...POOL_FLAGS);
      const listed = await json(...providers, "list", ...POOL_FLAGS);
      expect(listed.map((provider: { name: string }) => provider.name.split("/").pop()).sort()).toEqual([
        "aws-provider",
        "azure-provider",
      ]);
      const kubernetesToken = emulator.mintKubernetesToken({
        audience: `https:${emulator.providerAudience("oidc-provider")}`,
      });
      const deleted = await oidcExchange(emulator, kubernetesToken, "oidc-provider");
      expect(deleted.json()).toMatchObject({ error: "invalid_target" });
      await run(...providers, "undelete", "oidc-provider", ...POOL_FLAGS);
      expect((await oidcExchange(emulator, kubernetesToken, "oidc-provider")).status).toBe(200);
    });

    it.concurrent("services list and disable; service account get-iam-policy and remove-iam-policy-binding", async () => {
      const enabled = await json("services", "list", "--enabled");
      expect(enabled.map((service: { config: { name: string } }) => service.config.name)).toEqual(
        expect.arrayContaining(["sts.googleapis.com", "iamcredentials.googleapis.com"]),
      );

      const admin = emulator.serviceAccountEmail("wifkit-admin");
      const federated = emulator.issueGoogleToken().accessToken; // the EC2 role's federated identity
      const impersonate = () =>
        postJson(
          `${emulator.urls.iamCredentials}/v1/projects/-/serviceAccounts/${admin}:generateAccessToken`,
          { scope: ["https://www.googleapis.com/auth/cloud-platform"] },
          bearer(federated),
        );
      expect((await impersonate()).status).toBe(200);

      await run("services", "disable", "iamcredentials.googleapis.com");
      const disabled = await impersonate();
      expect(disabled.status).toBe(403);
      expect(disabled.json().error.details[0]).toMatchObject({
        reason: "SERVICE_DISABLED",
        metadata: { service: "iamcredentials.googleapis.com", consumer: "projects/123456789012" },
      });
      await run("services", "enable", "iamcredentials.googleapis.com");

      const policy = await json("iam", "service-accounts", "get-iam-policy", admin);
      const member = policy.bindings[0].members.find((m: string) => m.includes("attribute.aws_role"));
      expect(member).toMatch(/^principalSet:\/\/iam\.googleapis\.com\/projects\/123456789012\//);
      await run(
        "iam",
        "service-accounts",
        "remove-iam-policy-binding",
        admin,
        "--role=roles/iam.workloadIdentityUser",
        `--member=${member}`,
      );
      const missingBinding = await impersonate();
      expect(missingBinding.status).toBe(403);
      expect(missingBinding.json()).toEqual({
        error: {
          code: 403,
          message:
            "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
          status: "PERMISSION_DENIED",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.ErrorInfo",
              reason: "IAM_PERMISSION_DENIED",
              domain: "iam.googleapis.com",
              metadata: { permission: "iam.serviceAccounts.getAccessToken" },
            },
          ],
        },
      });
      const after = await json("iam", "service-accounts", "get-iam-policy", admin);
      expect(after.etag).not.toBe(policy.etag);
      expect(JSON.stringify(after.bindings)).not.toContain(member);
    });
  },
);
