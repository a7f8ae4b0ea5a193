import { CORE_ERROR_CODES, WifError } from "./errors.js";

/** A JWT's header and claims, as read by `decodeJwt`: nothing about them has been verified. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/**
 * Reads a compact JWS's header and claims WITHOUT verifying its signature: for showing a person what a
 * provider will see, and for reading `exp`. Never base a trust decision on the result. Throws `WifError`
 * `ERR_WIF_JWT_INVALID` saying why the text is not a readable JWT; the message never contains the token.
 *
 * @example
 * const { claims } = decodeJwt(idToken);
 * console.log(claims.iss, claims.sub, claims.exp);
 */
export function decodeJwt(token: string): DecodedJwt {
  const parts = typeof token === "string" ? token.trim().split(".") : [];
  // A JWS has three parts; a JWE (five) has an encrypted payload that cannot be read.
  if (parts.length !== 3 || !parts.every((part, i) => i === 2 || /^[A-Za-z0-9_-]+$/.test(part))) {
    throw invalidJwt(`it has ${parts.length} dot-separated part(s) instead of 3 base64url parts`);
  }
  // The payload first: when both are broken, what a caller came for is what the error should name.
  const claims = decodePart(parts[1] as string, "payload");
  return { header: decodePart(parts[0] as string, "header"), claims };
}

function decodePart(part: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    // JSON.parse's message quotes its input, which is part of a token: it stays out of the error.
    throw invalidJwt(`its ${name} is not base64url-encoded JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidJwt(`its ${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function invalidJwt(reason: string): WifError {
  return new WifError(`The token is not a readable JWT: ${reason}.`, { code: CORE_ERROR_CODES.jwtInvalid });
}
