/**
 * Which proxy, if any, a request goes through: `HTTPS_PROXY` / `HTTP_PROXY` (lower case first, as curl and
 * Python's requests read them) or an explicit proxy, minus what `NO_PROXY` exempts, and never for this
 * machine or a link-local metadata server: those answer only on the local link, and a proxy would at best
 * fail and at worst hand the workload's identity to whoever runs it.
 */

import { isIP } from "node:net";
import { type Env, invalidOption } from "@wifkit/core";

export interface ProxySettings {
  /**
   * Proxy for every request that `NO_PROXY` does not exempt (`http://user:pass@proxy:3128`,
   * `https://proxy:443`), `false` for none whatever the environment says, or undefined to read the
   * environment.
   */
  proxy?: string | false | undefined;
  /** Hosts that bypass the proxy, in `NO_PROXY` syntax. Default: the `NO_PROXY` environment variable. */
  noProxy?: string | undefined;
  /** Where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read. Default `process.env`. */
  env?: Env | undefined;
}

/** A resolver from request URL to proxy URL, built once from settings. */
export type ProxyResolver = (url: URL) => URL | undefined;

/** Hosts never sent to a proxy: loopback, link-local (the AWS, Azure and ECS metadata addresses), AWS's IPv6 IMDS. */
export function isLocalOnlyHost(hostname: string): boolean {
  const host = unbracket(hostname).toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host === "metadata.google.internal") return true;
  const family = isIP(host);
  if (family === 4) return inCidr(host, "127.0.0.0/8") || inCidr(host, "169.254.0.0/16");
  if (family === 6) {
    return (
      host === "::1" ||
      inCidr(host, "fe80::/10") ||
      inCidr(host, "fd00:ec2::/32") ||
      // IPv4-mapped loopback and link-local.
      inCidr(host, "::ffff:127.0.0.0/104") ||
      inCidr(host, "::ffff:169.254.0.0/112")
    );
  }
  return false;
}

/**
 * Builds the proxy resolver for `settings`. Throws `ERR_WIF_INVALID_OPTION` naming `proxy` or the
 * environment variable when a proxy URL does not parse or is not http(s).
 *
 * @example
 * const proxyFor = proxyResolver({ env: { HTTPS_PROXY: "http://proxy:3128", NO_PROXY: ".internal,10.0.0.0/8" } });
 * proxyFor(new URL("https://sts.googleapis.com/v1/token")); // URL http://proxy:3128
 */
export function proxyResolver(settings: ProxySettings = {}): ProxyResolver {
  if (settings.proxy === false) return () => undefined;
  const env = settings.env ?? process.env;
  const explicit = settings.proxy === undefined ? undefined : parseProxy(settings.proxy, "proxy");
  const httpsProxy = explicit ?? parseProxy(firstSet(env, "https_proxy", "HTTPS_PROXY"), "HTTPS_PROXY");
  const httpProxy = explicit ?? parseProxy(firstSet(env, "http_proxy", "HTTP_PROXY"), "HTTP_PROXY");
  if (!httpsProxy && !httpProxy) return () => undefined;
  const exempt = noProxyMatcher(settings.noProxy ?? firstSet(env, "no_proxy", "NO_PROXY") ?? "");
  return (url) => {
    const proxy = url.protocol === "https:" ? httpsProxy : url.protocol === "http:" ? httpProxy : undefined;
    if (!proxy || isLocalOnlyHost(url.hostname) || exempt(url)) return undefined;
    return proxy;
  };
}

function firstSet(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

function parseProxy(value: string | undefined, field: string): URL | undefined {
  if (value === undefined || value === "") return undefined;
  let url: URL;
  try {
    // curl and requests accept a bare host:port and assume http.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw invalidOption(field, "is not a proxy URL; use http://HOST:PORT or https://HOST:PORT.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalidOption(field, `uses ${url.protocol}; only http:// and https:// proxies are supported.`);
  }
  return url;
}

/**
 * `NO_PROXY` as the common tools read it: comma- or space-separated entries; `*` exempts everything; a
 * host name exempts itself and its subdomains (a leading `.` or `*.` changes nothing); `host:port` only
 * that port; an IP address itself; a CIDR block (`10.0.0.0/8`, `fd00::/8`) every address in it.
 */
export function noProxyMatcher(noProxy: string): (url: URL) => boolean {
  const entries = noProxy
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  if (entries.includes("*")) return () => true;
  const rules = entries.map(parseEntry);
  return (url) => {
    const host = unbracket(url.hostname).toLowerCase();
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return rules.some((rule) => rule(host, port));
  };
}

function parseEntry(entry: string): (host: string, port: string) => boolean {
  if (entry.includes("/")) {
    const [address, bits] = entry.split("/");
    if (address && isIP(unbracket(address)) && /^\d+$/.test(bits ?? "")) {
      return (host) => isIP(host) !== 0 && inCidr(host, `${unbracket(address)}/${bits}`);
    }
    return () => false;
  }
  const { host, port } = splitHostPort(entry);
  const name = host.replace(/^\*?\./, "");
  return (candidate, candidatePort) =>
    (port === undefined || port === candidatePort) &&
    (candidate === name || (isIP(name) === 0 && candidate.endsWith(`.${name}`)));
}

function splitHostPort(entry: string): { host: string; port: string | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1] as string, port: bracketed[2] };
  if (isIP(entry) === 6) return { host: entry, port: undefined };
  const match = /^(.*):(\d+)$/.exec(entry);
  return match ? { host: match[1] as string, port: match[2] } : { host: entry, port: undefined };
}

/** A host name without the brackets of an IPv6 literal. */
export function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** True when `address` lies in `cidr`; both of the same family (an IPv4-mapped IPv6 address is IPv6). */
function inCidr(address: string, cidr: string): boolean {
  const [network, bitsText] = cidr.split("/");
  const a = toBytes(address);
  const n = toBytes(network ?? "");
  const bits = Number(bitsText);
  if (!a || !n || a.length !== n.length || !(bits >= 0 && bits <= a.length * 8)) return false;
  for (let i = 0; i < a.length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if (((a[i] as number) & mask) !== ((n[i] as number) & mask)) return false;
  }
  return true;
}

function toBytes(address: string): number[] | undefined {
  const family = isIP(address);
  if (family === 4) return address.split(".").map(Number);
  if (family !== 6) return undefined;
  // Expand "::" and a trailing dotted quad into eight 16-bit groups.
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, -(dotted[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : new Array(8 - headGroups.length - tailGroups.length).fill("0");
  const groups = [...headGroups, ...fill, ...tailGroups];
  return groups.flatMap((group) => {
    const value = Number.parseInt(group || "0", 16);
    return [value >> 8, value & 0xff];
  });
}
