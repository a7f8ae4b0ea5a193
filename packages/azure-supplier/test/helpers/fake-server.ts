import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { UnsecuredJWT } from "jose";
import { type RecordedRequest, sendJson, startServer } from "../../../../tooling/test-server.js";

export type { RecordedRequest };
export { sendJson };

/** Answers one request; `index` counts requests from 0. */
export type FakeHandler = (request: RecordedRequest, response: ServerResponse, index: number) => void;

export interface FakeServer {
  /** Base URL, no trailing slash. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 port 0 that records every request and lets the test answer it. */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const server = await startServer((request, response, hit) => handler(request, response, hit - 1));
  return { url: server.origin, requests: server.requests, close: server.close };
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
