/**
 * Text that comes from outside (an upstream error description, an executable's stderr) is worth quoting,
 * because it is what a person searches for, but a server may echo what it was sent, and not necessarily in
 * the form it was sent: decoded, re-encoded, inside a JSON string, or cut short. Every wifkit message that
 * quotes such text passes it through here first.
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
// Terminal escapes and other control characters never reach a message (a hostile upstream could rewrite
// what a person sees); they are folded like white space.
const CONTROL = /\p{Cc}/gu;
/** Shortest echoed piece of a secret that is still removed: shorter runs are too likely to be ordinary text. */
const FRAGMENT_LENGTH = 16;
/** Only this much upstream text is examined; the excerpt kept is far shorter anyway. */
const MAX_EXAMINED_LENGTH = 64 * 1024;

/** A value to remove: `fragments` also removes any run of `FRAGMENT_LENGTH`+ characters copied from it. */
interface Secret {
  value: string;
  fragments: boolean;
}

/**
 * Removes credentials from text before it goes into a message, and folds white space and control characters:
 *
 * - every `known` secret the call used, raw, URL-encoded (`encodeURIComponent` and form encoding with `+`,
 *   once or twice, upper- or lower-case hex), and JSON-escaped; and any echoed run of 16 or more characters
 *   copied from one of those forms (upstream may cut a value short);
 * - for a known AWS GetCallerIdentity subject token (the URL-encoded JSON `{url, method, headers}`), the
 *   token in every form, and its `Authorization` header value, SigV4 signature and `x-amz-security-token`
 *   individually, wherever they appear; the rest of the request (host, audience, date) stays readable;
 * - anything shaped like a JWT or a Google access token, and optionally any long opaque run.
 *
 * @example
 * const description = redactSecrets(body.error_description, [subjectToken, clientSecret]);
 */
export function redactSecrets(
  text: string,
  known: ReadonlyArray<string | undefined> = [],
  options: RedactOptions = {},
): string {
  let result = String(text).slice(0, MAX_EXAMINED_LENGTH);
  const secrets = expandSecrets(known);
  // Longest first, so a whole token goes before the pieces it contains.
  for (const { value } of [...secrets].sort((a, b) => b.value.length - a.value.length)) {
    result = result.split(value).join(REDACTED);
  }
  result = removeFragments(
    result,
    secrets.filter((secret) => secret.fragments),
  );
  result = result.replace(JWT_SHAPE, REDACTED).replace(GOOGLE_ACCESS_TOKEN_SHAPE, REDACTED);
  if (options.opaqueRuns) result = result.replace(OPAQUE_RUN, REDACTED);
  result = result.replace(CONTROL, " ").replace(/\s+/g, " ").trim();
  const maxLength = options.maxLength ?? 500;
  return result.length > maxLength ? `${result.slice(0, maxLength)}...` : result;
}

/** Every form in which each known secret (and the secrets inside an AWS subject token) may come back. */
function expandSecrets(known: ReadonlyArray<string | undefined>): Secret[] {
  const byValue = new Map<string, Secret>();
  const add = (value: string, fragments: boolean) => {
    for (const form of encodedForms(value)) {
      if (form.length < 4) continue;
      const existing = byValue.get(form);
      if (existing) existing.fragments ||= fragments;
      else byValue.set(form, { value: form, fragments });
    }
  };
  for (const secret of known) {
    if (typeof secret !== "string" || secret.length < 4) continue;
    const decoded = decodeForm(secret);
    const request = readAwsRequest(decoded ?? secret);
    if (request) {
      // The request as a whole, and its header value, go only where they appear whole: their pieces (the
      // host, the audience, "SignedHeaders=host;x-amz-date") are what a person needs to read in the error.
      add(secret, false);
      if (decoded !== undefined) add(decoded, false);
      for (const value of request.whole) add(value, false);
      for (const value of request.opaque) add(value, true);
      continue;
    }
    add(secret, true);
    if (decoded !== undefined && decoded !== secret) add(decoded, true);
  }
  return [...byValue.values()];
}

/** The forms a value takes when upstream re-encodes or quotes it. */
function encodedForms(value: string): Set<string> {
  const uri = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const forms = new Set([
    value,
    uri,
    form,
    encodeURIComponent(uri),
    new URLSearchParams({ v: uri }).toString().slice(2),
    new URLSearchParams({ v: form }).toString().slice(2),
  ]);
  for (const encoded of [...forms]) forms.add(encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
  const json = JSON.stringify(value).slice(1, -1);
  forms.add(json);
  forms.add(json.replace(/\//g, "\\/"));
  forms.add(json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`));
  return forms;
}

/** The value decoded with form rules (`+` is a space), when it is percent-encoded at all. */
function decodeForm(value: string): string | undefined {
  if (!/%[0-9A-Fa-f]{2}/.test(value)) return undefined;
  try {
    return decodeURIComponent(value.replace(/\+/g, "%20"));
  } catch {
    return undefined;
  }
}

/**
 * Reads a serialized AWS GetCallerIdentity request (`{"url","method","headers":[{key,value}]}`): what must go
 * only whole (the JSON, the `Authorization` value) and what must go wherever any of it appears (the SigV4
 * signature, the session token, and their presigned-URL query forms).
 */
function readAwsRequest(text: string): { whole: string[]; opaque: string[] } | undefined {
  if (!text.startsWith("{")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const record = parsed as { url?: unknown; headers?: unknown } | null;
  if (typeof record !== "object" || record === null || !Array.isArray(record.headers)) return undefined;
  const whole = [text];
  const opaque: string[] = [];
  for (const header of record.headers as unknown[]) {
    const { key, value } = (header ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== "string" || typeof value !== "string") continue;
    const name = key.toLowerCase();
    if (name === "authorization") {
      whole.push(value);
      const signature = /Signature=([0-9A-Fa-f]+)/.exec(value)?.[1];
      if (signature) opaque.push(signature);
    } else if (name === "x-amz-security-token") {
      opaque.push(value);
    }
  }
  if (typeof record.url === "string") {
    try {
      const query = new URL(record.url).searchParams;
      for (const name of ["X-Amz-Signature", "X-Amz-Security-Token"]) {
        const value = query.get(name);
        if (value) opaque.push(value);
      }
    } catch {
      // Not a URL: nothing more to take from it.
    }
  }
  return { whole, opaque };
}

/** Replaces every run of `FRAGMENT_LENGTH`+ characters that also occurs in one of `secrets`. */
function removeFragments(text: string, secrets: Secret[]): string {
  const windows = new Set<string>();
  for (const { value } of secrets) {
    for (let i = 0; i + FRAGMENT_LENGTH <= value.length; i++)
      windows.add(value.slice(i, i + FRAGMENT_LENGTH));
  }
  if (windows.size === 0 || text.length < FRAGMENT_LENGTH) return text;
  const covered = new Uint8Array(text.length);
  let any = false;
  for (let i = 0; i + FRAGMENT_LENGTH <= text.length; i++) {
    if (windows.has(text.slice(i, i + FRAGMENT_LENGTH))) {
      covered.fill(1, i, i + FRAGMENT_LENGTH);
      any = true;
    }
  }
  if (!any) return text;
  let result = "";
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) result += text[i];
    else if (i === 0 || !covered[i - 1]) result += REDACTED;
  }
  return result;
}
