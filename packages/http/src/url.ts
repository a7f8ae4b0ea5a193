/** The URL as it may appear in a message or a trace: no credentials, no query string, no fragment. */
export function describeUrl(url: string | URL): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(an invalid URL)";
  }
}

/** A proxy URL as it may appear in a message: scheme, host and port, never its credentials. */
export function describeProxy(proxy: string | URL): string {
  try {
    const parsed = typeof proxy === "string" ? new URL(proxy) : proxy;
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return "(an invalid proxy URL)";
  }
}
