/** Audience, service account and universe helpers shared by the parser, the builders and the clients. */

export type ParsedAudience =
  | { kind: "workload"; projectNumber: string; location: string; poolId: string; providerId: string }
  | { kind: "workforce"; location: string; poolId: string; providerId: string };

const WORKLOAD =
  /^\/\/iam\.([a-z0-9.-]+)\/projects\/([^/]+)\/locations\/([^/]+)\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;
const WORKFORCE = /^\/\/iam\.([a-z0-9.-]+)\/locations\/([^/]+)\/workforcePools\/([^/]+)\/providers\/([^/]+)$/;

/**
 * Reads a provider audience (`//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`
 * or the workforce form `//iam.googleapis.com/locations/global/workforcePools/P/providers/X`). Returns undefined
 * for anything else; shape rules (project number, id lengths) are checked by the config parser.
 */
export function parseAudience(audience: string): ParsedAudience | undefined {
  const workload = WORKLOAD.exec(audience);
  if (workload) {
    const [, , projectNumber, location, poolId, providerId] = workload as unknown as string[];
    return {
      kind: "workload",
      projectNumber: projectNumber as string,
      location: location as string,
      poolId: poolId as string,
      providerId: providerId as string,
    };
  }
  const workforce = WORKFORCE.exec(audience);
  if (workforce) {
    const [, , location, poolId, providerId] = workforce as unknown as string[];
    return {
      kind: "workforce",
      location: location as string,
      poolId: poolId as string,
      providerId: providerId as string,
    };
  }
  return undefined;
}

/** `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`. */
export function workloadProviderAudience(init: {
  projectNumber: string | number;
  poolId: string;
  providerId: string;
  location?: string;
}): string {
  const location = init.location ?? "global";
  return `//iam.googleapis.com/projects/${init.projectNumber}/locations/${location}/workloadIdentityPools/${init.poolId}/providers/${init.providerId}`;
}

const IMPERSONATION_PATH = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/;

/** The service account email named by a `service_account_impersonation_url`, or undefined. */
export function serviceAccountFromImpersonationUrl(url: string): string | undefined {
  try {
    const match = IMPERSONATION_PATH.exec(new URL(url).pathname);
    return match?.[1] ? decodePathSegment(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A percent-decoded path segment, or undefined when its escapes are malformed (`%ap`). */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Whether a string looks like a service account email (`name@project.iam.gserviceaccount.com` and kin). */
export function isServiceAccountEmail(value: string): boolean {
  return /^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$/i.test(value);
}
