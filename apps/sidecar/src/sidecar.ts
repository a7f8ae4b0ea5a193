/**
 * Wires the sidecar together: the metadata server (@wifkit/metadata-server) over the credential, the admin
 * server, the sidecar's metrics and logs, and graceful shutdown. `main.ts` builds the options from flags and
 * the credential config; tests call this directly with an in-test token source.
 */
import type { Server } from "node:http";
import type { Clock } from "@wifkit/core";
import { systemClock } from "@wifkit/core";
import {
  createMetadataServer,
  DEFAULT_METADATA_SCOPES,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SOCKET_MODE,
  type MetadataValues,
  parseScopes,
  type TokenSource,
} from "@wifkit/metadata-server";
import type { Logger } from "pino";
import { createAdminServer } from "./admin.js";
import { createLogger } from "./logger.js";
import { createSidecarMetrics, Gauge, type SidecarMetrics } from "./metrics.js";

export { DEFAULT_METADATA_SCOPES, DEFAULT_SHUTDOWN_TIMEOUT_MS, DEFAULT_SOCKET_MODE };
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8954;
export const DEFAULT_ADMIN_PORT = 8955;

export interface SidecarOptions {
  /** Where tokens come from: a credential from @wifkit/credentials, whose caches decide when to refresh. */
  source: TokenSource;
  /**
   * The metrics the credential's hooks feed (`tokenHooks(metrics, logger)` passed to `fromConfig`). Without
   * it the sidecar makes its own, and token refreshes and failures are not counted.
   */
  metrics?: SidecarMetrics;
  /** What the metadata tree serves (`metadataValues(credentials, overrides)`). */
  metadata: MetadataValues;
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
  readonly metrics: SidecarMetrics;
  readonly logger: Logger;
  /** True once the first default-scope token was obtained and until shutdown starts. */
  readonly ready: boolean;
  /** Stops accepting, lets in-flight requests finish (bounded by `shutdownTimeoutMs`), then stops. */
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function urlHost(host: string): string {
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return reachable.includes(":") ? `[${reachable}]` : reachable;
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
  const defaultScopes = options.defaultScopes ?? DEFAULT_METADATA_SCOPES;
  const defaultKey = parseScopes(defaultScopes.join(" ")).join(" ");
  const metadata = createMetadataServer({
    credentials: options.source,
    metadata: options.metadata,
    scopes: defaultScopes,
    allowedHosts: options.allowedHosts,
    bearerToken: options.bearerToken,
    clock,
    logger,
    metrics,
    keepWarmIntervalMs: options.keepWarmIntervalMs,
    maxTokenKeys: options.maxTokenKeys,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
  });
  metrics.addGauge(
    new Gauge(
      "wif_sidecar_token_expiry_seconds",
      "Seconds until the token the credential cached last expires, by token kind and cache key.",
      ["kind", "key"],
      function* () {
        const now = clock.now();
        // Expired tokens of other keys leave the gauge; the default one stays (at 0) for alerts.
        metrics.forgetExpiredTokens(now, defaultKey);
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
      () => [{ labels: [], value: metadata.ready ? 1 : 0 }],
    ),
  );
  metrics.addGauge(
    new Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [], () => [
      { labels: [], value: process.memoryUsage.rss() },
    ]),
  );
  const notReadyReason = (): string | undefined =>
    metadata.closing ? "shutting down" : metadata.ready ? undefined : "waiting for the first token";
  const admin =
    options.adminPort === null
      ? undefined
      : createAdminServer({ registry: metrics.registry, notReadyReason, allowedHosts: options.allowedHosts });

  const address = await metadata.listen(
    options.socketPath !== undefined
      ? { path: options.socketPath, mode: options.socketMode ?? DEFAULT_SOCKET_MODE }
      : { host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT },
  );
  let adminUrl: string | undefined;
  if (admin !== undefined) {
    const adminHost = options.adminHost ?? DEFAULT_HOST;
    try {
      await listen(admin, adminHost, options.adminPort ?? DEFAULT_ADMIN_PORT);
    } catch (error) {
      await metadata.close();
      throw error;
    }
    const bound = admin.address();
    adminUrl = `http://${urlHost(adminHost)}:${typeof bound === "object" && bound !== null ? bound.port : 0}`;
  }
  logger.info({ url: address.url, adminUrl, scopes: defaultScopes }, "wif-sidecar listening");

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      logger.info("shutting down: no new connections, finishing requests in flight");
      await metadata.close();
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
    url: address.url,
    metadataHost: address.metadataHost,
    port: address.port,
    adminUrl,
    metrics,
    logger,
    get ready() {
      return metadata.ready;
    },
    close,
  };
}
