/** Test helpers: temporary directories and real HTTP servers on 127.0.0.1 port 0. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Handler, type RecordedRequest, sendJson, startServer } from "../../../tooling/test-server.js";

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

export type { RecordedRequest };
export { sendJson };

/** A real HTTP server on 127.0.0.1 port 0 that records requests; closed by `cleanup()`. */
export async function serve(handler: Handler): Promise<{ origin: string; requests: RecordedRequest[] }> {
  const server = await startServer(handler);
  cleanups.push(server.close);
  return server;
}

/** A JWT-shaped string (not signed by anyone) for tests that only move tokens around. */
export function fakeJwt(claims: Record<string, unknown> = { sub: "workload" }): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}.${Buffer.from("signature-bytes-here").toString("base64url")}`;
}

export interface FakeGoogle {
  origin: string;
  requests: RecordedRequest[];
  /** Requests to one path suffix, e.g. "/v1/token" or ":generateAccessToken". */
  calls(suffix: string): RecordedRequest[];
  /** Makes the next answers of a route fail or hang: status (with optional Retry-After) or "hang". */
  failNext(suffix: string, ...answers: Array<number | "hang">): void;
}

/**
 * A small stand-in for Google STS and IAM Credentials on loopback, for unit tests of the composition (the
 * emulator, with its real policy engine, is for the integration tests). Tokens are numbered so tests can
 * tell them apart; lifetimes come from `now()`.
 */
export async function fakeGoogle(
  options: { now?: () => number; expiresIn?: number; rotateRefreshToken?: boolean } = {},
): Promise<FakeGoogle> {
  const now = options.now ?? Date.now;
  const expiresIn = options.expiresIn ?? 3600;
  const failures = new Map<string, Array<number | "hang">>();
  let issued = 0;
  const server = await serve((req, res) => {
    const path = req.pathname;
    for (const [suffix, queue] of failures) {
      if (path.endsWith(suffix) && queue.length > 0) {
        const answer = queue.shift();
        if (answer === "hang") return;
        res.setHeader("retry-after", "0");
        sendJson(res, answer as number, { error: "unavailable", error_description: "injected" });
        return;
      }
    }
    issued++;
    if (path === "/v1/token") {
      sendJson(res, 200, {
        access_token: `federated-${issued}`,
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        token_type: "Bearer",
        expires_in: expiresIn,
      });
    } else if (path === "/v1/oauthtoken") {
      sendJson(res, 200, {
        access_token: `user-${issued}`,
        token_type: "Bearer",
        expires_in: expiresIn,
        ...(options.rotateRefreshToken ? { refresh_token: `refresh-${issued}` } : {}),
      });
    } else if (path.endsWith(":generateAccessToken")) {
      const expireTime = new Date(Math.floor(now() / 1000) * 1000 + expiresIn * 1000)
        .toISOString()
        .replace(".000Z", "Z");
      sendJson(res, 200, { accessToken: `sa-${issued}`, expireTime });
    } else if (path.endsWith(":generateIdToken")) {
      const body = JSON.parse(req.body) as { audience: string; includeEmail?: boolean };
      const exp = Math.floor(now() / 1000) + 3600;
      sendJson(res, 200, {
        token: fakeJwt({ aud: body.audience, exp, n: issued, email: body.includeEmail ? "sa@x" : undefined }),
      });
    } else {
      sendJson(res, 404, { error: "not_found" });
    }
  });
  return {
    ...server,
    calls: (suffix) => server.requests.filter((r) => r.pathname.endsWith(suffix)),
    failNext: (suffix, ...answers) => failures.set(suffix, [...(failures.get(suffix) ?? []), ...answers]),
  };
}

/** A clock tests move by hand. */
export function manualClock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}
