import { AttributeMappingError, ATTRIBUTE_MAPPING_ERROR_CODES as CODES } from "./errors.js";

/** The host every workload identity principal identifier names. */
export const PRINCIPAL_HOST = "iam.googleapis.com";

/** A project number as Google prints it (digits), or as a number. Never the project id. */
export type ProjectNumber = string | number;

export interface PoolRef {
  projectNumber: ProjectNumber;
  /** The workload identity pool id: 4 to 32 characters of `[a-z0-9-]`. */
  poolId: string;
}

/** A federated identity as a mapping produced it, located in its pool. */
export interface FederatedIdentity extends PoolRef {
  subject: string;
  groups?: readonly string[] | undefined;
  /** Custom attributes keyed by NAME (without `attribute.`). */
  attributes?: Readonly<Record<string, string | readonly string[]>> | undefined;
}

/** A parsed `principal://` or `principalSet://` member. */
export type ParsedPrincipal =
  | { kind: "subject"; projectNumber: string; poolId: string; subject: string }
  | { kind: "group"; projectNumber: string; poolId: string; group: string }
  | { kind: "attribute"; projectNumber: string; poolId: string; attribute: { name: string; value: string } }
  | { kind: "pool"; projectNumber: string; poolId: string };

const POOL_ID = /^[a-z0-9-]{4,32}$/;
const PROJECT_NUMBER = /^[0-9]{1,20}$/;
const ATTRIBUTE_NAME = /^[a-z0-9_]{1,100}$/;
const MEMBER =
  /^(principal|principalSet):\/\/iam\.googleapis\.com\/projects\/([^/]*)\/locations\/([^/]*)\/workloadIdentityPools\/([^/]*)\/(.*)$/s;

function principalError(message: string): AttributeMappingError {
  return new AttributeMappingError(message, { code: CODES.principalInvalid, stage: "principal" });
}

function normalizePool(ref: PoolRef): { projectNumber: string; poolId: string } {
  const projectNumber = typeof ref.projectNumber === "number" ? String(ref.projectNumber) : ref.projectNumber;
  if (typeof projectNumber !== "string" || !PROJECT_NUMBER.test(projectNumber)) {
    throw principalError(
      `Invalid project number ${JSON.stringify(String(projectNumber))}: principal identifiers use the project number (digits, e.g. 123456789012), never the project id.`,
    );
  }
  if (typeof ref.poolId !== "string" || !POOL_ID.test(ref.poolId)) {
    throw principalError(
      `Invalid workload identity pool id ${JSON.stringify(String(ref.poolId))}: it must be 4 to 32 characters of [a-z0-9-].`,
    );
  }
  return { projectNumber, poolId: ref.poolId };
}

function poolPrefix(scheme: "principal" | "principalSet", ref: PoolRef): string {
  const { projectNumber, poolId } = normalizePool(ref);
  return `${scheme}://${PRINCIPAL_HOST}/projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}`;
}

function requireNonEmpty(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "")
    throw principalError(`The ${what} of a principal identifier must be a non-empty string.`);
  return value;
}

/**
 * The `principal://` identifier of one federated subject, for IAM bindings. The subject is used verbatim
 * (Google does not escape it; ARNs keep their slashes).
 *
 * @example
 * principalIdentifier({ projectNumber: "123456789012", poolId: "wifkit-pool", subject: "arn:aws:iam::111122223333:user/ci" });
 * // "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/subject/arn:aws:iam::111122223333:user/ci"
 */
export function principalIdentifier(init: PoolRef & { subject: string }): string {
  return `${poolPrefix("principal", init)}/subject/${requireNonEmpty(init.subject, "subject")}`;
}

/**
 * The `principalSet://` identifier of a group (`google.groups`), of every identity with a custom attribute
 * value (`attribute.NAME/VALUE`), or, with neither, of the whole pool (`/*`).
 *
 * @example
 * principalSetIdentifier({ projectNumber: 123456789012, poolId: "wifkit-pool", attribute: { name: "aws_role", value: "arn:aws:sts::111122223333:assumed-role/ci" } });
 */
export function principalSetIdentifier(
  init: PoolRef & { group?: string | undefined; attribute?: { name: string; value: string } | undefined },
): string {
  const prefix = poolPrefix("principalSet", init);
  if (init.group !== undefined && init.attribute !== undefined) {
    throw principalError("A principalSet identifier names either a group or an attribute, not both.");
  }
  if (init.group !== undefined) return `${prefix}/group/${requireNonEmpty(init.group, "group")}`;
  if (init.attribute !== undefined) {
    const { name, value } = init.attribute;
    if (typeof name !== "string" || !ATTRIBUTE_NAME.test(name)) {
      throw principalError(
        `Invalid attribute name ${JSON.stringify(String(name))}: it must be 1 to 100 characters of [a-z0-9_], without the attribute. prefix.`,
      );
    }
    return `${prefix}/attribute.${name}/${requireNonEmpty(value, "attribute value")}`;
  }
  return `${prefix}/*`;
}

/**
 * Parses a workload identity `principal://` or `principalSet://` member. Throws `AttributeMappingError`
 * `ERR_WIF_PRINCIPAL_INVALID` when the string is not one, names a location other than `global`, uses a
 * project id instead of a number, or has an empty or malformed subject, group or attribute.
 *
 * @example
 * parsePrincipal("principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/group/admins");
 * // { kind: "group", projectNumber: "123456789012", poolId: "wifkit-pool", group: "admins" }
 */
export function parsePrincipal(member: string): ParsedPrincipal {
  if (typeof member !== "string") throw principalError("A principal identifier must be a string.");
  const match = MEMBER.exec(member);
  if (!match) {
    throw principalError(
      `Not a workload identity principal identifier: ${shorten(member)}. Expected principal://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/subject/SUBJECT or a principalSet:// identifier.`,
    );
  }
  const [, scheme, projectNumber = "", location, poolId = "", rest = ""] = match;
  if (location !== "global") {
    throw principalError(`Workload identity pools live in location global, not ${JSON.stringify(location)}.`);
  }
  const pool = normalizePool({ projectNumber, poolId });
  if (scheme === "principal") {
    if (!rest.startsWith("subject/") || rest.length === "subject/".length) {
      throw principalError(`A principal:// identifier must end in /subject/SUBJECT: ${shorten(member)}.`);
    }
    return { kind: "subject", ...pool, subject: rest.slice("subject/".length) };
  }
  if (rest === "*") return { kind: "pool", ...pool };
  if (rest.startsWith("group/") && rest.length > "group/".length) {
    return { kind: "group", ...pool, group: rest.slice("group/".length) };
  }
  const attribute = /^attribute\.([^/]*)\/(.+)$/s.exec(rest);
  if (attribute) {
    const [, name = "", value = ""] = attribute;
    if (!ATTRIBUTE_NAME.test(name)) {
      throw principalError(
        `Invalid attribute name ${JSON.stringify(name)} in ${shorten(member)}: use [a-z0-9_].`,
      );
    }
    return { kind: "attribute", ...pool, attribute: { name, value } };
  }
  throw principalError(
    `A principalSet:// identifier must end in /group/GROUP, /attribute.NAME/VALUE or /*: ${shorten(member)}.`,
  );
}

function shorten(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function identityPool(identity: FederatedIdentity): { projectNumber: string; poolId: string } {
  return {
    projectNumber:
      typeof identity.projectNumber === "number" ? String(identity.projectNumber) : identity.projectNumber,
    poolId: identity.poolId,
  };
}

/**
 * True when IAM would treat `identity` as covered by `member`: the same project number and pool, and the
 * member's subject equals the identity's subject, its group is one of the identity's groups, its attribute
 * value equals the identity's attribute (or one of its values when the attribute is a list), or it is the
 * whole pool. Any other member (`serviceAccount:...`, `user:...`, malformed identifiers) does not match.
 *
 * @example
 * matchesMember(
 *   { projectNumber: "123456789012", poolId: "wifkit-pool", subject: "s", groups: ["admins"], attributes: {} },
 *   "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/group/admins",
 * ); // true
 */
export function matchesMember(identity: FederatedIdentity, member: string): boolean {
  let parsed: ParsedPrincipal;
  try {
    parsed = parsePrincipal(member);
  } catch {
    return false;
  }
  const pool = identityPool(identity);
  if (parsed.projectNumber !== pool.projectNumber || parsed.poolId !== pool.poolId) return false;
  switch (parsed.kind) {
    case "subject":
      return parsed.subject === identity.subject;
    case "group":
      return (identity.groups ?? []).includes(parsed.group);
    case "attribute": {
      const value = identity.attributes?.[parsed.attribute.name];
      if (typeof value === "string") return value === parsed.attribute.value;
      return Array.isArray(value) && value.includes(parsed.attribute.value);
    }
    case "pool":
      return true;
  }
}

/**
 * Every `principal://` and `principalSet://` member that matches `identity`: its subject, each group, each
 * custom attribute value, and the whole pool. Useful to look an identity up in IAM bindings, or to show a
 * user which members they could bind.
 */
export function identityMembers(identity: FederatedIdentity): string[] {
  const members = new Set<string>();
  members.add(principalIdentifier(identity));
  for (const group of identity.groups ?? []) {
    if (group !== "") members.add(principalSetIdentifier({ ...identityPool(identity), group }));
  }
  for (const [name, value] of Object.entries(identity.attributes ?? {})) {
    const values: readonly string[] = typeof value === "string" ? [value] : value;
    for (const element of values) {
      if (element !== "") {
        members.add(
          principalSetIdentifier({ ...identityPool(identity), attribute: { name, value: element } }),
        );
      }
    }
  }
  members.add(principalSetIdentifier(identityPool(identity)));
  return [...members];
}
