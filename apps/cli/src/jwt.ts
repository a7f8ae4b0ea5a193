/** Reading (never verifying) a JWT's header and claims, for display. */
import { type DecodedJwt, decodeJwt } from "@wifkit/core";

/** The header and claims of a compact JWS, or undefined when `token` is not one. */
export function readJwt(token: string): DecodedJwt | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
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
