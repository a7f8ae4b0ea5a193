import { describe, expect, it } from "vitest";
import { extract, parseExtractTemplate } from "./extract.js";
import { compileMapping } from "./mapping.js";

const ASSUMED_ROLE_ARN = "arn:aws:sts::111122223333:assumed-role/ci-deployer/i-0123456789abcdef0";

describe("extract(template)", () => {
  it("returns the whole string when the template has neither prefix nor suffix", () => {
    expect(extract(ASSUMED_ROLE_ARN, "{everything}")).toBe(ASSUMED_ROLE_ARN);
  });

  it("returns everything after the first prefix when there is only a prefix", () => {
    expect(extract(ASSUMED_ROLE_ARN, "assumed-role/{role_and_session}")).toBe(
      "ci-deployer/i-0123456789abcdef0",
    );
    // the first occurrence wins, not the last
    expect(extract("a/b/c", "/{rest}")).toBe("b/c");
  });

  it("returns everything before the first suffix when there is only a suffix", () => {
    expect(extract(ASSUMED_ROLE_ARN, "{account_arn}assumed-role/")).toBe("arn:aws:sts::111122223333:");
    expect(extract("a/b/c", "{first}/")).toBe("a");
  });

  it("returns the text between the first prefix and the first suffix after it when there are both", () => {
    expect(extract(ASSUMED_ROLE_ARN, "assumed-role/{role}/")).toBe("ci-deployer");
    // the suffix is searched after the prefix, so a suffix occurring earlier is ignored
    expect(extract("x/key=value/y", "key={value}/")).toBe("value");
    expect(extract("[a][b]", "[{first}]")).toBe("a");
  });

  it('returns "" when the prefix is missing', () => {
    expect(extract("arn:aws:iam::111122223333:user/alice", "assumed-role/{role}")).toBe("");
    expect(extract("arn:aws:iam::111122223333:user/alice", "assumed-role/{role}/")).toBe("");
  });

  it('returns "" when the suffix is missing', () => {
    expect(extract("arn:aws:iam::111122223333:user/alice", "{account_arn}assumed-role/")).toBe("");
    // the suffix exists only before the prefix: missing after it
    expect(extract("b/a:x", "a:{v}/")).toBe("");
  });

  it("returns an empty match when prefix and suffix are adjacent", () => {
    expect(extract("role//session", "role/{empty}/")).toBe("");
  });

  it("rejects a template without a placeholder or with two", () => {
    expect(() => extract("abc", "assumed-role/")).toThrow(/has no \{name\} placeholder/);
    expect(() => extract("abc", "a{x}b{y}")).toThrow(/more than one placeholder/);
  });

  it("splits a template into prefix, name and suffix", () => {
    expect(parseExtractTemplate("/eid1/c/pub/t/{sub_claim}")).toEqual({
      prefix: "/eid1/c/pub/t/",
      name: "sub_claim",
      suffix: "",
    });
  });
});

describe("extract() inside CEL", () => {
  it("chains as in Google's EC2 example mapping", () => {
    const mapping = compileMapping({
      "google.subject": "assertion.arn",
      "attribute.aws_role": "assertion.arn.extract('assumed-role/{role}/')",
      "attribute.aws_ec2_instance":
        "assertion.arn.extract('assumed-role/{role_and_session}').extract('/{session}')",
    });
    const mapped = mapping.evaluate({
      arn: ASSUMED_ROLE_ARN,
      account: "111122223333",
      userid: "AROAEXAMPLE:i-0",
    });
    expect(mapped.attributes).toEqual({ aws_role: "ci-deployer", aws_ec2_instance: "i-0123456789abcdef0" });
  });

  it("reports a template without a placeholder as an evaluation error naming the key", () => {
    const mapping = compileMapping({ "google.subject": "assertion.arn.extract('assumed-role/')" });
    expect(() => mapping.evaluate({ arn: ASSUMED_ROLE_ARN })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_MAPPING_EVALUATION_FAILED", field: "google.subject" }),
    );
  });
});
