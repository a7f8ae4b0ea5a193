/**
 * Google's validation rules for workload identity pools and providers, with the wording of the IAM API
 * reference. The config loader and the emulated IAM admin API both apply them, so a setup the emulator
 * accepts is one Google accepts too. Each check returns the problem, or undefined when the value is valid.
 */

const RESOURCE_ID = /^[a-z0-9-]{4,32}$/;
const RESERVED_PREFIX = "gcp-";
export const MAX_DISPLAY_NAME_LENGTH = 32;
export const MAX_DESCRIPTION_LENGTH = 256;
export const MAX_ALLOWED_AUDIENCES = 10;
export const MAX_AUDIENCE_LENGTH = 256;
/** Deleted pools and providers can be undeleted for 30 days. */
export const SOFT_DELETE_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** A pool or provider id: 4-32 characters of [a-z0-9-], not starting with the reserved `gcp-`. */
export function resourceIdProblem(kind: "pool" | "provider", id: string): string | undefined {
  const field = kind === "pool" ? "workloadIdentityPoolId" : "workloadIdentityPoolProviderId";
  if (!RESOURCE_ID.test(id)) {
    return `Invalid value for "${field}" (${JSON.stringify(id)}): the ID must be 4-32 characters, and may contain the characters [a-z0-9-].`;
  }
  if (id.startsWith(RESERVED_PREFIX)) {
    return `Invalid value for "${field}" (${JSON.stringify(id)}): the prefix \`gcp-\` is reserved for use by Google, and may not be specified.`;
  }
  return undefined;
}

export function displayNameProblem(value: string | undefined): string | undefined {
  if (value !== undefined && [...value].length > MAX_DISPLAY_NAME_LENGTH) {
    return `The display name cannot exceed ${MAX_DISPLAY_NAME_LENGTH} characters.`;
  }
  return undefined;
}

export function descriptionProblem(value: string | undefined): string | undefined {
  if (value !== undefined && [...value].length > MAX_DESCRIPTION_LENGTH) {
    return `The description cannot exceed ${MAX_DESCRIPTION_LENGTH} characters.`;
  }
  return undefined;
}

export function allowedAudiencesProblem(audiences: readonly string[]): string | undefined {
  if (audiences.length > MAX_ALLOWED_AUDIENCES) {
    return `A maximum of ${MAX_ALLOWED_AUDIENCES} audiences may be configured in allowedAudiences (got ${audiences.length}).`;
  }
  if (audiences.some((audience) => audience.length > MAX_AUDIENCE_LENGTH)) {
    return `Each audience in allowedAudiences may be at most ${MAX_AUDIENCE_LENGTH} characters.`;
  }
  if (audiences.some((audience) => audience.trim() === ""))
    return "An audience in allowedAudiences is empty.";
  return undefined;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * The OIDC issuer must be an HTTPS URL. The emulator also accepts plain HTTP on loopback, where its own
 * issuers (Entra, the Kubernetes cluster) listen.
 */
export function issuerUriProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `The issuer URI ${JSON.stringify(value)} is not a valid URL.`;
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
    return undefined;
  }
  return `The issuer URI ${JSON.stringify(value)} must be an HTTPS endpoint.`;
}

export function awsAccountIdProblem(value: string): string | undefined {
  return /^\d{12}$/.test(value)
    ? undefined
    : `The AWS account ID ${JSON.stringify(value)} must be 12 digits.`;
}
