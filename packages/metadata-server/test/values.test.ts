import { describe, expect, it } from "vitest";
import { instanceIdFor, metadataValues, projectOfServiceAccount } from "../src/index.js";

const WORKLOAD =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/p/providers/x";
const WORKFORCE = "//iam.googleapis.com/locations/global/workforcePools/wf/providers/x";

describe("metadataValues", () => {
  it("takes the project from the impersonated service account and the number from the workload pool", () => {
    const values = metadataValues(
      {
        principal: {
          kind: "service_account",
          serviceAccount: "app@my-project.iam.gserviceaccount.com",
          audience: WORKLOAD,
          description: "",
        },
        quotaProjectId: "billing-project",
        universeDomain: "googleapis.com",
      },
      {},
      "build-host-1",
    );
    expect(values).toEqual({
      projectId: "my-project",
      numericProjectId: "123456789012",
      serviceAccountEmail: "app@my-project.iam.gserviceaccount.com",
      identity: true,
      universeDomain: "googleapis.com",
      instanceId: instanceIdFor("build-host-1"),
      instanceName: "build-host-1",
      hostname: "build-host-1",
      zone: "projects/123456789012/zones/unknown",
    });
  });

  it("uses the quota project and the GKE-style stand-in email without impersonation; overrides win", () => {
    const federated = {
      principal: { kind: "federated" as const, audience: WORKFORCE, description: "" },
      quotaProjectId: "billing-project",
      universeDomain: "example-universe.com",
    };
    expect(metadataValues(federated, {}, "h")).toMatchObject({
      projectId: "billing-project",
      numericProjectId: undefined,
      serviceAccountEmail: "billing-project.svc.id.goog",
      identity: false,
      universeDomain: "example-universe.com",
      zone: "projects/0/zones/unknown",
    });
    expect(
      metadataValues(
        federated,
        {
          projectId: "p-override",
          projectNumber: "42",
          serviceAccountEmail: "x@y",
          instanceName: "n",
          instanceId: "7",
          hostname: "n.internal",
          zone: "eu-a",
        },
        "h",
      ),
    ).toMatchObject({
      projectId: "p-override",
      numericProjectId: "42",
      serviceAccountEmail: "x@y",
      instanceName: "n",
      instanceId: "7",
      hostname: "n.internal",
      zone: "projects/42/zones/eu-a",
    });
    expect(metadataValues({ ...federated, quotaProjectId: undefined }, {}, "h").serviceAccountEmail).toBe(
      "default",
    );
  });

  it("serves a source that says nothing about itself with defaults, identity left to the source", () => {
    expect(metadataValues({}, {}, "h")).toMatchObject({
      serviceAccountEmail: "default",
      identity: true,
      universeDomain: "googleapis.com",
      hostname: "h",
    });
  });

  it("recognises user-managed service account emails only", () => {
    expect(projectOfServiceAccount("app@my-project.iam.gserviceaccount.com")).toBe("my-project");
    expect(projectOfServiceAccount("123-compute@developer.gserviceaccount.com")).toBeUndefined();
    expect(projectOfServiceAccount(undefined)).toBeUndefined();
  });

  it("derives a stable instance id of at most 19 digits from the host name", () => {
    expect(instanceIdFor("node-a")).toBe(instanceIdFor("node-a"));
    expect(instanceIdFor("node-a")).not.toBe(instanceIdFor("node-b"));
    expect(instanceIdFor("node-a")).toMatch(/^\d{1,19}$/);
  });
});
