import { describe, expect, it } from "vitest";
import { compileMapping, DEFAULT_AWS_MAPPING } from "./mapping.js";
import {
  type FederatedIdentity,
  identityMembers,
  matchesMember,
  parsePrincipal,
  principalIdentifier,
  principalSetIdentifier,
} from "./principal.js";
import { caught, EC2_ASSERTION } from "./test-helpers.js";

const POOL =
  "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool";
const SUBJECT_PREFIX =
  "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/subject/";
const pool = { projectNumber: "123456789012", poolId: "wifkit-pool" };

describe("principal identifiers", () => {
  it("builds each form exactly as Google documents it", () => {
    expect(principalIdentifier({ ...pool, subject: EC2_ASSERTION.arn })).toBe(
      `${SUBJECT_PREFIX}${EC2_ASSERTION.arn}`,
    );
    expect(principalSetIdentifier({ ...pool, group: "admins" })).toBe(`${POOL}/group/admins`);
    expect(
      principalSetIdentifier({
        ...pool,
        attribute: { name: "aws_role", value: "arn:aws:sts::1:assumed-role/ci" },
      }),
    ).toBe(`${POOL}/attribute.aws_role/arn:aws:sts::1:assumed-role/ci`);
    expect(principalSetIdentifier(pool)).toBe(`${POOL}/*`);
    // a numeric project number prints the same
    expect(principalSetIdentifier({ projectNumber: 123456789012, poolId: "wifkit-pool" })).toBe(`${POOL}/*`);
  });

  it("parses what it builds (round trip), keeping slashes in subjects and values", () => {
    const cases = [
      { kind: "subject", ...pool, subject: "repo:wifkit/wifkit:ref:refs/heads/main" },
      { kind: "group", ...pool, group: "team/platform" },
      { kind: "attribute", ...pool, attribute: { name: "repository", value: "wifkit/wifkit" } },
      { kind: "pool", ...pool },
    ] as const;
    for (const parsed of cases) {
      const member =
        parsed.kind === "subject"
          ? principalIdentifier(parsed)
          : principalSetIdentifier({
              ...pool,
              group: parsed.kind === "group" ? parsed.group : undefined,
              attribute: parsed.kind === "attribute" ? parsed.attribute : undefined,
            });
      expect(parsePrincipal(member)).toEqual(parsed);
    }
  });

  it("rejects malformed identifiers", () => {
    const malformed = [
      "serviceAccount:ci@example.iam.gserviceaccount.com",
      "principal://iam.googleapis.com/projects/my-project/locations/global/workloadIdentityPools/wifkit-pool/subject/s",
      "principal://iam.googleapis.com/projects/123456789012/locations/us-east1/workloadIdentityPools/wifkit-pool/subject/s",
      "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/abc/subject/s",
      "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/Wifkit_Pool/subject/s",
      `${SUBJECT_PREFIX}`,
      "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/group/admins",
      `${POOL}/subject/s`,
      `${POOL}/group/`,
      `${POOL}/attribute.Repo/x`,
      `${POOL}/attribute.repo/`,
      `${POOL}/`,
      "principal://iam.googleapis.com/locations/global/workforcePools/pool/subject/alice",
      "principal://example.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/subject/s",
    ];
    for (const member of malformed) {
      const error = caught(() => parsePrincipal(member));
      expect(error.code).toBe("ERR_WIF_PRINCIPAL_INVALID");
      expect(error.stage).toBe("principal");
    }
    expect(caught(() => parsePrincipal(malformed[1] ?? "")).message).toContain("never the project id");
  });

  it("refuses to build identifiers from invalid parts", () => {
    expect(caught(() => principalIdentifier({ ...pool, subject: "" })).code).toBe(
      "ERR_WIF_PRINCIPAL_INVALID",
    );
    expect(
      caught(() => principalIdentifier({ projectNumber: "my-project", poolId: "wifkit-pool", subject: "s" }))
        .code,
    ).toBe("ERR_WIF_PRINCIPAL_INVALID");
    expect(
      caught(() => principalSetIdentifier({ ...pool, attribute: { name: "attribute.x", value: "v" } })).code,
    ).toBe("ERR_WIF_PRINCIPAL_INVALID");
    expect(
      caught(() => principalSetIdentifier({ ...pool, group: "g", attribute: { name: "x", value: "v" } }))
        .code,
    ).toBe("ERR_WIF_PRINCIPAL_INVALID");
  });
});

describe("matchesMember and identityMembers", () => {
  const identity: FederatedIdentity = {
    ...pool,
    subject: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    groups: ["readers", "admins"],
    attributes: { tenant: "72f988bf", teams: ["blue", "green"] },
  };

  it("matches the identity's subject, groups, attribute values and the whole pool", () => {
    expect(matchesMember(identity, `${SUBJECT_PREFIX}${identity.subject}`)).toBe(true);
    expect(matchesMember(identity, `${POOL}/group/admins`)).toBe(true);
    expect(matchesMember(identity, `${POOL}/attribute.tenant/72f988bf`)).toBe(true);
    expect(matchesMember(identity, `${POOL}/attribute.teams/green`)).toBe(true);
    expect(matchesMember(identity, `${POOL}/*`)).toBe(true);
  });

  it("does not match other subjects, groups, values, pools or projects", () => {
    expect(matchesMember(identity, `${SUBJECT_PREFIX}someone-else`)).toBe(false);
    expect(matchesMember(identity, `${SUBJECT_PREFIX}${identity.subject}/x`)).toBe(false);
    expect(matchesMember(identity, `${POOL}/group/writers`)).toBe(false);
    expect(matchesMember(identity, `${POOL}/attribute.tenant/other`)).toBe(false);
    expect(matchesMember(identity, `${POOL}/attribute.missing/72f988bf`)).toBe(false);
    expect(matchesMember(identity, `${POOL.replace("wifkit-pool", "other-pool")}/*`)).toBe(false);
    expect(matchesMember(identity, `${POOL.replace("123456789012", "999999999999")}/*`)).toBe(false);
  });

  it("treats non-principal members and malformed identifiers as non-matching", () => {
    expect(matchesMember(identity, "serviceAccount:ci@example.iam.gserviceaccount.com")).toBe(false);
    expect(matchesMember(identity, `${POOL}/subject/${identity.subject}`)).toBe(false);
  });

  it("lists every member the identity matches, each of which matches", () => {
    const members = identityMembers(identity);
    expect(members).toEqual([
      `${SUBJECT_PREFIX}${identity.subject}`,
      `${POOL}/group/readers`,
      `${POOL}/group/admins`,
      `${POOL}/attribute.tenant/72f988bf`,
      `${POOL}/attribute.teams/blue`,
      `${POOL}/attribute.teams/green`,
      `${POOL}/*`,
    ]);
    for (const member of members) expect(matchesMember(identity, member)).toBe(true);
  });

  it("works on what a mapping produced for an EC2 role", () => {
    const mapped = compileMapping(DEFAULT_AWS_MAPPING).evaluate(EC2_ASSERTION);
    const ec2 = { projectNumber: 123456789012, poolId: "wifkit-pool", ...mapped };
    const roleMember = principalSetIdentifier({
      ...pool,
      attribute: { name: "aws_role", value: "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role" },
    });
    expect(matchesMember(ec2, roleMember)).toBe(true);
    expect(identityMembers(ec2)).toContain(roleMember);
    expect(identityMembers(ec2)).toContain(principalIdentifier({ ...pool, subject: EC2_ASSERTION.arn }));
  });
});
