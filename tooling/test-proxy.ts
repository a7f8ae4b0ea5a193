/**
 * A real CONNECT proxy on 127.0.0.1 port 0 for tests, as a corporate egress proxy behaves: it tunnels
 * `CONNECT host:port` requests, can demand Basic proxy credentials (407), and can refuse (502) or reset. It
 * never reaches the network: each tunnel goes to the local port `routes` gives for its `host:port` (so a
 * test can send `https://sts.googleapis.com` to a local server), or is refused. Shared by the packages'
 * tests (imported by relative path; it is not published).
 */
import { once } from "node:events";
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";

export interface TestProxyOptions {
  /** `host:port` of a CONNECT target -> local port on 127.0.0.1 to tunnel it to. */
  routes?: Record<string, number>;
  /** Demand these Basic credentials (407 without them). */
  credentials?: { username: string; password: string };
  /** Misbehave: answer every CONNECT with this status, or reset the connection. */
  refuse?: 403 | 502 | "reset";
  /** Serve the proxy itself over TLS (an `https://` proxy). */
  tls?: { cert: string; key: string };
}

export interface TestProxy {
  /** `http://127.0.0.1:PORT` (or https), no credentials. */
  url: string;
  /** Every CONNECT target asked for, with whether it was tunnelled. */
  connects: Array<{ target: string; tunnelled: boolean }>;
  close(): Promise<void>;
}

export async function startProxy(options: TestProxyOptions = {}): Promise<TestProxy> {
  const connects: TestProxy["connects"] = [];
  const server = options.tls ? https.createServer(options.tls) : http.createServer();
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("request", (_request, response: http.ServerResponse) => {
    // Only tunnels are served: a plain forward request means the client did not tunnel.
    response.writeHead(405).end();
  });
  server.on("connect", (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = request.url ?? "";
    const answer = (status: number, extra = "") => {
      connects.push({ target, tunnelled: false });
      client.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    if (options.refuse === "reset") {
      connects.push({ target, tunnelled: false });
      client.destroy();
      return;
    }
    if (options.refuse) return answer(options.refuse);
    if (options.credentials) {
      const expected = Buffer.from(
        `${options.credentials.username}:${options.credentials.password}`,
      ).toString("base64");
      if (request.headers["proxy-authorization"] !== `Basic ${expected}`) {
        return answer(407, 'Proxy-Authenticate: Basic realm="test"\r\n');
      }
    }
    const port = options.routes?.[target];
    if (port === undefined) return answer(502);
    connects.push({ target, tunnelled: true });
    const upstream = net.connect(port, "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    connects,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
