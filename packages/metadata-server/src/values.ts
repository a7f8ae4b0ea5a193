/**
 * What the server answers besides tokens: the identity values of the metadata tree, derived from the
 * credential (service account email, project id and number, universe) with stand-ins for what only a GCE
 * instance has (instance id, name, host name, zone).
 */

import { createHash } from "node:crypto";
import { hostname as osHostname } from "node:os";
import { parseAudience } from "@wifkit/config";
import { DEFAULT_UNIVERSE_DOMAIN } from "@wifkit/core";
import type { Credentials } from "@wifkit/credentials";

/** The values the metadata tree is built from. */
export interface MetadataValues {
  /** `project/project-id`; 404 when unknown. */
  projectId?: string | undefined;
  /** `project/numeric-project-id`; 404 when unknown. */
  numericProjectId?: string | undefined;
  /** `instance/service-accounts/default/email`, and the account's second name in the listing. */
  serviceAccountEmail: string;
  /**
   * Whether the `identity` routes exist. Without a service account to impersonate no ID token can be had,
   * and the route answers 404, as GCE does for an account the instance does not have.
   */
  identity: boolean;
  /** `universe/universe-domain`. */
  universeDomain: string;
  /** `instance/id` (digits), `instance/name`, `instance/hostname`: stand-ins, there is no GCE instance. */
  instanceId: string;
  instanceName: string;
  hostname: string;
  /** `instance/zone`: `projects/NUMBER/zones/ZONE`. */
  zone: string;
}

/** What an operator sets explicitly; anything left undefined is derived. */
export interface MetadataOverrides {
  projectId?: string | undefined;
  projectNumber?: string | undefined;
  serviceAccountEmail?: string | undefined;
  instanceName?: string | undefined;
  instanceId?: string | undefined;
  hostname?: string | undefined;
  /** The zone name alone (`us-central1-a`); served as `projects/NUMBER/zones/ZONE`. */
  zone?: string | undefined;
}

/** The parts of a credential the values are derived from; every one is optional. */
export type MetadataIdentity = Partial<Pick<Credentials, "principal" | "quotaProjectId" | "universeDomain">>;

/** Zone name served when none is configured: there is no GCE zone, and clients only split it apart. */
export const DEFAULT_ZONE = "unknown";

const SERVICE_ACCOUNT_PROJECT = /^[^@]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;

/** The project a user-managed service account lives in, from its email. */
export function projectOfServiceAccount(email: string | undefined): string | undefined {
  return email === undefined ? undefined : SERVICE_ACCOUNT_PROJECT.exec(email)?.[1];
}

/** A stable instance id of at most 19 digits derived from the host name (GCE ids are 64-bit numbers). */
export function instanceIdFor(name: string): string {
  return BigInt(`0x${createHash("sha256").update(name).digest("hex").slice(0, 15)}`).toString();
}

/**
 * Derives the metadata values: explicit overrides first, then what the credential says. The project id
 * comes from the impersonated service account's email, else the quota project; the project number from a
 * workload pool audience. Without impersonation (direct resource access) the email is the stand-in
 * `PROJECT_ID.svc.id.goog`, the form GKE's metadata server uses for federated identities (`default` when no
 * project id is known), and there is no identity route. `host` is the machine's host name by default.
 *
 * @example
 * const values = metadataValues(credentials, { zone: "europe-west1-b" });
 */
export function metadataValues(
  credentials: MetadataIdentity,
  overrides: MetadataOverrides = {},
  host: string = osHostname(),
): MetadataValues {
  const principal = credentials.principal;
  const serviceAccount = principal?.serviceAccount;
  const projectId =
    overrides.projectId ?? projectOfServiceAccount(serviceAccount) ?? credentials.quotaProjectId;
  const pool = principal?.audience ? parseAudience(principal.audience) : undefined;
  const numericProjectId =
    overrides.projectNumber ?? (pool?.kind === "workload" ? pool.projectNumber : undefined);
  const instanceName = overrides.instanceName ?? host;
  return {
    projectId,
    numericProjectId,
    serviceAccountEmail:
      overrides.serviceAccountEmail ?? serviceAccount ?? (projectId ? `${projectId}.svc.id.goog` : "default"),
    // A source that does not say what it is (no principal) is asked, and answers for itself.
    identity: principal === undefined || principal.kind === "service_account",
    universeDomain: credentials.universeDomain ?? DEFAULT_UNIVERSE_DOMAIN,
    instanceId: overrides.instanceId ?? instanceIdFor(instanceName),
    instanceName,
    hostname: overrides.hostname ?? instanceName,
    zone: `projects/${numericProjectId ?? "0"}/zones/${overrides.zone ?? DEFAULT_ZONE}`,
  };
}
