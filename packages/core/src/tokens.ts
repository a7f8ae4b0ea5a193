import type { Provider } from "./provider.js";

/** Google's default universe: the domain of its API endpoints (`sts.googleapis.com`, ...). */
export const DEFAULT_UNIVERSE_DOMAIN = "googleapis.com";

const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Whether `value` is a lower-case domain name such as `googleapis.com`: what a universe domain must be. */
export function isDomainName(value: unknown): value is string {
  return typeof value === "string" && DOMAIN_NAME.test(value);
}

/** The subject token types Google STS accepts (RFC 8693 URNs plus AWS's signed-request type). */
export const SUBJECT_TOKEN_TYPES = Object.freeze({
  jwt: "urn:ietf:params:oauth:token-type:jwt",
  idToken: "urn:ietf:params:oauth:token-type:id_token",
  saml2: "urn:ietf:params:oauth:token-type:saml2",
  accessToken: "urn:ietf:params:oauth:token-type:access_token",
  mtls: "urn:ietf:params:oauth:token-type:mtls",
  aws4Request: "urn:ietf:params:aws:token-type:aws4_request",
} as const);

export type SubjectTokenType = (typeof SUBJECT_TOKEN_TYPES)[keyof typeof SUBJECT_TOKEN_TYPES];

/** A credential from the workload's own platform, ready to present to Google STS. */
export interface SubjectToken {
  token: string;
  type: SubjectTokenType;
  /** When the platform credential stops being valid, if known. */
  expiresAt?: Date | undefined;
}

/** Anything that produces subject tokens: a file, a URL, an executable, AWS, Azure, your own code. */
export type SubjectTokenSupplier = Provider<SubjectToken>;

/** A Google token: an OAuth access token or an OIDC ID token. */
export interface Token {
  value: string;
  expiresAt: Date;
  type: "access_token" | "id_token";
}

/**
 * True when `value` can be a token Google issued: non-empty visible ASCII. Anything else (a newline, a
 * control character, white space) would be printed raw, served by the sidecar, or split a header, so
 * clients refuse it before using it.
 */
export function isTokenValue(value: unknown): value is string {
  return typeof value === "string" && /^[\x21-\x7e]+$/.test(value);
}

/**
 * What is wrong with a token value an upstream returned in `field`, or undefined when it is usable. The
 * sentence names the field, never the value (which may be a real token with one bad character).
 *
 * @example
 * const problem = tokenValueProblem(json.access_token, "access_token");
 * if (problem) throw invalidResponse(problem); // "its access_token contains characters no Google token has ..."
 */
export function tokenValueProblem(value: unknown, field: string): string | undefined {
  if (typeof value !== "string" || value === "") return `the response has no ${field}`;
  if (!isTokenValue(value)) {
    return `its ${field} contains characters no Google token has (control characters, white space or non-ASCII)`;
  }
  return undefined;
}
