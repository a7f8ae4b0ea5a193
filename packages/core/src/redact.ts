/**
 * Text that comes from outside (an upstream error description, an executable's stderr) is worth quoting,
 * because it is what a person searches for, but a server may echo what it was sent. Every wifkit message
 * that quotes such text passes it through here first.
 */

export interface RedactOptions {
  /** Also replace any run of 32 or more base64-ish characters (keys, opaque tokens of unknown shape). */
  opaqueRuns?: boolean | undefined;
  /** Longest excerpt kept; longer text is cut with "...". Default 500. */
  maxLength?: number | undefined;
}

const REDACTED = "[redacted]";
const JWT_SHAPE = /\beyJ[\w-]{2,}(?:\.[\w-]*){1,4}|[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g;
const GOOGLE_ACCESS_TOKEN_SHAPE = /\bya29\.[\w.-]+/g;
const OPAQUE_RUN = /[A-Za-z0-9+/=_.-]{32,}/g;

/**
 * Removes credentials from text before it goes into a message: every `known` secret the call used (and, for
 * long ones, their 16+ character pieces, in case upstream echoed part of one), anything shaped like a JWT or
 * a Google access token, and optionally any long opaque run. White space is folded and the result bounded.
 *
 * @example
 * const description = redactSecrets(body.error_description, [subjectToken, clientSecret]);
 */
export function redactSecrets(
  text: string,
  known: ReadonlyArray<string | undefined> = [],
  options: RedactOptions = {},
): string {
  let result = text;
  for (const secret of known) {
    if (!secret || secret.length < 4) continue;
    result = result.split(secret).join(REDACTED);
    if (secret.length >= 32) {
      for (const piece of secret.split(/[.:~]/)) {
        if (piece.length >= 16) result = result.split(piece).join(REDACTED);
      }
    }
  }
  result = result.replace(JWT_SHAPE, REDACTED).replace(GOOGLE_ACCESS_TOKEN_SHAPE, REDACTED);
  if (options.opaqueRuns) result = result.replace(OPAQUE_RUN, REDACTED);
  result = result.replace(/\s+/g, " ").trim();
  const maxLength = options.maxLength ?? 500;
  return result.length > maxLength ? `${result.slice(0, maxLength)}...` : result;
}
