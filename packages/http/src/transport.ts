/**
 * The network edge: `node:http`/`node:https` with keep-alive pools, and, where a proxy applies, a CONNECT
 * tunnel through it opened by the same modules (proxy credentials, `https://` proxies, TLS and mutual TLS
 * to the target inside the tunnel). Nothing beyond Node's own modules is loaded, on either path.
 *
 * Why not undici's ProxyAgent: undici 7 treats a proxy that resets the CONNECT as a recoverable socket error
 * and reconnects in a tight loop (hundreds of CONNECTs a second) that ignores the request's abort signal,
 * so a process talking to such a proxy burns CPU and never exits. A tunnel opened here fails its attempt at
 * once, and the retry policy of `httpRequest` decides what happens next.
 */
import type * as http from "node:http";
import type * as https from "node:https";
import { isIP, type Socket } from "node:net";
import { WifError } from "@wifkit/core";
import { HTTP_ERROR_CODES } from "./errors.js";
import { type ProxySettings, proxyResolver, unbracket } from "./proxy.js";
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
 * The network edge. The default speaks node:http(s), through a CONNECT tunnel where a proxy applies; inject another to record or
 * fake. A transport that routes through proxies says which one a URL takes with `proxyFor` (scheme, host
 * and port, never credentials), for messages and traces.
 */
export type HttpTransport = ((request: TransportRequest) => Promise<HttpResponse>) & {
  proxyFor?: ((url: URL) => string | undefined) | undefined;
};

export interface TransportOptions extends ProxySettings {
  /** Extra CA certificates to trust for an `https://` proxy. */
  proxyCa?: string | Buffer | undefined;
  /**
   * TLS settings for every request (a request's own `tls` fields win): e.g. `{ ca }` for a private CA in
   * front of Google, such as a TLS-inspecting corporate proxy's.
   */
  tls?: TlsClientOptions | undefined;
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
  const withTls = tlsDefaults(options.tls);
  const transport: HttpTransport = (given) => {
    const request = withTls(given);
    const proxy = resolve(request.url);
    return proxy ? proxiedTransport(request, proxy, options.proxyCa) : nodeTransport(request);
  };
  transport.proxyFor = (url) => {
    const proxy = resolve(url);
    return proxy ? describeProxy(proxy) : undefined;
  };
  return transport;
}

/**
 * Adds the transport's TLS defaults to each request. Merged settings are kept per request `tls` object:
 * agents are pooled by that object's identity, so a fresh object per request would defeat keep-alive.
 */
function tlsDefaults(
  defaults: TlsClientOptions | undefined,
): (request: TransportRequest) => TransportRequest {
  if (!defaults) return (request) => request;
  const merged = new WeakMap<TlsClientOptions, TlsClientOptions>();
  return (request) => {
    if (!request.tls) return { ...request, tls: defaults };
    let tls = merged.get(request.tls);
    if (!tls) {
      tls = { ...defaults, ...tlsFields(request.tls) };
      merged.set(request.tls, tls);
    }
    return { ...request, tls };
  };
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
  tlsConnect: typeof import("node:tls").connect;
}
let clients: Promise<Clients> | undefined;
// Once loaded, requests use them without waiting on a promise.
let loadedClients: Clients | undefined;

function loadClients(): Promise<Clients> {
  clients ??= Promise.all([import("node:http"), import("node:https"), import("node:tls")]).then(
    ([httpModule, httpsModule, tlsModule]) => {
      loadedClients = {
        http: httpModule.default,
        https: httpsModule.default,
        httpAgent: new httpModule.default.Agent({ keepAlive: true, maxSockets: 32 }),
        httpsAgent: new httpsModule.default.Agent({ keepAlive: true, maxSockets: 32 }),
        tlsAgents: new WeakMap(),
        tlsConnect: tlsModule.connect,
      };
      return loadedClients;
    },
  );
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
  const client = url.protocol === "http:" ? c.http : c.https;
  return send(
    client.request(url, {
      method: request.method,
      headers: request.headers,
      agent: agentFor(c, url, request.tls),
    }),
    request,
  );
};

/**
 * Sends the body and reads the response, refusing it past `maxResponseBytes` while reading. The signal is
 * watched here rather than passed to node as an option: node then follows the request with end-of-stream
 * listeners, which costs more per request than everything else this function does.
 */
function send(req: http.ClientRequest, request: TransportRequest): Promise<HttpResponse> {
  const { signal } = request;
  return new Promise<HttpResponse>((resolve, reject) => {
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
          fail(tooLarge(request.url, request.maxResponseBytes, res.statusCode));
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
}

/**
 * One request through `proxy`, on a keep-alive pool of tunnels: an agent per proxy, target scheme and client
 * certificate whose connections are CONNECT tunnels to the target's host and port (TLS to the target inside
 * them for https). A tunnel is opened when the pool has no free one, and reused like a direct connection.
 */
async function proxiedTransport(
  request: TransportRequest,
  proxy: URL,
  proxyCa: string | Buffer | undefined,
): Promise<HttpResponse> {
  const { url } = request;
  checkScheme(url);
  const c = loadedClients ?? (await loadClients());
  const via = describeProxy(proxy);
  const agent = tunnelAgent(c, proxy, url.protocol === "https:", request.tls, proxyCa);
  const client = url.protocol === "http:" ? c.http : c.https;
  try {
    const response = await send(
      client.request(url, { method: request.method, headers: request.headers, agent }),
      request,
    );
    return { ...response, proxy: via };
  } catch (error) {
    throw error instanceof TunnelError ? tunnelFailure(error, url, via) : error;
  }
}

/** Why a tunnel could not be opened: the proxy's status, or the connection's error code. */
class TunnelError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly detail: string,
  ) {
    super(`CONNECT failed: ${status ?? detail}`);
  }
}

// Tunnel pools, by proxy URL (credentials included: two users of one proxy get separate tunnels) and target
// scheme, and for mTLS by the client certificate, as the direct pools are.
const tunnelAgents = new Map<string, { plain?: http.Agent; tls: WeakMap<TlsClientOptions, http.Agent> }>();

function tunnelAgent(
  c: Clients,
  proxy: URL,
  secure: boolean,
  tls: TlsClientOptions | undefined,
  proxyCa: string | Buffer | undefined,
): http.Agent {
  const key = `${secure ? "https" : "http"} ${proxy.href}`;
  let entry = tunnelAgents.get(key);
  if (!entry) {
    entry = { tls: new WeakMap() };
    tunnelAgents.set(key, entry);
  }
  const existing = tls ? entry.tls.get(tls) : entry.plain;
  if (existing) return existing;
  // The client certificate goes to the TLS connection made inside the tunnel below, not to the agent.
  const agent = new (secure ? c.https : c.http).Agent({ keepAlive: true, maxSockets: 32 });
  // The agent's connections are tunnels; node hands the request to whatever socket the callback gives.
  (agent as unknown as { createConnection: CreateConnection }).createConnection = (options, done) => {
    openTunnel(c, proxy, options, proxyCa).then((tunnel) => {
      if (!secure) return done(null, tunnel);
      const socket = c.tlsConnect({
        ...(tls ? tlsFields(tls) : {}),
        socket: tunnel,
        servername: options.servername || unbracket(options.host ?? ""),
      });
      done(null, socket);
    }, done);
    return undefined;
  };
  if (tls) entry.tls.set(tls, agent);
  else entry.plain = agent;
  return agent;
}

type CreateConnection = (
  options: { host?: string; port?: number | string; servername?: string },
  done: (error: Error | null, socket?: Socket) => void,
) => Socket | undefined;

/** How long a proxy may take to answer a CONNECT. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Opens a CONNECT tunnel to `target`'s host and port through `proxy`, or fails naming the proxy. */
function openTunnel(
  c: Clients,
  proxy: URL,
  target: { host?: string; port?: number | string },
  proxyCa: string | Buffer | undefined,
): Promise<Socket> {
  const host = target.host ?? "";
  const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${target.port}`;
  const headers: Record<string, string> = { host: authority };
  if (proxy.username || proxy.password) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers["proxy-authorization"] = `Basic ${Buffer.from(credentials).toString("base64")}`;
  }
  const secure = proxy.protocol === "https:";
  return new Promise<Socket>((resolve, reject) => {
    const connect = (secure ? c.https : c.http).request({
      host: unbracket(proxy.hostname),
      port: proxy.port || (secure ? 443 : 80),
      method: "CONNECT",
      path: authority,
      headers,
      agent: false,
      timeout: CONNECT_TIMEOUT_MS,
      // The proxy's own name for TLS: node would otherwise take it from the Host header, the target's.
      ...(secure ? { servername: isIP(unbracket(proxy.hostname)) ? "" : proxy.hostname } : {}),
      ...(secure && proxyCa ? { ca: proxyCa } : {}),
    });
    connect.once("connect", (response, socket, head) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        reject(new TunnelError(response.statusCode ?? 0, "refused"));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    connect.once("timeout", () =>
      connect.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })),
    );
    connect.once("error", (error: NodeJS.ErrnoException) => {
      reject(new TunnelError(undefined, error.code ?? "connection failed"));
    });
    connect.end();
  });
}

/** A tunnel that could not be opened, as the caller sees it: naming the proxy, never its credentials. */
function tunnelFailure(error: TunnelError, url: URL, via: string): WifError {
  const where = describeUrl(url);
  if (error.status === undefined) {
    return new WifError(`The request to ${where} through the proxy ${via} failed: ${error.detail}.`, {
      code: HTTP_ERROR_CODES.proxy,
      url: where,
      retryable: true,
    });
  }
  const hint =
    error.status === 407
      ? "the proxy wants credentials: put them in the proxy URL (http://USER:PASSWORD@HOST:PORT)"
      : "check the proxy and NO_PROXY";
  return new WifError(`The proxy ${via} refused to connect to ${where} (HTTP ${error.status}); ${hint}.`, {
    code: HTTP_ERROR_CODES.proxy,
    status: error.status,
    url: where,
    retryable: error.status !== 407 && error.status !== 403,
  });
}
