import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWif, scratch } from "./helpers.js";

const dir = scratch();
const POOL =
  "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool";
const ARN = "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role/i-0a1b2c3d4e5f60718";
const awsAssertion = join(dir.dir, "aws.json");
writeFileSync(
  awsAssertion,
  JSON.stringify({ arn: ARN, account: "111122223333", userid: "AROAEXAMPLE:i-0a1b2c3d4e5f60718" }),
);
const oidcClaims = {
  iss: "https://issuer.example",
  sub: "system:serviceaccount:default:wifkit",
  groups: ["dev", "ops"],
  tid: "t1",
};

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.stop();
  dir.cleanup();
});

describe("wif mapping eval", () => {
  it("refuses an assertion path that is a device, at once and without reading it", async () => {
    const result = await runWif(["mapping", "eval", "--assertion", "/dev/zero"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Cannot read the assertion /dev/zero (EFTYPE)");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("applies Google's default AWS mapping and lists the members that match", async () => {
    const result = await runWif([
      "mapping",
      "eval",
      "--assertion",
      awsAssertion,
      "--project-number",
      "123456789012",
      "--pool",
      "wifkit-pool",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`  google.subject      ${ARN}\n`);
    expect(result.stderr).toContain(
      "  attribute.aws_role  arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role\n",
    );
    expect(result.stderr).toContain("(Google's default AWS mapping; pass --mapping to use yours)");
    expect(result.stderr).toContain(`  ${POOL.replace("principalSet", "principal")}/subject/${ARN}\n`);
    expect(result.stderr).toContain(
      `  ${POOL}/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role\n`,
    );
    expect(result.stderr).toContain(`  ${POOL}/*\n`);
  });

  it("reads the assertion from stdin, evaluates the condition, and prints JSON on request", async () => {
    const args = [
      "mapping",
      "eval",
      "--assertion",
      "-",
      "--format",
      "json",
      "--mapping",
      "google.subject=assertion.sub,google.groups=assertion.groups,attribute.tenant=assertion.tid",
      "--project-number",
      "123456789012",
      "--pool",
      "wifkit-pool",
    ];
    const accepted = await runWif([...args, "--condition", "'ops' in assertion.groups"], {
      input: JSON.stringify(oidcClaims),
    });
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({
      accepted: true,
      subject: oidcClaims.sub,
      groups: ["dev", "ops"],
      attributes: { tenant: "t1" },
      condition: { expression: "'ops' in assertion.groups", result: true },
      principals: expect.arrayContaining([`${POOL}/group/ops`, `${POOL}/attribute.tenant/t1`]),
    });
    const refused = await runWif([...args, "--condition", "attribute.tenant == 'other'"], {
      input: JSON.stringify(oidcClaims),
    });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ accepted: false, condition: { result: false } });
  });

  it("says STS refuses a credential the condition rejects, exit 1", async () => {
    const result = await runWif([
      "mapping",
      "eval",
      "--assertion",
      awsAssertion,
      "--condition",
      "assertion.account == '999999999999'",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "✖ Condition is false: STS refuses this credential (unauthorized_client: The given credential is rejected by the attribute condition.)",
    );
  });

  it("prints Google's error when a limit is broken, exit 1", async () => {
    const claims = join(dir.dir, "long.json");
    writeFileSync(claims, JSON.stringify({ sub: "x".repeat(200) }));
    const result = await runWif([
      "mapping",
      "eval",
      "--assertion",
      claims,
      "--mapping",
      "google.subject=assertion.sub",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "✖ STS would refuse this credential (invalid_request) [ERR_WIF_MAPPING_SUBJECT_TOO_LONG]:\n  The size of mapped attribute google.subject exceeds the 127 bytes limit. Either modify your attribute mapping or the incoming assertion to produce a mapped attribute that is less than 127 bytes.\n",
    );
  });

  it("reports a mapping the IAM API would refuse", async () => {
    const result = await runWif([
      "mapping",
      "eval",
      "--assertion",
      awsAssertion,
      "--mapping",
      "attribute.x=assertion.arn",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^✖ The IAM API would refuse this provider \[ERR_WIF_MAPPING_SUBJECT_REQUIRED\]:\n/,
    );
  });

  it("with --config asks the environment: the AWS caller identity behind the signed request", async () => {
    const config = join(dir.dir, "aws-config.json");
    writeFileSync(config, JSON.stringify(emulator.credentialConfig({ source: "aws" })));
    const result = await runWif(["mapping", "eval", "--config", config, "--format", "json"], {
      env: { ...emulator.awsEnv(), WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(",") },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      accepted: true,
      subject: ARN,
      attributes: { aws_role: "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role" },
      principals: expect.arrayContaining([`${POOL}/*`]),
    });
    expect(emulator.counters.get("aws.sts.getCallerIdentity")).toBe(1);
  });

  it("refuses an assertion that is not a JSON object, exit 1", async () => {
    const result = await runWif(["mapping", "eval", "--assertion", "-"], { input: "[1, 2]" });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "error [ERR_WIF_ASSERTION_INVALID]: The assertion in standard input must be a JSON object.\n",
    );
  });
});
