/**
 * The admin server (its own port, so metrics and probes never share the metadata port's Host and flavor
 * rules): `/healthz` (the process answers), `/readyz` (the first token was obtained and the sidecar is not
 * shutting down) and `/metrics` (Prometheus text format).
 */
import { createServer, type Server } from "node:http";
import { METRICS_CONTENT_TYPE, type Registry } from "./metrics.js";

export interface AdminServerOptions {
  registry: Registry;
  /** Why the sidecar is not ready, or undefined when it is. */
  notReadyReason: () => string | undefined;
}

/** Creates (does not start) the admin server. */
export function createAdminServer(options: AdminServerOptions): Server {
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
    if (req.method !== "GET" && req.method !== "HEAD") {
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
  return server;
}
