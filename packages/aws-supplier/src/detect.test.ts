import { describe, expect, it } from "vitest";
import { detectAwsSource } from "./detect.js";
import { AWS_IDENTITY_ENV, awsIdentityFingerprint } from "./identity.js";

describe("detectAwsSource", () => {
  it("names the source the default chain would pick, in its order", () => {
    expect(
      detectAwsSource({ env: { AWS_ACCESS_KEY_ID: "AKIA", AWS_WEB_IDENTITY_TOKEN_FILE: "/t" } }).source,
    ).toBe("env");
    expect(detectAwsSource({ env: { AWS_WEB_IDENTITY_TOKEN_FILE: "/t" } }).source).toBe("web-identity");
    expect(detectAwsSource({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://x" } }).source).toBe(
      "container",
    );
    expect(detectAwsSource({ env: {} }).source).toBe("imds");
    expect(detectAwsSource({ env: { AWS_EC2_METADATA_DISABLED: "true" } }).source).toBeUndefined();
  });

  it("explains each verdict with the variables it looked at", () => {
    const { checks } = detectAwsSource({
      env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/x" },
    });
    expect(checks.map((check) => [check.source, check.applies])).toEqual([
      ["env", false],
      ["web-identity", false],
      ["container", true],
      ["imds", true],
    ]);
    expect(checks[0]?.detail).toBe("environment keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY not set");
    expect(checks[2]?.detail).toBe("ECS / EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI set");
  });
});

describe("awsIdentityFingerprint", () => {
  it("changes with any variable that chooses the identity, and never carries a secret", () => {
    const base = {
      AWS_ACCESS_KEY_ID: "AKIA1",
      AWS_SECRET_ACCESS_KEY: "secret-1",
      AWS_SESSION_TOKEN: "token-1",
    };
    const fingerprint = awsIdentityFingerprint(base);
    for (const name of AWS_IDENTITY_ENV) {
      expect(awsIdentityFingerprint({ ...base, [name]: "changed" })).not.toBe(fingerprint);
    }
    expect(awsIdentityFingerprint({ ...base, AWS_SECRET_ACCESS_KEY: "secret-2" })).toBe(fingerprint);
    expect(fingerprint).not.toMatch(/secret|token-1/);
  });
});
