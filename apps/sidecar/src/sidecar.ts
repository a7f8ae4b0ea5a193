/**
 * Wires the sidecar together: token entries and keep-warm timer, metadata handler and server, admin server,
 * metrics and graceful shutdown. `main.ts` builds the options from flags and the credential config; tests
 * call this directly with an in-test token source.
 */
import { chmod, lstat, unlink } from "node:fs/promises";
import type { Server } from "node:http";
import { connect } from "node:net";
import type { Clock } from "@wifkit/core";
import { systemClock } from "@wifkit/core";
import type { Logger } from "pino";
import { createAdminServer } from "./admin.js";
import { createLogger } from "./logger.js";
import type { MetadataValues } from "./metadata.js";
import { createSidecarMetrics, Gauge, type SidecarMetrics } from "./metrics.js";
import { createMetadataServer, MetadataHandler } from "./server.js";
import { DEFAULT_KEEP_WARM_INTERVAL_MS, SidecarTokens, type TokenSource } from "./tokens.js";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8954;
export const DEFAULT_ADMIN_PORT = 8955;
export const DEFAULT_SOCKET_MODE = 0o660;
export const DEFAULT_SCOPES: readonly string[] = ["https://www.googleapis.com/auth/cloud-platform"];
/** How long in-flight requests may take to finish after SIGTERM before connections are cut. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface SidecarOptions {
  /** Where tokens come from: a credential from @wifkit/credentials, whose caches decide when to refresh. */
  source: TokenSource;
  /**
   * The metrics the credential's hooks feed (`tokenHooks(metrics, logger)` passed to `fromConfig`). Without
   * it the sidecar makes its own, and token refreshes and failures are not counted.
   */
  metrics?: SidecarMetrics;
  /** Everything the metadata tree serves except the scopes, which come from `defaultScopes`. */
  metadata: Omit<MetadataValues, "scopes">;
  defaultScopes?: readonly string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Listen on this Unix socket instead of TCP. */
  socketPath?: string;
  socketMode?: number;
  adminHost?: string;
  /** 0 picks a free port; `null` runs no admin server. */
  adminPort?: number | null;
  allowedHosts?: readonly string[];
  bearerToken?: string | undefined;
  logger?: Logger;
  clock?: Clock;
  shutdownTimeoutMs?: number;
  /** How often the default token is asked for, so the credential refreshes it ahead of expiry. */
  keepWarmIntervalMs?: number;
  /** Scope sets, and ID token audiences and formats, kept a rendered response for. */
  maxTokenKeys?: number;
}

export interface Sidecar {
  /** Base URL of the metadata server (`http://127.0.0.1:PORT`), or `unix:PATH` on a socket. */
  readonly url: string;
  /** The value apps put in GCE_METADATA_HOST (`127.0.0.1:PORT`); undefined on a socket. */
  readonly metadataHost: string | undefined;
  readonly port: number | undefined;
  readonly adminUrl: string | undefined;
  readonly tokens: SidecarTokens;
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
  /** True once the first default-scope token was obtained and until shutdown starts. */
  readonly ready: boolean;
  /** Stops accepting, lets in-flight requests finish (bounded by `shutdownTimeoutMs`), then stops. */
  close(): Promise<void>;
}

function listen(server: Server, target: { host: string; port: number } | { path: string }): Promise<void> {
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
    if ("path" in target) server.listen({ path: target.path, backlog: 1024 });
    else server.listen({ host: target.host, port: target.port, backlog: 1024 });
  });
}

/** A socket file left by a sidecar that died is removed; one that still answers is someone else's. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isSocket())
    throw new Error(`${path} exists and is not a socket; remove it or pick another --socket path.`);
  const alive = await new Promise<boolean>((resolve) => {
    const socket = connect({ path }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
  if (alive) throw new Error(`${path} is in use by a running server; stop it or pick another --socket path.`);
  await unlink(path);
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Starts a sidecar: the metadata server (TCP or Unix socket), the admin server, and the keep-warm timer
 * that asks for the default token right away.
 *
 * @example
 * const sidecar = await startSidecar({ source, metadata, port: 0, adminPort: 0 });
 * process.env.GCE_METADATA_HOST = sidecar.metadataHost;
 */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger();
  const metrics = options.metrics ?? createSidecarMetrics();
  const defaultScopes = options.defaultScopes ?? DEFAULT_SCOPES;
  let closing = false;
  const tokens = new SidecarTokens({
    source: options.source,
    defaultScopes,
    metrics,
    logger,
    clock,
    ...(options.maxTokenKeys === undefined ? {} : { maxKeys: options.maxTokenKeys }),
  });
  metrics.addGauge(
    new Gauge(
      "wif_sidecar_token_expiry_seconds",
      "Seconds until the token the credential cached last expires, by token kind and cache key.",
      ["kind", "key"],
      function* () {
        const now = clock.now();
        for (const { kind, key, expiresAtMs } of metrics.tokenExpiries()) {
          yield { labels: [kind, key], value: Math.max(0, (expiresAtMs - now) / 1000) };
        }
      },
    ),
  );
  metrics.addGauge(
    new Gauge(
      "wif_sidecar_ready",
      "1 when the sidecar is ready (first token obtained, not shutting down).",
      [],
      () => [{ labels: [], value: tokens.hasObtainedFirstToken && !closing ? 1 : 0 }],
    ),
  );
  metrics.addGauge(
    new Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [], () => [
      { labels: [], value: process.memoryUsage.rss() },
    ]),
  );

  const handler = new MetadataHandler({
    tokens,
    values: { ...options.metadata, scopes: defaultScopes },
    metrics,
    logger,
    clock,
    allowedHosts: options.allowedHosts ?? [],
    bearerToken: options.bearerToken,
  });
  const server = createMetadataServer(handler, metrics);
  const notReadyReason = (): string | undefined =>
    closing ? "shutting down" : tokens.hasObtainedFirstToken ? undefined : "waiting for the first token";
  const admin =
    options.adminPort === null
      ? undefined
      : createAdminServer({ registry: metrics.registry, notReadyReason });

  let url: string;
  let metadataHost: string | undefined;
  let port: number | undefined;
  if (options.socketPath !== undefined) {
    await removeStaleSocket(options.socketPath);
    await listen(server, { path: options.socketPath });
    await chmod(options.socketPath, options.socketMode ?? DEFAULT_SOCKET_MODE);
    url = `unix:${options.socketPath}`;
  } else {
    const host = options.host ?? DEFAULT_HOST;
    await listen(server, { host, port: options.port ?? DEFAULT_PORT });
    const address = server.address();
    port = typeof address === "object" && address !== null ? address.port : undefined;
    if (port !== undefined) handler.allowPort(port);
    metadataHost = `${urlHost(host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host)}:${port}`;
    url = `http://${metadataHost}`;
  }
  let adminUrl: string | undefined;
  if (admin !== undefined) {
    const adminHost = options.adminHost ?? DEFAULT_HOST;
    try {
      await listen(admin, { host: adminHost, port: options.adminPort ?? DEFAULT_ADMIN_PORT });
    } catch (error) {
      server.close();
      throw error;
    }
    const address = admin.address();
    const adminPort = typeof address === "object" && address !== null ? address.port : 0;
    adminUrl = `http://${urlHost(adminHost === "0.0.0.0" ? "127.0.0.1" : adminHost === "::" ? "::1" : adminHost)}:${adminPort}`;
  }
  tokens.startKeepWarm(options.keepWarmIntervalMs ?? DEFAULT_KEEP_WARM_INTERVAL_MS);
  logger.info({ url, adminUrl, scopes: defaultScopes }, "wif-sidecar listening");

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      logger.info("shutting down: no new connections, finishing requests in flight");
      handler.beginShutdown();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => {
        logger.warn("shutdown timeout reached: closing the remaining connections");
        server.closeAllConnections();
      }, options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
      await drained;
      clearTimeout(cut);
      tokens.stop();
      if (admin !== undefined) {
        const adminClosed = new Promise<void>((resolve) => admin.close(() => resolve()));
        admin.closeAllConnections();
        await adminClosed;
      }
      logger.info("stopped");
    })();
    return closed;
  };

  return {
    url,
    metadataHost,
    port,
    adminUrl,
    tokens,
    metrics,
    logger,
    get ready() {
      return tokens.hasObtainedFirstToken && !closing;
    },
    close,
  };
}
