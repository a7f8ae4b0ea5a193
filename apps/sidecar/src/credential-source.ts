/**
 * What the sidecar serves about the credential besides its tokens (which it asks the credential for
 * directly: a credential is a `TokenSource`): the identity values of the metadata tree (service account
 * email, project id and number, universe).
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { parseAudience } from "@wifkit/config";
import type { Credentials } from "@wifkit/credentials";
import type { MetadataValues } from "./metadata.js";

/** What the operator set explicitly; anything left undefined is derived. */
export interface MetadataOverrides {
  projectId?: string | undefined;
  projectNumber?: string | undefined;
  serviceAccountEmail?: string | undefined;
  instanceName?: string | undefined;
  instanceId?: string | undefined;
  zone?: string | undefined;
}

/** Zone name served when none is configured: there is no GCE zone, and clients only split it apart. */
export const DEFAULT_ZONE = "unknown";

const SERVICE_ACCOUNT_PROJECT = /^[^@]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;

/** The project a user-managed service account lives in, from its email. */
export function projectOfServiceAccount(email: string | undefined): string | undefined {
  return email === undefined ? undefined : SERVICE_ACCOUNT_PROJECT.exec(email)?.[1];
}

/** A stable 19-digit-or-shorter instance id derived from the host name (GCE ids are 64-bit numbers). */
export function instanceIdFor(name: string): string {
  return BigInt(`0x${createHash("sha256").update(name).digest("hex").slice(0, 15)}`).toString();
}

/**
 * Derives the metadata values: explicit overrides first, then what the credential says. The project id
 * comes from the impersonated service account's email, else the quota project; the project number from a
 * workload pool audience. Without impersonation (direct resource access) the email is the stand-in
 * `PROJECT_ID.svc.id.goog`, the form GKE's metadata server uses for federated identities (`default` when no
 * project id is known).
 */
export function metadataValues(
  credentials: Pick<Credentials, "principal" | "quotaProjectId" | "universeDomain">,
  overrides: MetadataOverrides,
  host: string = hostname(),
): Omit<MetadataValues, "scopes"> {
  const serviceAccount = credentials.principal.serviceAccount;
  const projectId =
    overrides.projectId ?? projectOfServiceAccount(serviceAccount) ?? credentials.quotaProjectId;
  const audience = credentials.principal.audience;
  const pool = audience ? parseAudience(audience) : undefined;
  const numericProjectId =
    overrides.projectNumber ?? (pool?.kind === "workload" ? pool.projectNumber : undefined);
  const instanceName = overrides.instanceName ?? host;
  return {
    projectId,
    numericProjectId,
    serviceAccountEmail:
      overrides.serviceAccountEmail ?? serviceAccount ?? (projectId ? `${projectId}.svc.id.goog` : "default"),
    universeDomain: credentials.universeDomain,
    instanceId: overrides.instanceId ?? instanceIdFor(instanceName),
    instanceName,
    zone: `projects/${numericProjectId ?? "0"}/zones/${overrides.zone ?? DEFAULT_ZONE}`,
  };
}
