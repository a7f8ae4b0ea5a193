/**
 * `createMetadataServer`: the handler on a node:http server with the limits a token server needs, listening
 * on a loopback port or a Unix socket, with a graceful close.
 */
import { chmod, lstat, mkdtemp, rename, rm, unlink } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { type Clock, systemClock, WifError } from "@wifkit/core";
import { METADATA_SERVER_ERROR_CODES } from "./errors.js";
import {
  DEFAULT_MAX_HEADERS_COUNT,
  DEFAULT_MAX_WAITERS,
  MetadataHandler,
  type MetadataServerLogger,
} from "./handler.js";
import { createMemoryMetrics, type MetadataServerMetrics, type RouteLabel } from "./metrics.js";
import {
  DEFAULT_KEEP_WARM_INTERVAL_MS,
  DEFAULT_MAX_TOKEN_KEYS,
  parseScopes,
  TokenResponses,
  type TokenSource,
} from "./tokens.js";
import { type MetadataIdentity, type MetadataValues, metadataValues } from "./values.js";

/** Scopes of the default token. */
export const DEFAULT_METADATA_SCOPES: readonly string[] = ["https://www.googleapis.com/auth/cloud-platform"];
/** Address `listen()` binds without a target (port 0: a free one). */
export const DEFAULT_HOST = "127.0.0.1";
/** File mode of a Unix socket. */
export const DEFAULT_SOCKET_MODE = 0o660;
/** How long requests in flight may take to finish after `close()` before connections are cut. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
/** Largest request head (request line + headers) accepted, in bytes (431 beyond). */
export const DEFAULT_MAX_HEADER_SIZE = 8 * 1024;
/** Time allowed to receive a request's headers (408 beyond). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

/** A credential: tokens, and optionally what it says about itself (for the metadata values). */
export type MetadataCredentials = TokenSource & MetadataIdentity;

export interface MetadataServerOptions {
  /** Where tokens come from: a credential from @wifkit/credentials, whose caches decide when to refresh. */
  credentials: MetadataCredentials;
  /** What the tree serves. Default: `metadataValues(credentials)`. */
  metadata?: MetadataValues | undefined;
  /** Scopes of the default token (a request without `scopes`). Default `DEFAULT_METADATA_SCOPES`. */
  scopes?: readonly string[] | undefined;
  /** Host header values accepted besides `DEFAULT_ALLOWED_HOSTS`, each with or without the port. */
  allowedHosts?: readonly string[] | undefined;
  /** When set, every request must carry `Authorization: Bearer <this>` (clients you write; Google's cannot). */
  bearerToken?: string | undefined;
  clock?: Clock | undefined;
  logger?: MetadataServerLogger | undefined;
  /** Counters to increment. Default: `createMemoryMetrics()`. */
  metrics?: MetadataServerMetrics | undefined;
  /** How often the default token is asked for, so the credential refreshes it ahead of expiry. */
  keepWarmIntervalMs?: number | undefined;
  /** Scope sets, and ID token audiences and formats, kept a rendered response for. */
  maxTokenKeys?: number | undefined;
  /** Long polls held at once. Default `DEFAULT_MAX_WAITERS`. */
  maxWaiters?: number | undefined;
  /** Header lines a request may carry. Default `DEFAULT_MAX_HEADERS_COUNT`. */
  maxHeadersCount?: number | undefined;
  /** Time requests in flight get after `close()`. Default `DEFAULT_SHUTDOWN_TIMEOUT_MS`. */
  shutdownTimeoutMs?: number | undefined;
}

/** Where to listen: a TCP address (default 127.0.0.1, port 0), or a Unix socket with its file mode. */
export type ListenTarget = { host?: string; port?: number } | { path: string; mode?: number };

export interface MetadataServerAddress {
  /** `http://127.0.0.1:PORT`, or `unix:PATH`. */
  url: string;
  /** What clients put in GCE_METADATA_HOST (`127.0.0.1:PORT`); undefined on a socket. */
  metadataHost: string | undefined;
  port: number | undefined;
  path: string | undefined;
}

export interface MetadataServer {
  /** Starts listening and asking for the default token (keep-warm). Resolves with the address. */
  listen(target?: ListenTarget): Promise<MetadataServerAddress>;
  /** The address once listening. */
  readonly address: MetadataServerAddress | undefined;
  /** True once the first default-scope token was obtained and until `close()`. */
  readonly ready: boolean;
  /** True once `close()` was called. */
  readonly closing: boolean;
  /** The node:http server, for an embedder that needs its events. */
  readonly httpServer: Server;
  /** Stops accepting, answers long polls, lets requests in flight finish (bounded), then stops. */
  close(): Promise<void>;
}

const CLIENT_ERROR_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout"],
  HPE_HEADERS_TIMEOUT: [408, "Request Timeout"],
};
const REFUSED: RouteLabel = "refused";

function listenOn(server: Server, target: { host: string; port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ ...target, backlog: 1024 });
  });
}

/** A socket file left by a server that died is removed; one that still answers is someone else's. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isSocket()) {
    throw new WifError(`${path} exists and is not a socket; remove it or pick another socket path.`, {
      code: METADATA_SERVER_ERROR_CODES.socketPathTaken,
    });
  }
  const alive = await new Promise<boolean>((resolve) => {
    const socket = connect({ path }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
  if (alive) {
    throw new WifError(`${path} is in use by a running server; stop it or pick another socket path.`, {
      code: METADATA_SERVER_ERROR_CODES.socketInUse,
    });
  }
  await unlink(path);
}

/**
 * Binds a Unix socket that is never wider than `mode`, whatever the umask: it is created inside a fresh
 * 0700 directory next to `path`, given its mode there, and only then renamed into place. Returns the
 * socket's inode, so `close` removes the file only while it is still this server's.
 */
async function listenOnSocket(server: Server, path: string, mode: number): Promise<number> {
  await removeStaleSocket(path);
  const directory = await mkdtemp(join(dirname(path), ".wif-metadata-"));
  try {
    const hidden = join(directory, "socket");
    await listenOn(server, { path: hidden });
    try {
      await chmod(hidden, mode);
      await rename(hidden, path);
      return (await lstat(path)).ino;
    } catch (error) {
      server.close();
      throw error;
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function urlHost(host: string): string {
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return reachable.includes(":") ? `[${reachable}]` : reachable;
}

/**
 * The environment that points Google's client libraries at a server listening on `address`:
 * `GCE_METADATA_HOST` (Go, Java, Node, Python), `GCE_METADATA_IP` (Node uses it first; Python's detection
 * ping) and `GCE_METADATA_ROOT` (gcloud). Empty for a Unix socket, which the libraries cannot reach.
 *
 * @example
 * spawn("python3", ["app.py"], { env: { ...process.env, ...metadataEnv(address) } });
 */
export function metadataEnv(address: MetadataServerAddress): Record<string, string> {
  const host = address.metadataHost;
  if (host === undefined) return {};
  return { GCE_METADATA_HOST: host, GCE_METADATA_IP: host, GCE_METADATA_ROOT: host };
}

/**
 * Creates a GCE metadata server over a credential: Google's client libraries pointed at it (see
 * `metadataEnv`) find a "Compute Engine" whose service account tokens come from the credential, and refresh
 * them by themselves. Nothing listens until `listen()`.
 *
 * @example
 * const credentials = await fromConfig("wif-config.json");
 * const server = createMetadataServer({ credentials });
 * const address = await server.listen(); // 127.0.0.1, a free port
 * spawn("node", ["app.js"], { env: { ...process.env, ...metadataEnv(address) } });
 */
export function createMetadataServer(options: MetadataServerOptions): MetadataServer {
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? createMemoryMetrics();
  const logger = options.logger;
  const scopes = parseScopes((options.scopes ?? DEFAULT_METADATA_SCOPES).join(" "));
  const maxHeadersCount = options.maxHeadersCount ?? DEFAULT_MAX_HEADERS_COUNT;
  const tokens = new TokenResponses({
    source: options.credentials,
    defaultScopes: scopes,
    metrics,
    clock,
    maxKeys: options.maxTokenKeys ?? DEFAULT_MAX_TOKEN_KEYS,
    onReady: () => logger?.info({}, "ready: the first token was obtained"),
  });
  const handler = new MetadataHandler({
    tokens,
    values: options.metadata ?? metadataValues(options.credentials),
    scopes,
    metrics,
    logger,
    clock,
    allowedHosts: options.allowedHosts ?? [],
    bearerToken: options.bearerToken,
    maxWaiters: options.maxWaiters ?? DEFAULT_MAX_WAITERS,
    maxHeadersCount,
  });
  const server = createServer(
    {
      maxHeaderSize: DEFAULT_MAX_HEADER_SIZE,
      headersTimeout: DEFAULT_HEADERS_TIMEOUT_MS,
      requestTimeout: DEFAULT_HEADERS_TIMEOUT_MS * 3,
      keepAliveTimeout: 5_000,
    },
    handler.handle,
  );
  // Node builds req.headers from this many lines only; the handler counts req.rawHeaders (every line) and
  // refuses requests with more, so nothing past the limit goes unchecked.
  server.maxHeadersCount = maxHeadersCount;
  // Malformed or oversized requests that never reach the handler still get an answer with Metadata-Flavor.
  server.on("clientError", (error: Error & { code?: string }, socket: Socket) => {
    const [status, text] = CLIENT_ERROR_STATUS[error.code ?? ""] ?? [400, "Bad Request"];
    metrics.requests(REFUSED, status).value++;
    if (socket.writable) {
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nMetadata-Flavor: Google\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
    } else {
      socket.destroy();
    }
  });

  let state: "idle" | "listening" | "closing" = "idle";
  let address: MetadataServerAddress | undefined;
  let socketInode: number | undefined;
  let closed: Promise<void> | undefined;

  const listen = async (target: ListenTarget = {}): Promise<MetadataServerAddress> => {
    if (state !== "idle") {
      throw new WifError("The metadata server is already listening or was closed; create a new one.", {
        code: METADATA_SERVER_ERROR_CODES.notIdle,
      });
    }
    state = "listening";
    try {
      address = await bind(target);
    } catch (error) {
      state = "idle";
      throw error;
    }
    tokens.startKeepWarm(options.keepWarmIntervalMs ?? DEFAULT_KEEP_WARM_INTERVAL_MS);
    return address;
  };

  const bind = async (target: ListenTarget): Promise<MetadataServerAddress> => {
    if ("path" in target) {
      socketInode = await listenOnSocket(server, target.path, target.mode ?? DEFAULT_SOCKET_MODE);
      return { url: `unix:${target.path}`, metadataHost: undefined, port: undefined, path: target.path };
    }
    await listenOn(server, { host: target.host ?? DEFAULT_HOST, port: target.port ?? 0 });
    const bound = server.address();
    const port = typeof bound === "object" && bound !== null ? bound.port : 0;
    handler.allowPort(port);
    const metadataHost = `${urlHost(target.host ?? DEFAULT_HOST)}:${port}`;
    return { url: `http://${metadataHost}`, metadataHost, port, path: undefined };
  };

  const close = (): Promise<void> => {
    closed ??= (async () => {
      const wasListening = state === "listening";
      state = "closing";
      handler.beginShutdown();
      tokens.stop();
      if (!wasListening) return;
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => {
        logger?.warn({}, "shutdown timeout reached: closing the remaining connections");
        server.closeAllConnections();
      }, options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
      await drained;
      clearTimeout(cut);
      const path = address?.path;
      if (path !== undefined && (await lstat(path).catch(() => undefined))?.ino === socketInode) {
        await unlink(path).catch(() => undefined);
      }
    })();
    return closed;
  };

  return {
    listen,
    get address() {
      return address;
    },
    get ready() {
      return tokens.hasObtainedFirstToken && state !== "closing";
    },
    get closing() {
      return state === "closing";
    },
    httpServer: server,
    close,
  };
}
