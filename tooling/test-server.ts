/**
 * A real HTTP server on 127.0.0.1 port 0 for tests: it records every request and answers with the handler
 * the test gives it. Shared by the packages' tests (imported by relative path; it is not published).
 * `close()` also drops connections a test left hanging.
 */
import { once } from "node:events";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach } from "vitest";

export interface RecordedRequest {
  method: string;
  /** The request target as sent: path and query string. */
  path: string;
  pathname: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** When the request's body had arrived, in ms since the epoch. */
  receivedAt: number;
}

/** Answers one request; `hit` counts requests from 1. */
export type Handler = (request: RecordedRequest, response: http.ServerResponse, hit: number) => unknown;

export interface TestServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      const url = new URL(path, "http://127.0.0.1");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path,
        pathname: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now(),
      };
      requests.push(recorded);
      void handler(recorded, res, requests.length);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers with a JSON body and optional headers. */
export function sendJson(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

export interface BlackHole {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  origin: string;
  /** Connections accepted so far: each is one probe of the address. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A black-holed address: a TCP server on 127.0.0.1 port 0 that accepts connections and never answers, like
 * a firewalled metadata address. Tests count its connections to see how often something probed it.
 */
export async function startBlackHole(): Promise<BlackHole> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    connections: () => sockets.length,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * `serve(handler)` for a test file: starts a test server that is closed (with its hanging connections) after
 * each test. Call once at the top level of the file.
 */
export function serverPerTest(): (handler: Handler) => Promise<TestServer> {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return async (handler) => {
    const server = await startServer(handler);
    servers.push(server);
    return server;
  };
}
