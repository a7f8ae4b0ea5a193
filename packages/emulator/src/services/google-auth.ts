import { matchesMember, principalIdentifier } from "@wifkit/attribute-mapping";
import type { Runtime } from "../runtime.js";
import type { ServiceRequest } from "../server.js";
import type { GoogleTokenRecord } from "../stores.js";

/**
 * Who called a Google API: the record of the bearer token the emulator issued (STS, IAM Credentials,
 * `issueGoogleToken`, `gcloudEnv`), or undefined for a missing, unknown or expired token.
 */
export function googleCaller(runtime: Runtime, request: ServiceRequest): GoogleTokenRecord | undefined {
  const token = bearerToken(request.header("authorization"));
  return token === undefined ? undefined : runtime.googleTokens.lookup(token);
}

/** The bearer token of an `Authorization: Bearer X` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** The caller as IAM names it in messages: its `principal://` identifier or its email. */
export function callerName(record: GoogleTokenRecord): string {
  if (record.kind !== "federated") return record.email;
  return principalIdentifier(record.identity);
}

/**
 * Whether an IAM member string names the caller: `serviceAccount:EMAIL` for a service account token,
 * `user:EMAIL` for a user, any `principal://` / `principalSet://` member the federated identity matches.
 */
export function callerMatcher(record: GoogleTokenRecord): (member: string) => boolean {
  if (record.kind === "serviceAccount") return serviceAccountMatcher(record.email);
  if (record.kind === "user") {
    const own = `user:${record.email.toLowerCase()}`;
    return (member) => member.toLowerCase() === own;
  }
  return (member) => matchesMember(record.identity, member);
}

export function serviceAccountMatcher(email: string): (member: string) => boolean {
  const own = `serviceaccount:${email.toLowerCase()}`;
  return (member) => member.toLowerCase() === own;
}

/** Whether any of `roles` is bound to a member `matches` accepts. */
export function holdsRole(
  bindings: Record<string, string[]>,
  roles: readonly string[],
  matches: (member: string) => boolean,
): boolean {
  return roles.some((role) => (bindings[role] ?? []).some(matches));
}

/** Whether a `projects/{project}` path segment names the emulated project (by id or number). */
export function isOwnProject(runtime: Runtime, project: string): boolean {
  return project === runtime.state.projectId || project === runtime.state.projectNumber;
}
