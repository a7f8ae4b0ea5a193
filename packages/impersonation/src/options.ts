import { DEFAULT_UNIVERSE_DOMAIN, httpUrlOption, invalidOption, isDomainName } from "@wifkit/core";

/** Lifetime of a service account access token when none is asked for (the only one allowed without an org policy). */
export const DEFAULT_LIFETIME_SECONDS = 3600;
/** Shortest lifetime accepted, as `gcloud ... create-cred-config --service-account-token-lifetime-seconds`. */
export const MIN_LIFETIME_SECONDS = 600;
/** Longest lifetime IAM can grant (12 h, only with `constraints/iam.allowServiceAccountCredentialLifetimeExtension`). */
export const MAX_LIFETIME_SECONDS = 43_200;

// Service account emails are `name@project.iam.gserviceaccount.com` (or a Google-managed domain); IAM also
// takes the account's numeric unique ID in the same path position.
const EMAIL = /^[A-Za-z0-9][A-Za-z0-9._+-]*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const UNIQUE_ID = /^\d{1,32}$/;

export function serviceAccountOption(option: string, value: unknown): string {
  if (typeof value !== "string" || !(EMAIL.test(value) || UNIQUE_ID.test(value))) {
    throw invalidOption(
      option,
      `must be a service account email such as name@project.iam.gserviceaccount.com, got ${
        typeof value === "string" ? `"${value.slice(0, 100)}"` : typeof value
      }.`,
    );
  }
  return value;
}

/** Delegates may be emails or `projects/-/serviceAccounts/EMAIL`; IAM wants the resource-name form. */
export function delegatesOption(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOption("delegates", "must be an array of service account emails.");
  return value.map((entry: unknown, index) => {
    const email =
      typeof entry === "string" ? entry.replace(/^projects\/[^/]+\/serviceAccounts\//, "") : entry;
    return `projects/-/serviceAccounts/${serviceAccountOption(`delegates[${index}]`, email)}`;
  });
}

export function scopesOption(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((s) => typeof s !== "string" || s === "")) {
    throw invalidOption("scopes", "must be a non-empty array of OAuth scopes.");
  }
  return [...(value as string[])];
}

export function lifetimeOption(value: unknown): number {
  if (value === undefined) return DEFAULT_LIFETIME_SECONDS;
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < MIN_LIFETIME_SECONDS ||
    value > MAX_LIFETIME_SECONDS
  ) {
    throw invalidOption(
      "lifetimeSeconds",
      `must be whole seconds from ${MIN_LIFETIME_SECONDS} to ${MAX_LIFETIME_SECONDS}, got ${String(value)}.`,
    );
  }
  return value;
}

/** `baseUrl` if given, else `https://iamcredentials.{universeDomain}`; no trailing slash. */
export function baseUrlOption(baseUrl: unknown, universeDomain: unknown): string {
  if (baseUrl !== undefined) {
    const url = httpUrlOption("baseUrl", baseUrl);
    return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
  }
  const domain =
    typeof universeDomain === "string"
      ? universeDomain.toLowerCase()
      : (universeDomain ?? DEFAULT_UNIVERSE_DOMAIN);
  if (!isDomainName(domain)) {
    throw invalidOption("universeDomain", `must be a domain such as ${DEFAULT_UNIVERSE_DOMAIN}.`);
  }
  return `https://iamcredentials.${domain}`;
}
