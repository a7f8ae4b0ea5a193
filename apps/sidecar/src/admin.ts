/**
 * The admin server (its own port, so metrics and probes never share the metadata port's Host and flavor
 * rules): `/healthz` (the process answers), `/readyz` (the first token was obtained and the sidecar is not
 * shutting down) and `/metrics` (Prometheus text format).
 *
 * It checks Host too: `/metrics` names scope sets and audiences, and a page a browser loads from a name that
 * resolves to this machine (DNS rebinding) must not read it. A rebinding request always carries that name,
 * so IP literals (what the kubelet and Prometheus send: the pod IP), loopback names and `--allowed-host`
 * names are accepted, and any other name is refused.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { isIP } from "node:net";
import {
  DEFAULT_ALLOWED_HOSTS,
  DEFAULT_MAX_HEADERS_COUNT,
  emptyRequestHead,
  readRequestHead,
} from "@wifkit/metadata-server";
import { METRICS_CONTENT_TYPE, type Registry } from "./metrics.js";

export interface AdminServerOptions {
  registry: Registry;
  /** Why the sidecar is not ready, or undefined when it is. */
  notReadyReason: () => string | undefined;
  /** Host names accepted besides IP literals and the default names, with or without a port. */
  allowedHosts?: readonly string[] | undefined;
}

const HOST = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/;

/** Why the request head is refused (status and text), or undefined when it is accepted. */
function refusal(req: IncomingMessage, names: ReadonlySet<string>): [number, string] | undefined {
  const head = readRequestHead(req.rawHeaders, emptyRequestHead());
  if (head.count > DEFAULT_MAX_HEADERS_COUNT) return [431, "Too many header lines.\n"];
  if (head.hosts > 1) return [400, "More than one Host header.\n"];
  const host = head.host?.toLowerCase();
  const name = host === undefined ? undefined : HOST.exec(host)?.[1];
  if (name === undefined) return [403, "A Host header is required.\n"];
  const accepted = isIP(name.replace(/^\[|\]$/g, "")) !== 0 || names.has(name) || names.has(host!);
  return accepted
    ? undefined
    : [403, "The Host header is not in the allowlist (add it with --allowed-host).\n"];
}

/** Creates (does not start) the admin server. */
export function createAdminServer(options: AdminServerOptions): Server {
  const names = new Set(
    [...DEFAULT_ALLOWED_HOSTS, ...(options.allowedHosts ?? [])].map((name) => name.toLowerCase()),
  );
  const server = createServer({ maxHeaderSize: 8 * 1024, headersTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    const reply = (status: number, contentType: string, text: string): void => {
      const body = Buffer.from(text);
      res.writeHead(status, {
        "Content-Type": contentType,
        "Content-Length": body.length,
        "Cache-Control": "no-store",
      });
      res.end(body);
    };
    const refused = refusal(req, names);
    if (refused !== undefined) {
      res.shouldKeepAlive = false;
      reply(refused[0], "text/plain; charset=utf-8", refused[1]);
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      reply(405, "text/plain; charset=utf-8", "Only GET and HEAD are served.\n");
    } else if (path === "/healthz") {
      reply(200, "text/plain; charset=utf-8", "ok\n");
    } else if (path === "/readyz") {
      const reason = options.notReadyReason();
      if (reason === undefined) reply(200, "text/plain; charset=utf-8", "ready\n");
      else reply(503, "text/plain; charset=utf-8", `not ready: ${reason}\n`);
    } else if (path === "/metrics") {
      reply(200, METRICS_CONTENT_TYPE, options.registry.render());
    } else {
      reply(404, "text/plain; charset=utf-8", "Not found. Try /healthz, /readyz or /metrics.\n");
    }
  });
  server.maxHeadersCount = DEFAULT_MAX_HEADERS_COUNT;
  return server;
}
