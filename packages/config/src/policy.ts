/**
 * Endpoint policy. A credential configuration often comes from someone else, and a hostile one can send
 * your AWS signature or your Google token anywhere it names. So Google endpoints must be https on a host of
 * the configuration's universe domain, metadata URLs must be the documented link-local hosts, and subject
 * tokens never travel over plain http except on this machine or to a link-local metadata server. Callers
 * that need more (an emulator, a test server) pass the extra origins explicitly.
 */
import type { ConfigIssue } from "./errors.js";

export interface AllowOptions {
  /**
   * Extra origins every URL field may use, e.g. `http://127.0.0.1:41234` for the emulator. Plain http is
   * accepted only for loopback origins.
   */
  origins?: readonly string[] | undefined;
  /**
   * Universe domains besides `googleapis.com` a configuration may name in `universe_domain` (a sovereign
   * cloud's). The file cannot approve its own universe: the endpoint policy trusts every Google host of
   * the universe, so a file that chose it could send credentials anywhere. Default: the
   * `WIF_UNIVERSE_DOMAIN` environment variable (comma-separated) when the loader is given an environment.
   */
  universeDomains?: readonly string[] | undefined;
}

/** Environment variable approving universe domains (comma-separated) when `allow.universeDomains` is unset. */
export const UNIVERSE_DOMAIN_ENV = "WIF_UNIVERSE_DOMAIN";

/** The universes `allow` approves, else those `env` approves; lower case, without blanks. */
export function approvedUniverseDomains(
  allow: AllowOptions | undefined,
  env: Readonly<Record<string, string | undefined>> | undefined,
): string[] {
  const given = allow?.universeDomains ?? (env?.[UNIVERSE_DOMAIN_ENV] ?? "").split(",");
  return given.map((domain) => domain.trim().toLowerCase()).filter((domain) => domain !== "");
}

export type GoogleService = "sts" | "iamcredentials";

const AWS_METADATA_HOSTS = new Set(["169.254.169.254", "[fd00:ec2::254]"]);
/** Azure's instance metadata service: IPv4 only, port 80. */
const AZURE_IMDS_HOST = "169.254.169.254";
const LINK_LOCAL_METADATA_HOSTS = new Set([
  ...AWS_METADATA_HOSTS,
  "169.254.170.2",
  "169.254.170.23",
  "[fd00:ec2::23]",
]);

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** The URL's origin as policy compares it, or undefined when the URL does not parse. */
function originOf(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function isAllowed(url: URL, allow: AllowOptions | undefined): boolean {
  if (!allow?.origins?.length) return false;
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) return false;
  return allow.origins.some((origin) => originOf(origin)?.origin === url.origin);
}

/**
 * Parses a URL field for a policy check. Returns undefined when there is nothing more to check: the URL is
 * explicitly allowed, or it does not parse (recorded as an issue).
 */
function urlToCheck(
  path: string,
  value: string,
  allow: AllowOptions | undefined,
  issues: ConfigIssue[],
): URL | undefined {
  const url = originOf(value);
  if (!url) {
    issues.push({ path, message: "must be an absolute URL" });
    return undefined;
  }
  return isAllowed(url, allow) ? undefined : url;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function googleHostPattern(service: GoogleService, universeDomain: string): RegExp {
  const domain = escapeRegExp(universeDomain);
  return new RegExp(`^${service}\\.(?:mtls\\.|[a-z0-9-]+\\.rep\\.)?${domain}$`);
}

const ALLOW_HINT =
  "Only Google endpoints are accepted, because a configuration can send your credentials to any URL it names; to use another endpoint (an emulator or a test server), allow its origin: --allow-origin ORIGIN or WIF_ALLOW_ORIGINS (wif, wif-sidecar), allow.origins (library).";

/** Checks a Google endpoint field (`token_url`, `service_account_impersonation_url`, `token_info_url`). */
export function checkGoogleEndpoint(
  path: string,
  value: string,
  service: GoogleService,
  universeDomain: string,
  allow: AllowOptions | undefined,
  issues: ConfigIssue[],
): void {
  const url = urlToCheck(path, value, allow, issues);
  if (!url) return;
  const expected = `https://${service}.${universeDomain}`;
  if (url.username || url.password) {
    issues.push({ path, message: "must not contain a user name or password" });
  } else if (
    url.protocol !== "https:" ||
    url.port !== "" ||
    !googleHostPattern(service, universeDomain).test(url.hostname)
  ) {
    issues.push({
      path,
      message: `${url.protocol}//${url.host} is not a Google ${service === "sts" ? "STS" : "IAM Credentials"} endpoint of universe ${universeDomain} (expected ${expected}/...). ${ALLOW_HINT}`,
    });
  }
}

/** Checks an AWS instance metadata URL (`region_url`, `url`, `imdsv2_session_token_url`). */
export function checkAwsMetadataUrl(
  path: string,
  value: string,
  allow: AllowOptions | undefined,
  issues: ConfigIssue[],
): void {
  const url = urlToCheck(path, value, allow, issues);
  if (!url) return;
  if (url.protocol !== "http:" || !AWS_METADATA_HOSTS.has(url.hostname) || url.port !== "") {
    issues.push({
      path,
      message: `${url.protocol}//${url.host} is not the AWS instance metadata service (expected http://169.254.169.254 or http://[fd00:ec2::254]). ${ALLOW_HINT}`,
    });
  }
}

/** The one path of a link-local metadata server that answers a subject token: Azure IMDS's managed identity. */
export const AZURE_IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token";

/**
 * Whether a URL source's `url` asks Azure's instance metadata for a managed identity token (what
 * `gcloud ... create-cred-config --azure` writes): its path and a `resource`, on any host (the emulator's too).
 */
export function isAzureImdsTokenUrl(url: string): boolean {
  const parsed = originOf(url);
  if (!parsed) return false;
  return (
    parsed.pathname.replace(/\/+$/, "").endsWith(AZURE_IMDS_TOKEN_PATH) && parsed.searchParams.has("resource")
  );
}

/**
 * Checks the URL of a URL credential source: https anywhere; plain http only on this machine or link-local
 * metadata, and on a metadata server only Azure's identity token path (elsewhere it answers AWS keys, or
 * another cloud's tokens, which would go to STS as the "subject token").
 */
export function checkSubjectTokenUrl(
  path: string,
  value: string,
  allow: AllowOptions | undefined,
  issues: ConfigIssue[],
): void {
  const url = urlToCheck(path, value, allow, issues);
  if (!url) return;
  if (
    LINK_LOCAL_METADATA_HOSTS.has(url.hostname) &&
    (url.host !== AZURE_IMDS_HOST || url.pathname.replace(/\/+$/, "") !== AZURE_IMDS_TOKEN_PATH)
  ) {
    issues.push({
      path,
      message: `${url.host}${url.pathname} is a metadata path that serves credentials, not a subject token; on a metadata server only Azure's ${AZURE_IMDS_HOST}${AZURE_IMDS_TOKEN_PATH} is a URL source`,
    });
    return;
  }
  if (url.protocol === "https:") return;
  if (url.protocol !== "http:") {
    issues.push({ path, message: `must be an http or https URL, not ${url.protocol}` });
  } else if (url.host !== AZURE_IMDS_HOST && !isLoopbackHost(url.hostname)) {
    issues.push({
      path,
      message: `http://${url.host} would carry the subject token unencrypted across the network; use https (plain http is accepted only for loopback and Azure's metadata server)`,
    });
  }
}

const AWS_VERIFICATION = /^https:\/\/sts(?:\.\{region\}|\.[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?\/?\?(.*)$/;

/** Checks `regional_cred_verification_url`: the AWS STS GetCallerIdentity URL that gets signed. */
export function checkAwsVerificationUrl(
  path: string,
  value: string,
  allow: AllowOptions | undefined,
  issues: ConfigIssue[],
): void {
  const url = originOf(value.replace("{region}", "region"));
  if (url && isAllowed(url, allow)) return;
  const match = AWS_VERIFICATION.exec(value);
  if (!match) {
    issues.push({
      path,
      message:
        "must be an https AWS STS URL such as https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    });
  } else if (!new URLSearchParams(match[1]).getAll("Action").includes("GetCallerIdentity")) {
    issues.push({
      path,
      message: "must call Action=GetCallerIdentity, the only AWS request Google STS accepts",
    });
  }
}
