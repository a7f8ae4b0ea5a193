import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { UnsecuredJWT } from "jose";

export interface RecordedRequest {
  method: string;
  pathname: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
}

export type FakeHandler = (request: RecordedRequest, response: ServerResponse, index: number) => void;

export interface FakeServer {
  /** Base URL, no trailing slash. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 port 0 that records every request and lets the test answer it. */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        pathname: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      handler(recorded, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** An Entra-shaped access token (unsigned: these tests check transport, not signatures). */
export function fakeAzureJwt(claims: Record<string, unknown> = {}, expSeconds?: number): string {
  const jwt = new UnsecuredJWT({
    iss: "https://sts.windows.net/11111111-2222-3333-4444-555555555555/",
    sub: "99999999-8888-7777-6666-555555555555",
    oid: "99999999-8888-7777-6666-555555555555",
    tid: "11111111-2222-3333-4444-555555555555",
    aud: "api://wifkit-test",
    appid: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    ver: "1.0",
    ...claims,
  });
  if (expSeconds !== undefined) jwt.setExpirationTime(expSeconds);
  return jwt.encode();
}

/** A clock tests can move. */
export function manualClock(start = Date.UTC(2030, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Retry settings that keep backoff waits to a few milliseconds. */
export const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5 } as const;

/** A loopback port with nothing listening on it (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
