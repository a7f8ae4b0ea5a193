import { describe, expect, it } from "vitest";
import { DEFAULT_ATTRIBUTE_MAPPING_LIMITS } from "./limits.js";
import {
  compileMapping,
  DEFAULT_AWS_MAPPING,
  DEFAULT_OIDC_MAPPING,
  formatMappingString,
  parseMappingString,
} from "./mapping.js";
import { AZURE_V1_CLAIMS, caught, EC2_ASSERTION, IAM_USER_ASSERTION } from "./test-helpers.js";

describe("parseMappingString", () => {
  it("splits KEY=EXPRESSION entries at top-level commas and trims around keys and expressions", () => {
    expect(
      parseMappingString(" google.subject = assertion.arn , attribute.account=assertion.account"),
    ).toEqual({
      "google.subject": "assertion.arn",
      "attribute.account": "assertion.account",
    });
  });

  it("does not split at commas inside calls, lists, maps and string literals", () => {
    const text = [
      "google.subject=assertion.sub",
      "attribute.joined=['a', 'b'].join(',')",
      "attribute.second=assertion.sub.split(',')[1]",
      "attribute.env={'111122223333': 'prod', '444455556666': 'dev'}[assertion.account]",
      'attribute.quoted="x,\\",y"',
      "attribute.triple='''a,b'''",
      "attribute.raw=r'\\,'",
      "attribute.macro=assertion.groups.filter(g, g.startsWith('a,')).join(',')",
    ].join(",");
    expect(parseMappingString(text)).toEqual({
      "google.subject": "assertion.sub",
      "attribute.joined": "['a', 'b'].join(',')",
      "attribute.second": "assertion.sub.split(',')[1]",
      "attribute.env": "{'111122223333': 'prod', '444455556666': 'dev'}[assertion.account]",
      "attribute.quoted": '"x,\\",y"',
      "attribute.triple": "'''a,b'''",
      "attribute.raw": "r'\\,'",
      "attribute.macro": "assertion.groups.filter(g, g.startsWith('a,')).join(',')",
    });
  });

  it("keeps '=' and '==' inside the expression", () => {
    expect(
      parseMappingString("attribute.is_prod=assertion.account == '1',google.subject=assertion.sub"),
    ).toEqual({
      "attribute.is_prod": "assertion.account == '1'",
      "google.subject": "assertion.sub",
    });
  });

  it("accepts gcloud's alternate delimiter form ^D^", () => {
    expect(parseMappingString("^;^google.subject=assertion.sub;attribute.x=assertion.a,assertion.b")).toEqual(
      {
        "google.subject": "assertion.sub",
        "attribute.x": "assertion.a,assertion.b",
      },
    );
  });

  it("ignores empty entries such as a trailing comma", () => {
    expect(parseMappingString("google.subject=assertion.sub,")).toEqual({
      "google.subject": "assertion.sub",
    });
  });

  it("rejects an entry without '=' and a duplicate key", () => {
    const missing = caught(() => parseMappingString("google.subject=assertion.sub,assertion.account"));
    expect(missing.code).toBe("ERR_WIF_MAPPING_SYNTAX");
    expect(missing.stage).toBe("compile");
    expect(missing.message).toBe(
      'Invalid attribute mapping entry "assertion.account": write each entry as KEY=EXPRESSION, for example google.subject=assertion.sub.',
    );
    const duplicate = caught(() =>
      parseMappingString("google.subject=assertion.sub,google.subject=assertion.oid"),
    );
    expect(duplicate.code).toBe("ERR_WIF_MAPPING_DUPLICATE_KEY");
    expect(duplicate.field).toBe("google.subject");
  });

  it("round-trips through formatMappingString", () => {
    const mapping = { ...DEFAULT_AWS_MAPPING, "attribute.x": "['a', 'b'].join(',')" };
    expect(parseMappingString(formatMappingString(mapping))).toEqual(mapping);
  });
});

describe("compileMapping: both syntaxes", () => {
  it("gives the same result for the string form and the object form", () => {
    const fromString = compileMapping("google.subject=assertion.arn,attribute.account=assertion.account");
    const fromObject = compileMapping({
      "google.subject": "assertion.arn",
      "attribute.account": "assertion.account",
    });
    const expected = {
      subject: IAM_USER_ASSERTION.arn,
      groups: [],
      attributes: { account: "111122223333" },
    };
    expect(fromString.evaluate(IAM_USER_ASSERTION)).toEqual(expected);
    expect(fromObject.evaluate(IAM_USER_ASSERTION)).toEqual(expected);
    expect(fromString.mapping).toEqual(fromObject.mapping);
  });

  it("rejects a mapping that is neither a string nor an object of strings", () => {
    expect(caught(() => compileMapping(42 as unknown as string)).code).toBe("ERR_WIF_MAPPING_SYNTAX");
    const notString = caught(() =>
      compileMapping({ "google.subject": 1 } as unknown as Record<string, string>),
    );
    expect(notString.code).toBe("ERR_WIF_MAPPING_SYNTAX");
    expect(notString.field).toBe("google.subject");
  });
});

describe("DEFAULT_AWS_MAPPING", () => {
  const mapping = compileMapping(DEFAULT_AWS_MAPPING);

  it("maps an EC2 assumed-role ARN to its role ARN without the session", () => {
    expect(mapping.evaluate(EC2_ASSERTION)).toEqual({
      subject: "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role/i-0123456789abcdef0",
      groups: [],
      attributes: { aws_role: "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role" },
    });
  });

  it("maps an IAM user ARN to itself", () => {
    expect(mapping.evaluate(IAM_USER_ASSERTION)).toEqual({
      subject: "arn:aws:iam::111122223333:user/ci-bot",
      groups: [],
      attributes: { aws_role: "arn:aws:iam::111122223333:user/ci-bot" },
    });
  });

  it("is the documented text", () => {
    expect(formatMappingString(DEFAULT_AWS_MAPPING)).toBe(
      "google.subject=assertion.arn,attribute.aws_role=assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
    );
  });
});

describe("OIDC claims mapping (Azure v1 managed identity token)", () => {
  it("maps sub, tid, appid and the managed identity name", () => {
    const mapping = compileMapping(
      "google.subject=assertion.sub,attribute.tenant=assertion.tid,attribute.app_id=assertion.appid," +
        "attribute.identity_name=assertion.xms_mirid.extract('/userAssignedIdentities/{name}')," +
        "attribute.version=assertion.ver",
    );
    expect(mapping.evaluate(AZURE_V1_CLAIMS)).toEqual({
      subject: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
      groups: [],
      attributes: {
        tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        app_id: "5fd0e0a6-6b5f-4c39-9f24-1b2c3d4e5f60",
        identity_name: "wifkit-identity",
        version: "1.0",
      },
    });
  });

  it("applies DEFAULT_OIDC_MAPPING", () => {
    expect(compileMapping(DEFAULT_OIDC_MAPPING).evaluate(AZURE_V1_CLAIMS).subject).toBe(AZURE_V1_CLAIMS.sub);
  });

  it("shortens a long sub with extract as Google recommends", () => {
    const mapping = compileMapping("google.subject=assertion.sub.extract('/eid1/c/pub/t/{sub_claim}')");
    const sub = `/eid1/c/pub/t/${"v".repeat(40)}`;
    expect(mapping.evaluate({ sub }).subject).toBe("v".repeat(40));
  });

  it("compares numeric claims (JSON numbers are CEL doubles)", () => {
    const mapping = compileMapping({
      "google.subject": "assertion.sub",
      "attribute.long_lived": "assertion.exp - assertion.iat > 3000.0 ? 'yes' : 'no'",
      "attribute.exp": "string(int(assertion.exp))",
    });
    expect(mapping.evaluate(AZURE_V1_CLAIMS).attributes).toEqual({ long_lived: "yes", exp: "1700003600" });
  });
});

describe("functions used in Google's documentation", () => {
  const assertion = {
    sub: "repo:wifkit/wifkit:ref:refs/heads/main",
    account: "111122223333",
    groups: ["dev", "admins"],
    repository_owner: "wifkit",
  };

  it("supports split, join, startsWith, contains, in, map literals and ternaries", () => {
    const mapping = compileMapping({
      "google.subject": "assertion.sub.split(':')[1]",
      "google.groups": "assertion.groups",
      "attribute.groups": "assertion.groups.join(',')",
      "attribute.parts": "assertion.sub.split(':')",
      "attribute.main": "assertion.sub.contains('refs/heads/main') ? 'true' : 'false'",
      "attribute.repo_owner":
        "assertion.sub.startsWith('repo:wifkit/') ? assertion.repository_owner : 'other'",
      "attribute.admin": "'admins' in assertion.groups ? 'yes' : 'no'",
      "attribute.env": "{'111122223333': 'prod', '444455556666': 'dev'}[assertion.account]",
      "attribute.teams": "assertion.groups.map(g, 'team-' + g)",
    });
    expect(mapping.evaluate(assertion)).toEqual({
      subject: "wifkit/wifkit",
      groups: ["dev", "admins"],
      attributes: {
        groups: "dev,admins",
        parts: ["repo", "wifkit/wifkit", "ref", "refs/heads/main"],
        main: "true",
        repo_owner: "wifkit",
        admin: "yes",
        env: "prod",
        teams: ["team-dev", "team-admins"],
      },
    });
  });

  it("compiles once and evaluates many assertions independently", () => {
    const mapping = compileMapping("google.subject=assertion.sub,attribute.n=assertion.n");
    for (let i = 0; i < 200; i++) {
      expect(mapping.evaluate({ sub: `subject-${i}`, n: String(i) })).toEqual({
        subject: `subject-${i}`,
        groups: [],
        attributes: { n: String(i) },
      });
    }
  });
});

describe("compile-time limits and rules (what the IAM API rejects when creating a provider)", () => {
  it("requires google.subject in a custom mapping", () => {
    for (const mapping of ["attribute.account=assertion.account", {}, ""] as const) {
      const error = caught(() => compileMapping(mapping));
      expect(error.code).toBe("ERR_WIF_MAPPING_SUBJECT_REQUIRED");
      expect(error.stage).toBe("compile");
      expect(error.message).toBe(
        "The attribute mapping must map google.subject, for example google.subject=assertion.sub (OIDC) or google.subject=assertion.arn (AWS).",
      );
    }
  });

  it("rejects keys other than google.subject, google.groups and attribute.NAME", () => {
    const custom = caught(() =>
      compileMapping({ "google.subject": "assertion.sub", "assertion.aud": "assertion.aud" }),
    );
    expect(custom.code).toBe("ERR_WIF_MAPPING_INVALID_KEY");
    expect(custom.field).toBe("assertion.aud");
    expect(custom.message).toBe(
      "Invalid mapped attribute key: assertion.aud. Custom mapped attributes must be in format 'attribute.{custom_attribute}'.",
    );
    const google = caught(() =>
      compileMapping({ "google.subject": "assertion.sub", "google.display_name": "'x'" }),
    );
    expect(google.code).toBe("ERR_WIF_MAPPING_INVALID_KEY");
    expect(google.message).toBe(
      "Invalid mapped attribute key: google.display_name. Workload identity pools support google.subject, google.groups and attribute.{custom_attribute}.",
    );
  });

  it("accepts custom attribute names of [a-z0-9_] up to 100 characters and rejects others", () => {
    const name100 = "a".repeat(100);
    expect(() =>
      compileMapping({ "google.subject": "assertion.sub", [`attribute.${name100}`]: "'x'" }),
    ).not.toThrow();
    expect(() =>
      compileMapping({ "google.subject": "assertion.sub", "attribute.a_1_z": "'x'" }),
    ).not.toThrow();
    for (const name of ["a".repeat(101), "Account", "aws-role", "", "a.b"]) {
      const error = caught(() =>
        compileMapping({ "google.subject": "assertion.sub", [`attribute.${name}`]: "'x'" }),
      );
      expect(error.code).toBe("ERR_WIF_MAPPING_INVALID_KEY");
      expect(error.message).toMatch(
        /A custom attribute name may only contain the characters \[a-z0-9_\] and be at most 100 characters long\.$/,
      );
    }
  });

  it("allows at most 50 custom attributes", () => {
    const mapping = (count: number) => {
      const definition: Record<string, string> = { "google.subject": "assertion.sub", "google.groups": "[]" };
      for (let i = 0; i < count; i++) definition[`attribute.a${i}`] = "'v'";
      return definition;
    };
    expect(Object.keys(compileMapping(mapping(50)).evaluate({ sub: "s" }).attributes)).toHaveLength(50);
    const error = caught(() => compileMapping(mapping(51)));
    expect(error.code).toBe("ERR_WIF_MAPPING_TOO_MANY_ATTRIBUTES");
    expect(error.message).toBe(
      "The attribute mapping defines 51 custom attributes; at most 50 are allowed. Remove the attributes your conditions and IAM policies do not use.",
    );
  });

  it("allows expressions of at most 2048 characters", () => {
    const literal = (length: number) => `'${"x".repeat(length - 2)}'`;
    expect(literal(2048)).toHaveLength(2048);
    expect(() =>
      compileMapping({ "google.subject": "assertion.sub", "attribute.a": literal(2048) }),
    ).not.toThrow();
    const error = caught(() =>
      compileMapping({ "google.subject": "assertion.sub", "attribute.a": literal(2049) }),
    );
    expect(error.code).toBe("ERR_WIF_MAPPING_EXPRESSION_TOO_LONG");
    expect(error.field).toBe("attribute.a");
    expect(error.message).toBe(
      "The attribute mapping expression for attribute.a is 2049 characters long; the maximum is 2048 characters.",
    );
  });

  it("rejects empty and invalid CEL with the position of the problem", () => {
    const empty = caught(() => compileMapping("google.subject="));
    expect(empty.code).toBe("ERR_WIF_MAPPING_INVALID_EXPRESSION");
    expect(empty.message).toBe(
      "The attribute mapping expression for google.subject is empty; give a CEL expression such as assertion.sub.",
    );
    const syntax = caught(() => compileMapping({ "google.subject": "assertion.sub +" }));
    expect(syntax.code).toBe("ERR_WIF_MAPPING_INVALID_EXPRESSION");
    expect(syntax.message).toBe(
      "The attribute mapping expression for google.subject is not a valid CEL expression: Unexpected token: EOF (line 1, column 16).",
    );
  });

  it("rejects variables other than assertion and unknown functions", () => {
    const variable = caught(() => compileMapping({ "google.subject": "attribute.sub" }));
    expect(variable.message).toBe(
      "The attribute mapping expression for google.subject is not a valid CEL expression: Unknown variable: attribute (line 1, column 1). Mapping expressions can only read assertion (for example assertion.sub or assertion.arn).",
    );
    const google = caught(() => compileMapping({ "google.subject": "google.subject" }));
    expect(google.code).toBe("ERR_WIF_MAPPING_INVALID_EXPRESSION");
    expect(google.message).toContain("Unknown variable: google (line 1, column 1)");
    const fn = caught(() => compileMapping({ "google.subject": "'a'.reverse()" }));
    expect(fn.code).toBe("ERR_WIF_MAPPING_INVALID_EXPRESSION");
    expect(fn.message).toContain("string.reverse()");
  });
});

describe("evaluation-time limits (what STS rejects at token exchange)", () => {
  const subjectMapping = compileMapping("google.subject=assertion.sub");

  it("accepts a subject of exactly 127 bytes", () => {
    expect(subjectMapping.evaluate({ sub: "s".repeat(127) }).subject).toHaveLength(127);
  });

  it("rejects a subject over 127 bytes with Google's text, without quoting the subject", () => {
    const sub = "s".repeat(128);
    const error = caught(() => subjectMapping.evaluate({ sub }));
    expect(error.code).toBe("ERR_WIF_MAPPING_SUBJECT_TOO_LONG");
    expect(error.stage).toBe("evaluate");
    expect(error.stsError).toBe("invalid_request");
    expect(error.field).toBe("google.subject");
    expect(error.message).toBe(
      "The size of mapped attribute google.subject exceeds the 127 bytes limit. Either modify your attribute mapping or the incoming assertion to produce a mapped attribute that is less than 127 bytes.",
    );
    expect(error.message).not.toContain(sub);
  });

  it("counts the subject in bytes of UTF-8, not characters", () => {
    // 64 characters, 128 bytes
    expect(caught(() => subjectMapping.evaluate({ sub: "é".repeat(64) })).code).toBe(
      "ERR_WIF_MAPPING_SUBJECT_TOO_LONG",
    );
    expect(subjectMapping.evaluate({ sub: "é".repeat(63) }).subject).toBe("é".repeat(63));
  });

  it("requires the subject to be a non-empty string", () => {
    const notString = caught(() =>
      compileMapping("google.subject=assertion.sub == 'x'").evaluate({ sub: "x" }),
    );
    expect(notString.code).toBe("ERR_WIF_MAPPING_SUBJECT_NOT_STRING");
    expect(notString.stsError).toBe("unauthorized_client");
    expect(notString.message).toBe("The mapped attribute 'google.subject' must be of type STRING.");
    const empty = caught(() =>
      compileMapping("google.subject=assertion.arn.extract('assumed-role/{r}/')").evaluate(
        IAM_USER_ASSERTION,
      ),
    );
    expect(empty.code).toBe("ERR_WIF_MAPPING_SUBJECT_EMPTY");
  });

  it("requires google.groups to be a list of strings", () => {
    const mapping = compileMapping("google.subject=assertion.sub,google.groups=assertion.groups");
    expect(mapping.evaluate({ sub: "s", groups: ["a", "b"] }).groups).toEqual(["a", "b"]);
    expect(mapping.evaluate({ sub: "s", groups: [] }).groups).toEqual([]);
    const string = caught(() => mapping.evaluate({ sub: "s", groups: "admins" }));
    expect(string.code).toBe("ERR_WIF_MAPPING_GROUPS_NOT_LIST");
    expect(string.field).toBe("google.groups");
    expect(string.message).toBe(
      "The mapped attribute 'google.groups' must be a list of strings, but the expression produced a value of type string.",
    );
    const mixed = caught(() => mapping.evaluate({ sub: "s", groups: ["a", 1] }));
    expect(mixed.message).toBe(
      "The mapped attribute 'google.groups' must be a list of strings, but the expression produced a list with non-string elements.",
    );
  });

  it("requires custom attributes to be strings or lists of strings", () => {
    const mapping = compileMapping("google.subject=assertion.sub,attribute.exp=assertion.exp");
    const error = caught(() => mapping.evaluate({ sub: "s", exp: 1_700_000_000 }));
    expect(error.code).toBe("ERR_WIF_MAPPING_ATTRIBUTE_INVALID_TYPE");
    expect(error.field).toBe("attribute.exp");
    expect(error.message).toBe(
      "The mapped attribute 'attribute.exp' must be of type STRING or a list of strings, but the expression produced a value of type double.",
    );
  });

  it("allows at most 8 KB of mapped values in total", () => {
    const mapping = compileMapping(
      "google.subject=assertion.sub,google.groups=assertion.groups,attribute.a=assertion.a",
    );
    // 1 (subject) + 2 * 1000 (groups) + 6191 (attribute) = 8192 bytes
    const fits = { sub: "s", groups: ["g".repeat(1000), "h".repeat(1000)], a: "a".repeat(6191) };
    expect(mapping.evaluate(fits).attributes.a).toHaveLength(6191);
    const error = caught(() => mapping.evaluate({ ...fits, a: "a".repeat(6192) }));
    expect(error.code).toBe("ERR_WIF_MAPPING_TOO_LARGE");
    expect(error.stsError).toBe("invalid_request");
    expect(error.message).toBe(
      "The size of the entire mapped attributes exceeds the 8 KB limit. Either modify your attribute mapping or the incoming assertion to produce mapped attributes that are less than 8 KB in total.",
    );
  });

  it("reports a missing field without quoting credential values", () => {
    const mapping = compileMapping({
      "google.subject": "assertion.sub",
      "attribute.role": "assertion.role",
      "attribute.env": "{'a': 'prod'}[assertion.account]",
    });
    const missing = caught(() => mapping.evaluate({ sub: "s", account: "a" }));
    expect(missing.code).toBe("ERR_WIF_MAPPING_EVALUATION_FAILED");
    expect(missing.stage).toBe("evaluate");
    expect(missing.field).toBe("attribute.role");
    expect(missing.message).toBe(
      "The attribute mapping for attribute.role could not be evaluated: No such key: role (line 1, column 11). Check that the credential has the fields this expression reads, or guard them with has().",
    );
    const unknownAccount = caught(() => mapping.evaluate({ sub: "s", role: "r", account: "999988887777" }));
    expect(unknownAccount.field).toBe("attribute.env");
    expect(unknownAccount.message).toContain("No such key in {'a': 'prod'}[assertion.account]");
    expect(unknownAccount.message).not.toContain("999988887777");
  });

  it("rejects an assertion that is not an object", () => {
    expect(caught(() => subjectMapping.evaluate(null as unknown as Record<string, unknown>)).code).toBe(
      "ERR_WIF_MAPPING_EVALUATION_FAILED",
    );
  });

  it("lets callers tighten the limits", () => {
    const tight = compileMapping("google.subject=assertion.sub", { limits: { maxSubjectBytes: 10 } });
    expect(caught(() => tight.evaluate({ sub: "s".repeat(11) })).message).toContain(
      "exceeds the 10 bytes limit",
    );
    expect(DEFAULT_ATTRIBUTE_MAPPING_LIMITS.maxSubjectBytes).toBe(127);
  });
});
