/** Reading (never verifying) a JWT's header and claims, for display. */

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function decodePart(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The header and claims of a compact JWS, or undefined when `token` is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.trim().split(".");
  if (parts.length !== 3) return undefined;
  const header = decodePart(parts[0]);
  const claims = decodePart(parts[1]);
  return header && claims ? { header, claims } : undefined;
}

/** "in 59 min" / "3 min ago", for expiry lines. */
export function relativeTime(epochSeconds: number, nowMs: number): string {
  const deltaSeconds = Math.round(epochSeconds - nowMs / 1000);
  const magnitude = Math.abs(deltaSeconds);
  const text =
    magnitude < 90
      ? `${magnitude} s`
      : magnitude < 5400
        ? `${Math.round(magnitude / 60)} min`
        : `${(magnitude / 3600).toFixed(1)} h`;
  return deltaSeconds >= 0 ? `in ${text}` : `${text} ago`;
}
