/**
 * The guide "Configure Workload Identity Federation with AWS or Azure VMs", replayed: the administrator's
 * gcloud commands, unchanged, against an empty emulated project, then the workload's half with a
 * credential config written by @wifkit/config's builder and driven by google-auth-library, both with
 * service account impersonation and with direct resource access.
 */
import { buildCredentialConfig, type SourceOptions } from "@wifkit/config";
import { ExternalAccountClient } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../src/index.js";
import { withProcessEnv } from "./env.js";
import { GCLOUD_TEST_TIMEOUT_MS, gcloud, gcloudMissing, gcloudOk } from "./gcloud.js";
import { bearer, call, exchange, JWT } from "./helpers.js";

const POOL = "guide-pool";
const SERVICE_ACCOUNT = "wif-workload";
const AWS_ACCOUNT = "111122223333";
/** The guide's mapping for an EC2 instance with an attached role, and its condition for AWS roles. */
const AWS_MAPPING =
  "google.subject=assertion.arn,attribute.account=assertion.account," +
  "attribute.aws_role=assertion.arn.extract('assumed-role/{role}/')," +
  "attribute.aws_ec2_instance=assertion.arn.extract('assumed-role/{role_and_session}').extract('/{session}')";
const AWS_CONDITION = `assertion.arn.startsWith('arn:aws:sts::${AWS_ACCOUNT}:assumed-role/')`;
const APP_ID_URI = "api://wifkit-demo";
const AZURE_OBJECT_ID = "4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a";
const EC2_ROLE_SESSION = `arn:aws:sts::${AWS_ACCOUNT}:assumed-role/wifkit-ec2-role/i-0a1b2c3d4e5f60718`;

describe.skipIf(gcloudMissing("gcloud guide replay"))(
  "the guide's gcloud commands against the emulator",
  { timeout: GCLOUD_TEST_TIMEOUT_MS },
  () => {
    let emulator: Emulator;
    let env: Record<string, string>;
    let restoreEnv: () => void;

    beforeAll(async () => {
      emulator = await startEmulator({ empty: true });
      env = emulator.gcloudEnv();
      restoreEnv = withProcessEnv({ NO_PROXY: "127.0.0.1,localhost" });
    });
    afterAll(async () => {
      restoreEnv();
      await emulator.stop();
    });

    it("answers SERVICE_DISABLED from STS and IAM Credentials before the APIs are enabled", async () => {
      const sts = await exchange(emulator, {
        audience: `//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/${POOL}/providers/azure-provider`,
        subject_token_type: JWT,
        subject_token: emulator.mintEntraToken(),
      });
      expect(sts.status).toBe(403);
      expect(sts.json().error).toMatchObject({
        code: 403,
        status: "PERMISSION_DENIED",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "SERVICE_DISABLED",
            domain: "googleapis.com",
            metadata: {
              service: "sts.googleapis.com",
              consumer: "projects/123456789012",
              activationUrl:
                "https://console.developers.google.com/apis/api/sts.googleapis.com/overview?project=123456789012",
            },
          },
          { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", locale: "en-US" },
          { "@type": "type.googleapis.com/google.rpc.Help" },
        ],
      });
      expect(sts.json().error.message).toMatch(
        /^Security Token Service API has not been used in project 123456789012 before or it is disabled\./,
      );
      const iam = await call(
        `${emulator.urls.iamCredentials}/v1/projects/-/serviceAccounts/x@wifkit-demo.iam.gserviceaccount.com:generateAccessToken`,
        { method: "POST", headers: bearer(env.CLOUDSDK_AUTH_ACCESS_TOKEN!), body: "{}" },
      );
      expect(iam.status).toBe(403);
      expect(iam.json().error.details[0]).toMatchObject({
        reason: "SERVICE_DISABLED",
        metadata: { service: "iamcredentials.googleapis.com" },
      });
    });

    it("sets up AWS and Azure with the guide's commands; configs from @wifkit/config read the object both ways", async () => {
      // Before you begin: enable the APIs, and find the project number for principal identifiers.
      const [, describeOut] = await Promise.all([
        gcloudOk(
          [
            "services",
            "enable",
            "iam.googleapis.com",
            "cloudresourcemanager.googleapis.com",
            "iamcredentials.googleapis.com",
            "sts.googleapis.com",
          ],
          env,
        ),
        gcloudOk(["projects", "describe", env.CLOUDSDK_CORE_PROJECT!, "--format=value(projectNumber)"], env),
      ]);
      const projectNumber = describeOut.trim();
      expect(projectNumber).toBe("123456789012");
      const pool = `projects/${projectNumber}/locations/global/workloadIdentityPools/${POOL}`;
      const principal = `principal://iam.googleapis.com/${pool}`;
      const principalSet = `principalSet://iam.googleapis.com/${pool}`;
      const email = `${SERVICE_ACCOUNT}@wifkit-demo.iam.gserviceaccount.com`;

      // Create the workload identity pool and the providers.
      await gcloudOk(
        [
          "iam",
          "workload-identity-pools",
          "create",
          POOL,
          "--location=global",
          "--description=Workloads on AWS and Azure",
          "--display-name=Guide pool",
        ],
        env,
      );
      await Promise.all([
        gcloudOk(
          [
            "iam",
            "workload-identity-pools",
            "providers",
            "create-aws",
            "aws-provider",
            "--location=global",
            `--workload-identity-pool=${POOL}`,
            `--account-id=${AWS_ACCOUNT}`,
            `--attribute-mapping=${AWS_MAPPING}`,
            `--attribute-condition=${AWS_CONDITION}`,
          ],
          env,
        ),
        gcloudOk(
          [
            "iam",
            "workload-identity-pools",
            "providers",
            "create-oidc",
            "azure-provider",
            "--location=global",
            `--workload-identity-pool=${POOL}`,
            `--issuer-uri=${emulator.urls.entra}/${emulator.state.azure.tenantId}`,
            `--allowed-audiences=${APP_ID_URI}`,
            "--attribute-mapping=google.subject=assertion.sub",
          ],
          env,
        ),
        // Service account impersonation: a service account that represents the workload...
        gcloudOk(
          ["iam", "service-accounts", "create", SERVICE_ACCOUNT, "--display-name=Guide workload"],
          env,
        ),
      ]);
      const grantOnBucket = (member: string) =>
        gcloudOk(
          [
            "storage",
            "buckets",
            "add-iam-policy-binding",
            "gs://wifkit-bucket",
            "--role=roles/storage.objectViewer",
            `--member=${member}`,
          ],
          env,
        );
      const grantOnServiceAccount = (member: string) =>
        gcloudOk(
          [
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
            email,
            "--role=roles/iam.workloadIdentityUser",
            `--member=${member}`,
          ],
          env,
        );
      // ...with access to the resource, and federated principals allowed to impersonate it (by attribute,
      // by subject); direct resource access grants the federated principals the role on the bucket.
      await Promise.all([
        grantOnBucket(`serviceAccount:${email}`),
        grantOnServiceAccount(`${principalSet}/attribute.aws_role/wifkit-ec2-role`),
      ]);
      await Promise.all([
        grantOnBucket(`${principal}/subject/${EC2_ROLE_SESSION}`),
        grantOnServiceAccount(`${principal}/subject/${AZURE_OBJECT_ID}`),
      ]);
      await grantOnBucket(`${principal}/subject/${AZURE_OBJECT_ID}`);

      // The workload's half: a credential configuration as create-cred-config writes it, pointed at the
      // emulator's endpoints, read by google-auth-library.
      const endpoints = {
        tokenUrl: `${emulator.urls.sts}/v1/token`,
        tokenInfoUrl: `${emulator.urls.sts}/v1/introspect`,
        iamCredentialsBaseUrl: emulator.urls.iamCredentials,
        awsMetadataBaseUrl: emulator.urls.awsImds,
        azureMetadataBaseUrl: emulator.urls.azureImds,
      };
      const readObject = async (provider: string, source: SourceOptions, serviceAccount?: string) => {
        const config = buildCredentialConfig({
          resource: `${pool}/providers/${provider}`,
          source,
          ...(serviceAccount ? { serviceAccount } : {}),
          endpoints,
        });
        const client = ExternalAccountClient.fromJSON(
          config as Parameters<typeof ExternalAccountClient.fromJSON>[0],
        );
        if (!client) throw new Error("google-auth-library refused the credential config");
        const { token } = await client.getAccessToken();
        const response = await call(
          `${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`,
          { headers: bearer(token ?? "") },
        );
        return { token, status: response.status, body: response.text };
      };
      const aws: SourceOptions = { kind: "aws", enableImdsv2: true };
      const azure: SourceOptions = { kind: "azure", appIdUri: APP_ID_URI };
      for (const [provider, source] of [
        ["aws-provider", aws],
        ["azure-provider", azure],
      ] as const) {
        const impersonated = await readObject(provider, source, email);
        expect(impersonated.token).toMatch(/^ya29\.c\./);
        expect(impersonated).toMatchObject({ status: 200, body: "hello from wifkit\n" });
        const direct = await readObject(provider, source);
        expect(direct.token).toMatch(/^ya29\.d\./);
        expect(direct).toMatchObject({ status: 200, body: "hello from wifkit\n" });
      }

      // The condition the guide recommends is enforced: an IAM user is not an assumed role.
      const user = await exchange(emulator, {
        audience: `//iam.googleapis.com/${pool}/providers/aws-provider`,
        subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
        subject_token: emulator.awsSubjectToken({
          credentials: "user",
          audience: `//iam.googleapis.com/${pool}/providers/aws-provider`,
        }),
      });
      expect(user.json()).toEqual({
        error: "unauthorized_client",
        error_description: "The given credential is rejected by the attribute condition.",
      });
    });

    it("refuses what Google refuses, with Google's reasons", async () => {
      const [reserved, audiences, noSubject, projectId] = await Promise.all([
        gcloud(["iam", "workload-identity-pools", "create", "gcp-pool", "--location=global"], env),
        gcloud(
          [
            "iam",
            "workload-identity-pools",
            "providers",
            "create-oidc",
            "eleven",
            "--location=global",
            `--workload-identity-pool=${POOL}`,
            "--issuer-uri=https://issuer.example",
            `--allowed-audiences=${Array.from({ length: 11 }, (_, index) => `api://app-${index}`).join(",")}`,
            "--attribute-mapping=google.subject=assertion.sub",
          ],
          env,
        ),
        gcloud(
          [
            "iam",
            "workload-identity-pools",
            "providers",
            "create-oidc",
            "nosubject",
            "--location=global",
            `--workload-identity-pool=${POOL}`,
            "--issuer-uri=https://issuer.example",
            "--attribute-mapping=attribute.tid=assertion.tid",
          ],
          env,
        ),
        gcloud(
          [
            "storage",
            "buckets",
            "add-iam-policy-binding",
            "gs://wifkit-bucket",
            "--role=roles/storage.objectViewer",
            `--member=principal://iam.googleapis.com/projects/wifkit-demo/locations/global/workloadIdentityPools/${POOL}/subject/x`,
          ],
          env,
        ),
      ]);
      expect(reserved.code).not.toBe(0);
      expect(reserved.stderr).toMatch(/INVALID_ARGUMENT: .*the prefix `gcp-` is reserved for use by Google/);
      expect(audiences.stderr).toMatch(/INVALID_ARGUMENT: A maximum of 10 audiences may be configured/);
      expect(noSubject.stderr).toMatch(/INVALID_ARGUMENT: .*google\.subject/);
      expect(projectId.stderr).toMatch(/project number/);
      expect(Object.keys(emulator.state.pools)).toEqual([POOL]);
    });
  },
);
