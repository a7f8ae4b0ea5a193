import { describe, expect, it } from "vitest";
import { compileProviderRules } from "./provider-rules.js";
import { AZURE_V1_CLAIMS, caught, EC2_ASSERTION, IAM_USER_ASSERTION } from "./test-helpers.js";

describe("compileProviderRules", () => {
  it("uses Google's default AWS mapping when an AWS provider defines none", () => {
    const rules = compileProviderRules({ providerType: "aws" });
    expect(rules.evaluate(EC2_ASSERTION)).toEqual({
      subject: EC2_ASSERTION.arn,
      groups: [],
      attributes: { aws_role: "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role" },
    });
    expect(compileProviderRules({ providerType: "aws", mapping: {} }).mapping.mapping["google.subject"]).toBe(
      "assertion.arn",
    );
  });

  it("requires google.subject for an OIDC provider without a mapping", () => {
    expect(caught(() => compileProviderRules({ providerType: "oidc" })).code).toBe(
      "ERR_WIF_MAPPING_SUBJECT_REQUIRED",
    );
  });

  it("accepts credentials the condition allows and rejects others with Google's text", () => {
    const rules = compileProviderRules({
      providerType: "aws",
      condition: "attribute.aws_role == 'arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role'",
    });
    expect(rules.evaluate(EC2_ASSERTION).subject).toBe(EC2_ASSERTION.arn);
    const rejected = caught(() => rules.evaluate(IAM_USER_ASSERTION));
    expect(rejected.code).toBe("ERR_WIF_CONDITION_REJECTED");
    expect(rejected.stsError).toBe("unauthorized_client");
    expect(rejected.message).toBe("The given credential is rejected by the attribute condition.");
    expect(rules.decide(IAM_USER_ASSERTION)).toEqual({
      accepted: false,
      mapped: {
        subject: IAM_USER_ASSERTION.arn,
        groups: [],
        attributes: { aws_role: IAM_USER_ASSERTION.arn },
      },
    });
  });

  it("treats a blank condition as unset", () => {
    const rules = compileProviderRules({ mapping: "google.subject=assertion.sub", condition: " " });
    expect(rules.condition).toBeUndefined();
    expect(rules.decide(AZURE_V1_CLAIMS).accepted).toBe(true);
  });

  it("passes google.groups to the condition only when the mapping maps it", () => {
    const withGroups = compileProviderRules({
      mapping: "google.subject=assertion.sub,google.groups=assertion.roles",
      condition: "'reader' in google.groups",
    });
    expect(withGroups.decide({ ...AZURE_V1_CLAIMS, roles: ["reader"] }).accepted).toBe(true);
    const withoutGroups = compileProviderRules({
      mapping: "google.subject=assertion.sub",
      condition: "'reader' in google.groups",
    });
    expect(caught(() => withoutGroups.evaluate(AZURE_V1_CLAIMS)).code).toBe(
      "ERR_WIF_CONDITION_EVALUATION_FAILED",
    );
  });

  it("reports mapping errors before the condition runs", () => {
    const rules = compileProviderRules({ mapping: "google.subject=assertion.sub", condition: "true" });
    expect(caught(() => rules.evaluate({ sub: "s".repeat(200) })).code).toBe(
      "ERR_WIF_MAPPING_SUBJECT_TOO_LONG",
    );
  });

  it("validates the condition when compiling", () => {
    const error = caught(() =>
      compileProviderRules({ mapping: "google.subject=assertion.sub", condition: "1 + 1" }),
    );
    expect(error.code).toBe("ERR_WIF_CONDITION_NOT_BOOLEAN");
    expect(error.stage).toBe("compile");
  });
});
