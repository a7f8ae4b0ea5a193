import { httpRequest } from "@wifkit/http";
import { compactVerify, createLocalJWKSet, errors, type JSONWebKeySet } from "jose";
import type { EmulatorClock } from "./clock.js";

/** Why a JWT was refused; each emulated service words these in its own dialect. */
export type JwtRejectionReason =
  | "malformed"
  | "issuer"
  | "discovery"
  | "signature"
  | "audience"
  | "expired"
  | "notYetValid";

export type JwtClaims = Record<string, unknown> & {
  iss?: unknown;
  aud?: unknown;
  exp?: unknown;
  iat?: unknown;
};

export type JwtVerification =
  | { ok: true; claims: JwtClaims; expiresAt: number }
  | { ok: false; reason: JwtRejectionReason; claims: JwtClaims | undefined };

export interface VerifyJwtInit {
  /** The issuer the relying party trusts; compared without a trailing slash. */
  issuer: string;
  /** True when one of the token's audiences is acceptable. */
  acceptAudience(audiences: string[]): boolean;
}

const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
const KEYS_TTL_MS = 60 * 60 * 1000;

interface CachedKeys {
  jwks: JSONWebKeySet;
  fetchedAt: number;
}

/**
 * Verifies JWTs like a relying party on the internet: it fetches the issuer's discovery document
 * (`ISSUER/.well-known/openid-configuration`) and its `jwks_uri` over HTTP, caches the keys for an hour,
 * and refetches once when a token names a key it does not know (rotation).
 */
export class OidcVerifier {
  readonly #cache = new Map<string, CachedKeys>();
  readonly #clock: EmulatorClock;

  constructor(clock: EmulatorClock) {
    this.#clock = clock;
  }

  async verify(token: string, init: VerifyJwtInit): Promise<JwtVerification> {
    const claims = decodeClaims(token);
    if (!claims) return { ok: false, reason: "malformed", claims: undefined };
    if (typeof claims.iss !== "string" || trimSlash(claims.iss) !== trimSlash(init.issuer)) {
      return { ok: false, reason: "issuer", claims };
    }
    const issuer = trimSlash(init.issuer);
    let keys = await this.#keys(issuer, false);
    if (!keys) return { ok: false, reason: "discovery", claims };
    let verified = await verifySignature(token, keys);
    if (verified === "no-key") {
      keys = await this.#keys(issuer, true);
      if (!keys) return { ok: false, reason: "discovery", claims };
      verified = await verifySignature(token, keys);
    }
    if (verified !== "ok") return { ok: false, reason: "signature", claims };
    const audiences =
      typeof claims.aud === "string"
        ? [claims.aud]
        : Array.isArray(claims.aud)
          ? claims.aud.filter((a) => typeof a === "string")
          : [];
    if (!init.acceptAudience(audiences)) return { ok: false, reason: "audience", claims };
    const now = this.#clock.now();
    if (typeof claims.exp !== "number") return { ok: false, reason: "malformed", claims };
    if (claims.exp * 1000 <= now) return { ok: false, reason: "expired", claims };
    if (typeof claims.nbf === "number" && claims.nbf * 1000 > now)
      return { ok: false, reason: "notYetValid", claims };
    return { ok: true, claims, expiresAt: claims.exp * 1000 };
  }

  async #keys(issuer: string, refresh: boolean): Promise<JSONWebKeySet | undefined> {
    const cached = this.#cache.get(issuer);
    if (cached && !refresh && this.#clock.now() - cached.fetchedAt < KEYS_TTL_MS) return cached.jwks;
    try {
      const discovery = await fetchJson(`${issuer}/.well-known/openid-configuration`);
      const jwksUri = (discovery as { jwks_uri?: unknown }).jwks_uri;
      if (typeof jwksUri !== "string") return undefined;
      const jwks = await fetchJson(jwksUri);
      if (!Array.isArray((jwks as { keys?: unknown }).keys)) return undefined;
      this.#cache.set(issuer, { jwks: jwks as JSONWebKeySet, fetchedAt: this.#clock.now() });
      return jwks as JSONWebKeySet;
    } catch {
      return undefined;
    }
  }
}

async function fetchJson(url: string): Promise<unknown> {
  const response = await httpRequest({
    url,
    timeoutMs: 5_000,
    retry: { retries: 1, totalTimeoutMs: 10_000 },
    operation: "OIDC discovery",
  });
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return JSON.parse(response.body.toString("utf8"));
}

async function verifySignature(token: string, jwks: JSONWebKeySet): Promise<"ok" | "no-key" | "bad"> {
  try {
    await compactVerify(token, createLocalJWKSet(jwks), { algorithms: ALGORITHMS });
    return "ok";
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return "no-key";
    return "bad";
  }
}

/** The claims of a compact JWT, unverified; undefined when it is not one. */
export function decodeClaims(token: string): JwtClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as unknown;
    if (
      typeof header !== "object" ||
      header === null ||
      typeof claims !== "object" ||
      claims === null ||
      Array.isArray(claims)
    ) {
      return undefined;
    }
    return claims as JwtClaims;
  } catch {
    return undefined;
  }
}

export function trimSlash(value: string): string {
  return value.endsWith("/") ? value.slice(0, -1) : value;
}
