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
