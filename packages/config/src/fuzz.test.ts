/**
 * Property-based tests of the loader and the parser: whatever the file holds, the answer is a validated
 * configuration or a `WifError` with one of the package's codes (never a crash, never a hang), and what is
 * accepted without `allow` keeps the endpoint policy. Each property has a run count and a time limit, so
 * the whole file stays within a few seconds.
 */
import { isWifError } from "@wifkit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzBudget } from "../../../tooling/fuzz-budget.js";
import { CONFIG_ERROR_CODES } from "./errors.js";
import { findJsonErrorOffset, findJsonStructureProblem } from "./json-position.js";
import { loadCredentialConfig } from "./load.js";
import { parseCredentialConfig } from "./parse.js";
import type { ExternalAccountConfig } from "./types.js";

/** Per property: at most this many runs, and at most this long. */
const BUDGET = fuzzBudget(300, 1_500);

const AUDIENCE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider";
const SA = "app@my-project.iam.gserviceaccount.com";
const VALID: Record<string, unknown> = {
  type: "external_account",
  audience: AUDIENCE,
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  token_url: "https://sts.googleapis.com/v1/token",
  service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
  credential_source: {
    url: "https://token.example/token",
    format: { type: "json", subject_token_field_name: "t" },
  },
};
const FIELDS = [
  "type",
  "audience",
  "subject_token_type",
  "token_url",
  "token_info_url",
  "service_account_impersonation_url",
  "universe_domain",
  "credential_source",
  "client_id",
  "client_secret",
];
const KNOWN_CODES: readonly string[] = Object.values(CONFIG_ERROR_CODES);

/** Hosts that are, or look like, what the policy decides on. */
const host = fc.constantFrom(
  "sts.googleapis.com",
  "iamcredentials.googleapis.com",
  "sts.mtls.googleapis.com",
  "sts.us-east1.rep.googleapis.com",
  "sts.googleapis.com.evil.example",
  "evil.example",
  "169.254.169.254",
  "[fd00:ec2::254]",
  "127.0.0.1",
  "[::ffff:8.8.8.8]",
  "2130706433",
  "xn--oogleapis-p6d.com",
  "sts.attacker.example",
  "metadata.google.internal",
);
const urlLike = fc
  .tuple(
    fc.constantFrom("https://", "http://", "file://", "", "https://user:pw@", "gopher://"),
    host,
    fc.constantFrom("", ":443", ":8443", ":0"),
    fc.constantFrom("/v1/token", "/", "/latest/meta-data/", "/metadata/identity/oauth2/token", "/../x", ""),
    fc.constantFrom("", "?resource=x", "#frag", "%00"),
  )
  .map((parts) => parts.join(""));
const fieldValue = fc.oneof(fc.jsonValue(), urlLike, fc.string());

/** A valid configuration with some fields replaced or added by the fuzzer. */
const mutatedConfig = fc
  .dictionary(fc.constantFrom(...FIELDS), fieldValue, { maxKeys: 4 })
  .chain((changes) =>
    fc.record({
      changes: fc.constant(changes),
      source: fc.option(
        fc.oneof(
          fc.record({
            file: fc.oneof(fc.string(), fc.constantFrom("/proc/self/environ", "/dev/zero", "/t")),
          }),
          fc.record({ url: urlLike, headers: fc.option(fc.dictionary(fc.string(), fieldValue)) }),
          fc.record({ executable: fc.record({ command: fc.string(), timeout_millis: fc.integer() }) }),
          fc.jsonValue(),
        ),
      ),
    }),
  )
  .map(({ changes, source }) => ({
    ...VALID,
    ...changes,
    ...(source === null ? {} : { credential_source: source }),
  }));

function expectKnownFailure(error: unknown): void {
  expect(isWifError(error), String(error)).toBe(true);
  expect(KNOWN_CODES).toContain((error as { code: string }).code);
}

/** What no accepted configuration may do when the caller allowed nothing: leave Google for credentials. */
function expectPolicyKept(config: ExternalAccountConfig): void {
  expect(config.universe_domain ?? "googleapis.com").toBe("googleapis.com");
  for (const value of [config.token_url, config.token_info_url, config.service_account_impersonation_url]) {
    if (value === undefined) continue;
    const url = new URL(value);
    expect(url.protocol).toBe("https:");
    expect(url.username + url.password).toBe("");
    expect(url.hostname).toMatch(/^(sts|iamcredentials)\.(mtls\.|[a-z0-9-]+\.rep\.)?googleapis\.com$/);
  }
  const source = config.credential_source as { url?: string; file?: string };
  if (source.url !== undefined) {
    const url = new URL(source.url);
    if (url.hostname === "169.254.169.254") expect(url.pathname).toBe("/metadata/identity/oauth2/token");
    if (url.protocol !== "https:")
      expect(url.hostname).toMatch(/^(127\.|localhost$|\[::1\]$|169\.254\.169\.254$)/);
  }
  if (source.file !== undefined) expect(source.file).not.toMatch(/^\/(proc|sys|dev)\//);
}

describe("parseCredentialConfig, fuzzed", () => {
  it("accepts only what keeps the policy, and refuses everything else with a ConfigError", () => {
    fc.assert(
      fc.property(mutatedConfig, (input) => {
        try {
          const { config } = parseCredentialConfig(input);
          if (config.type === "external_account") expectPolicyKept(config);
        } catch (error) {
          expectKnownFailure(error);
        }
      }),
      BUDGET,
    );
  });

  it("answers any JSON value with a ConfigError or a configuration", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        try {
          parseCredentialConfig(input);
        } catch (error) {
          expectKnownFailure(error);
        }
      }),
      BUDGET,
    );
  });
});

describe("loadCredentialConfig, fuzzed", () => {
  const text = fc.oneof(
    fc.string({ unit: "binary", maxLength: 2000 }),
    fc.json(),
    mutatedConfig.map((config) => JSON.stringify(config)),
    // Valid JSON cut, spliced or padded: the scanner's and the parser's edge cases.
    fc.tuple(mutatedConfig, fc.nat(), fc.string({ maxLength: 8 })).map(([config, at, insert]) => {
      const json = JSON.stringify(config);
      const cut = at % (json.length + 1);
      return json.slice(0, cut) + insert + json.slice(cut);
    }),
    fc.nat({ max: 5000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
  );

  it("resolves or fails with one of its codes, whatever the file holds", async () => {
    await fc.assert(
      fc.asyncProperty(text, async (content) => {
        try {
          await loadCredentialConfig({ path: "/fuzz.json", env: {}, readFile: async () => content });
        } catch (error) {
          expectKnownFailure(error);
          // Messages never quote the file: it may hold a client secret.
          if (content.length > 40) expect((error as Error).message).not.toContain(content);
        }
      }),
      BUDGET,
    );
  });

  it("scans any text without throwing", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 4000 }), (content) => {
        findJsonStructureProblem(content);
        expect(findJsonErrorOffset(content)).toBeLessThanOrEqual(content.length);
      }),
      BUDGET,
    );
  });
});
