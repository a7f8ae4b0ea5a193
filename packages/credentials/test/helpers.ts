/** Test helpers: temporary directories and real HTTP servers on 127.0.0.1 port 0. */
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cleanups: Array<() => Promise<void>> = [];

/** Runs every registered cleanup; call from `afterEach`. */
export async function cleanup(): Promise<void> {
  await Promise.all(cleanups.splice(0).map((fn) => fn()));
}

/** A fresh temporary directory, removed by `cleanup()`. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wifkit-credentials-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type TestHandler = (request: RecordedRequest, response: http.ServerResponse, hit: number) => unknown;

/** A real HTTP server on 127.0.0.1 port 0 that records requests; closed by `cleanup()`. */
export async function serve(handler: TestHandler): Promise<{ origin: string; requests: RecordedRequest[] }> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      void handler(recorded, res, requests.length);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, requests };
}

/** Sends a JSON body with a status. */
export function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify(body));
}

/** A JWT-shaped string (not signed by anyone) for tests that only move tokens around. */
export function fakeJwt(claims: Record<string, unknown> = { sub: "workload" }): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}.${Buffer.from("signature-bytes-here").toString("base64url")}`;
}
