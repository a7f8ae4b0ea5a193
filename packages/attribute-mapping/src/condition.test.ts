import { describe, expect, it } from "vitest";
import { CONDITION_REJECTED_MESSAGE, compileCondition } from "./condition.js";
import { AZURE_V1_CLAIMS, caught, EC2_ASSERTION, IAM_USER_ASSERTION } from "./test-helpers.js";

describe("compileCondition", () => {
  it("is true or false for the seed document's AWS condition", () => {
    const condition = compileCondition("assertion.arn.startsWith('arn:aws:sts::111122223333:assumed-role/')");
    expect(condition.evaluate({ assertion: EC2_ASSERTION })).toBe(true);
    expect(condition.evaluate({ assertion: IAM_USER_ASSERTION })).toBe(false);
  });

  it("reads google.subject, google.groups and custom attributes", () => {
    const condition = compileCondition(
      "google.subject.startsWith('0b1c') && 'admins' in google.groups && attribute.tenant == assertion.tid",
    );
    const input = {
      assertion: AZURE_V1_CLAIMS,
      google: { subject: AZURE_V1_CLAIMS.sub, groups: ["readers", "admins"] },
      attribute: { tenant: AZURE_V1_CLAIMS.tid },
    };
    expect(condition.evaluate(input)).toBe(true);
    expect(
      condition.evaluate({ ...input, google: { subject: AZURE_V1_CLAIMS.sub, groups: ["readers"] } }),
    ).toBe(false);
  });

  it("guards optional values with has()", () => {
    const condition = compileCondition(
      "has(google.groups) ? 'admins' in google.groups : has(assertion.admin)",
    );
    expect(condition.evaluate({ assertion: {}, google: { subject: "s", groups: ["admins"] } })).toBe(true);
    expect(condition.evaluate({ assertion: {}, google: { subject: "s" } })).toBe(false);
    expect(condition.evaluate({ assertion: { admin: "yes" } })).toBe(true);
  });

  it("does not confuse an assertion field or a string named google with the google variable", () => {
    const condition = compileCondition("assertion.google == 'google' && google.subject == 'google.subject'");
    expect(
      condition.evaluate({ assertion: { google: "google" }, google: { subject: "google.subject" } }),
    ).toBe(true);
  });

  it("supports in over lists and maps, ternaries, extract and list macros", () => {
    const condition = compileCondition(
      "assertion.account in ['111122223333', '444455556666'] && " +
        "(assertion.arn.contains('assumed-role') ? assertion.arn.extract('assumed-role/{role}/') == 'wifkit-ec2-role' : false) && " +
        "['ci', 'ec2'].exists(s, assertion.arn.contains(s))",
    );
    expect(condition.evaluate({ assertion: EC2_ASSERTION })).toBe(true);
    expect(condition.evaluate({ assertion: { ...EC2_ASSERTION, account: "999999999999" } })).toBe(false);
  });

  it("rejects a condition whose type is known not to be boolean at compile time", () => {
    const error = caught(() => compileCondition("assertion.arn.extract('assumed-role/{role}/')"));
    expect(error.code).toBe("ERR_WIF_CONDITION_NOT_BOOLEAN");
    expect(error.stage).toBe("compile");
    expect(error.message).toBe("The attribute condition must produce a boolean, but it produces string.");
  });

  it("rejects a non-boolean result at evaluation time when the type is only known then", () => {
    const condition = compileCondition("assertion.tid");
    const error = caught(() => condition.evaluate({ assertion: AZURE_V1_CLAIMS }));
    expect(error.code).toBe("ERR_WIF_CONDITION_NOT_BOOLEAN");
    expect(error.stage).toBe("evaluate");
    expect(error.stsError).toBe("unauthorized_client");
    expect(error.message).toBe(
      "The attribute condition must produce a boolean, but it produced a value of type string.",
    );
    expect(error.message).not.toContain(AZURE_V1_CLAIMS.tid);
  });

  it("reports a failure on a credential as an evaluation error", () => {
    const condition = compileCondition("assertion.repository_owner == 'wifkit'");
    const error = caught(() => condition.evaluate({ assertion: AZURE_V1_CLAIMS }));
    expect(error.code).toBe("ERR_WIF_CONDITION_EVALUATION_FAILED");
    expect(error.field).toBe("condition");
    expect(error.message).toBe(
      "The attribute condition could not be evaluated: No such key: repository_owner (line 1, column 11).",
    );
    // reading google.groups when the mapping does not map groups fails the same way
    expect(
      caught(() => compileCondition("'a' in google.groups").evaluate({ assertion: {}, google: {} })).code,
    ).toBe("ERR_WIF_CONDITION_EVALUATION_FAILED");
  });

  it("allows at most 4096 characters", () => {
    const condition = (length: number) => {
      const prefix = "assertion.sub != '";
      return `${prefix}${"x".repeat(length - prefix.length - 1)}'`;
    };
    expect(condition(4096)).toHaveLength(4096);
    expect(compileCondition(condition(4096)).evaluate({ assertion: { sub: "s" } })).toBe(true);
    const error = caught(() => compileCondition(condition(4097)));
    expect(error.code).toBe("ERR_WIF_CONDITION_TOO_LONG");
    expect(error.message).toBe(
      "The attribute condition is 4097 characters long; the maximum is 4096 characters.",
    );
  });

  it("rejects empty and invalid CEL, with positions in the condition as written", () => {
    expect(caught(() => compileCondition("  ")).code).toBe("ERR_WIF_CONDITION_INVALID_EXPRESSION");
    const syntax = caught(() => compileCondition("google.subject == 'a' &&"));
    expect(syntax.code).toBe("ERR_WIF_CONDITION_INVALID_EXPRESSION");
    expect(syntax.message).toBe(
      "The attribute condition is not a valid CEL expression: Unexpected token: EOF (line 1, column 25).",
    );
    const unknown = caught(() => compileCondition("google.subject == 'a' &&\n  claims.sub == 'b'"));
    expect(unknown.message).toBe(
      "The attribute condition is not a valid CEL expression: Unknown variable: claims (line 2, column 3). Conditions can read assertion, google and attribute.",
    );
  });

  it("exports Google's rejection text", () => {
    expect(CONDITION_REJECTED_MESSAGE).toBe("The given credential is rejected by the attribute condition.");
  });
});
