import { describe, expect, it } from "vitest";
import { redactSecrets } from "./redact.js";

const JWT =
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ3b3JrbG9hZCIsImF1ZCI6ImFwaTovL3gifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmU";

describe("redactSecrets", () => {
  it("removes known secrets, JWT-shaped and Google-token-shaped strings", () => {
    const text = `client secret hunter22 rejected; token ${JWT} and ya29.a0AfH6SMBexample expired`;
    expect(redactSecrets(text, ["hunter22"])).toBe(
      "client secret [redacted] rejected; token [redacted] and [redacted] expired",
    );
  });

  it("removes pieces of a long secret that upstream echoed in part", () => {
    const secret = `${"a".repeat(20)}.${"b".repeat(20)}`;
    expect(redactSecrets(`saw ${"b".repeat(20)} only`, [secret])).toBe("saw [redacted] only");
  });

  it("keeps short known values and ordinary text, such as an audience", () => {
    const audience = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/x";
    expect(redactSecrets(`bad audience ${audience}`, ["abc", undefined])).toBe(`bad audience ${audience}`);
  });

  it("optionally removes long opaque runs and bounds the excerpt", () => {
    const key = "A".repeat(40);
    expect(redactSecrets(`key ${key} refused`, [], { opaqueRuns: true })).toBe("key [redacted] refused");
    expect(redactSecrets("x".repeat(20), [], { maxLength: 10 })).toBe(`${"x".repeat(10)}...`);
    expect(redactSecrets(" many\n\n lines\t here ")).toBe("many lines here");
  });
});
