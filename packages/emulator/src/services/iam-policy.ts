import { createHash } from "node:crypto";
import { AttributeMappingError, parsePrincipal } from "@wifkit/attribute-mapping";

/**
 * IAM allow policies as Google's getIamPolicy / setIamPolicy carry them, over the emulator's bindings
 * (`role -> members`). Shared by service accounts (IAM API) and buckets (Storage JSON API).
 */

export interface PolicyBinding {
  role: string;
  members: string[];
}

/** The policy's etag: base64 of a hash of its bindings, so it changes whenever they do. */
export function policyEtag(bindings: Record<string, string[]>): string {
  const canonical = Object.keys(bindings)
    .sort()
    .map((role) => [role, [...(bindings[role] ?? [])].sort()]);
  return createHash("sha256").update(JSON.stringify(canonical)).digest().subarray(0, 8).toString("base64");
}

/**
 * Whether a setIamPolicy request was based on an older read: its etag (when it sent one) differs from
 * the current policy's. Etags are bytes; clients may send them in base64url (apitools does).
 */
export function isStale(update: { etag: string | undefined }, bindings: Record<string, string[]>): boolean {
  if (update.etag === undefined) return false;
  return !Buffer.from(update.etag, "base64").equals(Buffer.from(policyEtag(bindings), "base64"));
}

/** Bindings as a policy lists them: one entry per role with members, roles in order. */
export function policyBindings(bindings: Record<string, string[]>): PolicyBinding[] {
  return Object.keys(bindings)
    .sort()
    .filter((role) => (bindings[role] ?? []).length > 0)
    .map((role) => ({ role, members: [...(bindings[role] ?? [])] }));
}

export type PolicyUpdate =
  | { ok: true; bindings: Record<string, string[]>; etag: string | undefined }
  | { ok: false; problem: string };

/**
 * Reads the `policy` of a setIamPolicy request: bindings (merged per role, members de-duplicated),
 * validated as IAM does (role names, member types, `principal://` identifiers with a project number),
 * and the etag the caller read, if any. `supportsRole` says which roles the resource accepts.
 */
export function readPolicy(policy: unknown, supportsRole: (role: string) => boolean): PolicyUpdate {
  if (typeof policy !== "object" || policy === null || Array.isArray(policy)) {
    return { ok: false, problem: 'Invalid value at "policy": a policy object is required.' };
  }
  const { bindings = [], etag } = policy as { bindings?: unknown; etag?: unknown };
  if (etag !== undefined && typeof etag !== "string") {
    return { ok: false, problem: 'Invalid value at "policy.etag": expected a base64 string.' };
  }
  if (!Array.isArray(bindings)) return { ok: false, problem: 'Invalid value at "policy.bindings".' };
  const result: Record<string, string[]> = {};
  for (const binding of bindings as unknown[]) {
    const { role, members, condition } = (binding ?? {}) as Record<string, unknown>;
    if (typeof role !== "string" || !ROLE.test(role)) {
      return { ok: false, problem: `Invalid role ${JSON.stringify(role)}: expected roles/NAME.` };
    }
    if (condition !== undefined && condition !== null) {
      return { ok: false, problem: "Conditional role bindings are not supported by the emulator." };
    }
    if (!supportsRole(role))
      return { ok: false, problem: `Role ${role} is not supported for this resource.` };
    if (!Array.isArray(members) || members.some((member) => typeof member !== "string")) {
      return { ok: false, problem: `Invalid members of role ${role}: expected a list of strings.` };
    }
    for (const member of members as string[]) {
      const problem = memberProblem(member);
      if (problem) return { ok: false, problem };
    }
    result[role] = [...new Set([...(result[role] ?? []), ...(members as string[])])];
  }
  return { ok: true, bindings: result, etag: etag === "" ? undefined : etag };
}

const ROLE = /^(?:roles|(?:projects|organizations)\/[^/]+\/roles)\/[A-Za-z0-9_.]+$/;
const EMAIL_MEMBER = /^(?:user|serviceAccount|group):[^@\s]+@[^@\s]+$/;
const SPECIAL_MEMBERS = new Set(["allUsers", "allAuthenticatedUsers"]);

/** Why IAM would refuse a member string, or undefined for a valid one. */
export function memberProblem(member: string): string | undefined {
  if (SPECIAL_MEMBERS.has(member) || EMAIL_MEMBER.test(member) || /^domain:[a-z0-9.-]+$/i.test(member)) {
    return undefined;
  }
  if (/^(?:projectOwner|projectEditor|projectViewer):[a-z0-9-]+$/.test(member)) return undefined;
  if (member.startsWith("principal://") || member.startsWith("principalSet://")) {
    try {
      parsePrincipal(member);
      return undefined;
    } catch (error) {
      if (error instanceof AttributeMappingError) return `Invalid principal ${member}: ${error.message}`;
      throw error;
    }
  }
  return `Invalid member ${JSON.stringify(member)}: expected user:, serviceAccount:, group:, domain:, principal:// or principalSet://.`;
}
