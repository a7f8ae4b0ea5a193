/**
 * The network edge. Direct requests go through `node:http`/`node:https` with keep-alive pools: the built-in
 * client does all a token exchange needs, while undici costs ~110 ms to import, which would dominate a CLI's
 * start-up. Requests a proxy applies to go through undici's `ProxyAgent` (CONNECT tunnelling, proxy
 * authentication, HTTPS proxies, mTLS through the tunnel), loaded on the first such request only.
 */
import type http from "node:http";
import type https from "node:https";
import { WifError } from "@wifkit/core";
import type { Dispatcher, ProxyAgent } from "undici";
import { HTTP_ERROR_CODES } from "./errors.js";
import { type ProxySettings, proxyResolver } from "./proxy.js";
import { describeProxy, describeUrl } from "./url.js";

/** TLS settings of a request: a client certificate for mutual TLS, and extra trusted CAs. */
export interface TlsClientOptions {
  /** PEM client certificate (chain) for mutual TLS. */
  cert?: string | Buffer;
  /** PEM private key for `cert`. */
  key?: string | Buffer;
  /** Extra trusted CA certificates (PEM), e.g. a private CA in front of Google. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** What a transport receives: one attempt, already bounded by `signal` (timeout and caller abort). */
export interface TransportRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  signal: AbortSignal;
  maxResponseBytes: number;
  tls: TlsClientOptions | undefined;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The proxy the request went through, if any (scheme, host and port only). */
  proxy?: string | undefined;
}

/**
 * The network edge. The default speaks node:http(s) or, through a proxy, undici; inject another to record or
 * fake. A transport that routes through proxies says which one a URL takes with `proxyFor` (scheme, host
 * and port, never credentials), for messages and traces.
 */
export type HttpTransport = ((request: TransportRequest) => Promise<HttpResponse>) & {
  proxyFor?: ((url: URL) => string | undefined) | undefined;
};

export interface TransportOptions extends ProxySettings {
  /** Extra CA certificates to trust for an `https://` proxy. */
  proxyCa?: string | Buffer | undefined;
}

/**
 * A transport that sends each request direct or through the proxy `options` (or the environment's
 * `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`) choose for it. Loopback and link-local metadata addresses never go
 * through a proxy.
 *
 * @example
 * const transport = createTransport({ proxy: "http://proxy.corp:3128", noProxy: ".corp.example" });
 * const credentials = await fromConfig(path, { transport });
 */
export function createTransport(options: TransportOptions = {}): HttpTransport {
  const resolve = proxyResolver(options);
  const transport: HttpTransport = (request) => {
    const proxy = resolve(request.url);
    return proxy ? proxiedTransport(request, proxy, options.proxyCa) : nodeTransport(request);
  };
  transport.proxyFor = (url) => {
    const proxy = resolve(url);
    return proxy ? describeProxy(proxy) : undefined;
  };
  return transport;
}

let environmentTransport: HttpTransport | undefined;

/** The transport every call uses unless given one: `createTransport()` over `process.env`, built on first use. */
export const defaultTransport: HttpTransport = Object.assign(
  (request: TransportRequest) => {
    environmentTransport ??= createTransport();
    return environmentTransport(request);
  },
  {
    proxyFor: (url: URL) => {
      environmentTransport ??= createTransport();
      return environmentTransport.proxyFor?.(url);
    },
  },
);

// One keep-alive pool per origin is what node's Agent already does (sockets are keyed by host:port), so one
// agent per scheme suffices; mTLS needs its own agent per client certificate. node:http and node:https are
// loaded on the first request, not at import: importing them costs milliseconds a CLI start-up should not pay.
interface Clients {
  http: typeof http;
  https: typeof https;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  tlsAgents: WeakMap<TlsClientOptions, https.Agent>;
}
let clients: Promise<Clients> | undefined;
// Once loaded, requests use them without waiting on a promise.
let loadedClients: Clients | undefined;

function loadClients(): Promise<Clients> {
  clients ??= Promise.all([import("node:http"), import("node:https")]).then(([httpModule, httpsModule]) => {
    loadedClients = {
      http: httpModule.default,
      https: httpsModule.default,
      httpAgent: new httpModule.default.Agent({ keepAlive: true, maxSockets: 32 }),
      httpsAgent: new httpsModule.default.Agent({ keepAlive: true, maxSockets: 32 }),
      tlsAgents: new WeakMap(),
    };
    return loadedClients;
  });
  return clients;
}

function agentFor(c: Clients, url: URL, tls: TlsClientOptions | undefined): http.Agent {
  if (url.protocol === "http:") return c.httpAgent;
  if (!tls) return c.httpsAgent;
  let agent = c.tlsAgents.get(tls);
  if (!agent) {
    agent = new c.https.Agent({ keepAlive: true, maxSockets: 32, ...tlsFields(tls) });
    c.tlsAgents.set(tls, agent);
  }
  return agent;
}

function tlsFields(tls: TlsClientOptions): TlsClientOptions {
  return Object.fromEntries(Object.entries(tls).filter(([, value]) => value !== undefined));
}

function checkScheme(url: URL): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new WifError(
      `Only http and https URLs can be fetched, not ${url.protocol} (${describeUrl(url)}).`,
      { code: HTTP_ERROR_CODES.network, url: describeUrl(url) },
    );
  }
}

function tooLarge(url: URL, limit: number, status: number | undefined): WifError {
  return new WifError(`${describeUrl(url)} answered with more than ${limit} bytes; refusing to read it.`, {
    code: HTTP_ERROR_CODES.responseTooLarge,
    url: describeUrl(url),
    status,
  });
}

/** The direct transport: node:http(s) with keep-alive pools, never a proxy. */
export const nodeTransport: HttpTransport = async (request) => {
  const { url, signal } = request;
  checkScheme(url);
  const c = loadedClients ?? (await loadClients());
  signal.throwIfAborted();
  return new Promise<HttpResponse>((resolve, reject) => {
    const client = url.protocol === "http:" ? c.http : c.https;
    // The signal is watched here rather than passed as an option: node then follows the request with
    // end-of-stream listeners, which costs more per request than everything else this function does.
    const req = client.request(url, {
      method: request.method,
      headers: request.headers,
      agent: agentFor(c, url, request.tls),
    });
    const onAbort = () =>
      req.destroy(
        Object.assign(new Error("The operation was aborted"), {
          name: "AbortError",
          code: "ABORT_ERR",
          cause: signal.reason,
        }),
      );
    signal.addEventListener("abort", onAbort, { once: true });
    const fail = (error: unknown) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    };
    req.once("error", fail);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > request.maxResponseBytes) {
          res.destroy();
          req.destroy();
          fail(tooLarge(url, request.maxResponseBytes, res.statusCode));
          return;
        }
        chunks.push(chunk);
      });
      res.once("error", fail);
      res.once("end", () => {
        signal.removeEventListener("abort", onAbort);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.end(request.body);
  });
};

// Agents are keyed by proxy URL (credentials included: two users of one proxy get separate tunnels) and,
// for mTLS, by the client certificate, like the direct pools.
const proxyAgents = new Map<string, { plain?: ProxyAgent; tls: WeakMap<TlsClientOptions, ProxyAgent> }>();
let undiciModule: Promise<typeof import("undici")> | undefined;

/**
 * undici is an optional peer: installed by whoever needs a proxy (the CLI and the sidecar bundle it), so
 * the direct path installs and loads none of its 2 MB.
 */
function loadUndici(url: URL, via: string): Promise<typeof import("undici")> {
  undiciModule ??= import("undici").catch((error: unknown) => {
    undiciModule = undefined;
    throw error;
  });
  return undiciModule.catch((cause: unknown) => {
    throw new WifError(
      `A proxy (${via}) applies to ${describeUrl(url)}, and proxying needs the undici package: npm install undici@7 (or set NO_PROXY for this host).`,
      { code: HTTP_ERROR_CODES.proxy, url: describeUrl(url), cause },
    );
  });
}

function proxyAgentFor(
  proxy: URL,
  tls: TlsClientOptions | undefined,
  proxyCa: string | Buffer | undefined,
  undici: typeof import("undici"),
): ProxyAgent {
  const { ProxyAgent } = undici;
  let entry = proxyAgents.get(proxy.href);
  if (!entry) {
    entry = { tls: new WeakMap() };
    proxyAgents.set(proxy.href, entry);
  }
  const create = () =>
    new ProxyAgent({
      uri: proxy.href,
      ...(proxyCa ? { proxyTls: { ca: proxyCa } } : {}),
      ...(tls ? { requestTls: tlsFields(tls) } : {}),
    });
  if (!tls) {
    entry.plain ??= create();
    return entry.plain;
  }
  let agent = entry.tls.get(tls);
  if (!agent) {
    agent = create();
    entry.tls.set(tls, agent);
  }
  return agent;
}

async function proxiedTransport(
  request: TransportRequest,
  proxy: URL,
  proxyCa: string | Buffer | undefined,
): Promise<HttpResponse> {
  const { url } = request;
  checkScheme(url);
  const via = describeProxy(proxy);
  let response: Dispatcher.ResponseData;
  try {
    const undici = await loadUndici(url, via);
    const agent = proxyAgentFor(proxy, request.tls, proxyCa, undici);
    response = await undici.request(url, {
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: request.body ?? null,
      signal: request.signal,
      dispatcher: agent,
    });
  } catch (error) {
    throw proxyError(error, url, via, request.signal);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > request.maxResponseBytes) {
      response.body.destroy();
      throw tooLarge(url, request.maxResponseBytes, response.statusCode);
    }
    chunks.push(chunk);
  }
  return {
    status: response.statusCode,
    headers: response.headers as http.IncomingHttpHeaders,
    body: Buffer.concat(chunks),
    proxy: via,
  };
}

/**
 * A failure on the proxied path, naming the proxy without its credentials. undici reports a refused tunnel
 * as "Proxy response (407) !== 200 when HTTP Tunneling"; only the status and the error code are kept from
 * it, and the original is not attached as `cause`, so nothing of the proxy URL's userinfo can leak.
 */
function proxyError(error: unknown, url: URL, via: string, signal: AbortSignal): unknown {
  if (signal.aborted || error instanceof WifError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const status = /Proxy response \((\d{3})\)/.exec(message)?.[1];
  const code = (error as { code?: unknown } | undefined)?.code;
  const where = describeUrl(url);
  if (status) {
    const hint =
      status === "407"
        ? "the proxy wants credentials: put them in the proxy URL (http://USER:PASSWORD@HOST:PORT)"
        : "check the proxy and NO_PROXY";
    return new WifError(`The proxy ${via} refused to connect to ${where} (HTTP ${status}); ${hint}.`, {
      code: HTTP_ERROR_CODES.proxy,
      status: Number(status),
      url: where,
      retryable: status !== "407" && status !== "403",
    });
  }
  const detail = typeof code === "string" ? code : "connection failed";
  return new WifError(`The request to ${where} through the proxy ${via} failed: ${detail}.`, {
    code: HTTP_ERROR_CODES.proxy,
    url: where,
    retryable: true,
  });
}
