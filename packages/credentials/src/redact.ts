/**
 * Text that came from outside (an executable's stderr) may quote a credential. Before any of it goes into a
 * message, JWT-shaped strings and long opaque runs (keys, access tokens, signatures) are replaced, and the
 * excerpt is bounded.
 */
export function redactSecrets(text: string, maxLength = 300): string {
  const redacted = text
    .replace(/[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g, "[redacted]")
    .replace(/[A-Za-z0-9+/=_.-]{32,}/g, "[redacted]")
    .replace(/\s+/g, " ")
    .trim();
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}...` : redacted;
}

/** `redactSecrets`, after replacing every known secret (header values, tokens) that appears verbatim. */
export function redactKnown(text: string, secrets: readonly string[], maxLength = 300): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join("[redacted]");
  }
  return redactSecrets(result, maxLength);
}
