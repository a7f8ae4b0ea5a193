/**
 * Reading a request head as it was sent. Node builds `req.headers` from the first `maxHeadersCount` lines
 * only, keeps the first `Host` and drops repeats without a word: checks made on it can be dodged by
 * padding a request with filler headers or by sending two Host lines. `req.rawHeaders` has every line.
 */

/** What the request checks need from a request head. */
export interface RequestHead {
  /** Header lines in the request. */
  count: number;
  /** The `Host` value; `hosts` says how many Host lines there were. */
  host: string | undefined;
  hosts: number;
  /** `Metadata-Flavor`; "" when the line is repeated. */
  flavor: string | undefined;
  /** `Authorization`; "" when the line is repeated. */
  authorization: string | undefined;
  /** `X-Forwarded-For` or `Forwarded` is present. */
  forwarded: boolean;
  /** `Content-Length` other than 0, or `Transfer-Encoding`: the request has a body. */
  body: boolean;
}

/** A fresh `RequestHead` to pass to `readRequestHead` (reuse one: the reader resets every field). */
export function emptyRequestHead(): RequestHead {
  return {
    count: 0,
    host: undefined,
    hosts: 0,
    flavor: undefined,
    authorization: undefined,
    forwarded: false,
    body: false,
  };
}

/**
 * Header names are tokens: OR-ing 0x20 lower-cases their letters and turns no other token character into
 * a letter or `-`, so this compares case-insensitively without allocating a lower-cased copy.
 */
function sameName(name: string, lower: string): boolean {
  for (let index = 0; index < lower.length; index++) {
    if ((name.charCodeAt(index) | 0x20) !== lower.charCodeAt(index)) return false;
  }
  return true;
}

/** The value of a header that must appear at most once: "" when it is repeated. */
function single(previous: string | undefined, value: string): string {
  return previous === undefined ? value : "";
}

/**
 * Reads the header lines `raw` (`req.rawHeaders`: name, value, name, value...) into `head` in one pass,
 * without allocating. Returns `head`.
 *
 * @example
 * const head = readRequestHead(req.rawHeaders, emptyRequestHead());
 * if (head.hosts > 1) refuse(400);
 */
export function readRequestHead(raw: readonly string[], head: RequestHead): RequestHead {
  head.count = raw.length >> 1;
  head.host = undefined;
  head.hosts = 0;
  head.flavor = undefined;
  head.authorization = undefined;
  head.forwarded = false;
  head.body = false;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] as string;
    const value = raw[index + 1] as string;
    switch (name.length) {
      case 4:
        if (sameName(name, "host")) {
          head.host = value;
          head.hosts++;
        }
        break;
      case 9:
        if (sameName(name, "forwarded")) head.forwarded = true;
        break;
      case 13:
        if (sameName(name, "authorization")) head.authorization = single(head.authorization, value);
        break;
      case 14:
        if (sameName(name, "content-length") && value !== "0") head.body = true;
        break;
      case 15:
        if (sameName(name, "metadata-flavor")) head.flavor = single(head.flavor, value);
        else if (sameName(name, "x-forwarded-for")) head.forwarded = true;
        break;
      case 17:
        if (sameName(name, "transfer-encoding")) head.body = true;
        break;
    }
  }
  return head;
}
