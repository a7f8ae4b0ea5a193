/**
 * Fuzzing the request handling with fast-check: random methods, paths (encoded, dot-segments, very long),
 * query strings and header sets (Host variants and duplicates, Metadata-Flavor present, absent, in other
 * cases or twice, forwarding headers after filler, more headers than the limit, huge and non-ASCII values),
 * sent as raw bytes over a socket to a real server on 127.0.0.1. Properties: every connection ends within a
 * bound, the server keeps serving, and no answer to a request it must refuse (no or wrong Metadata-Flavor,
 * a forwarding header, a Host outside the allowlist or twice, a method other than GET) carries the token.
 * Bounded: `NUM_RUNS` requests or `TIME_LIMIT_MS`, whichever comes first.
 */
import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fuzzBudget } from "../../../tooling/fuzz-budget.js";
import { startTestServer, type TestServer, waitFor } from "./helpers.js";

const NUM_RUNS = 600;
const TIME_LIMIT_MS = 6_000;
/** How long a connection may stay open after the client has sent everything and half-closed it. */
const CONNECTION_BOUND_MS = 3_000;
const TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";
/** The token the source hands out: distinctive, so any copy of it in an answer is found. */
const SECRET = "ya29.fuzz-secret-token-c0ffee";

let started: TestServer;
let port: number;
beforeAll(async () => {
  started = await startTestServer({ holdFirstToken: true });
  started.source.tokenOf = (prefix, count) => `${SECRET}-${prefix}-${count}`;
  started.source.release();
  await waitFor(() => started.server.ready);
  port = started.address.port as number;
});
afterAll(async () => {
  await started.server.close();
});

interface Header {
  name: string;
  value: string;
}

interface FuzzRequest {
  method: string;
  target: string;
  hosts: string[];
  flavors: Header[];
  forwarding: Header[];
  fillers: number;
  extra: Header[];
  /** Where the Metadata-Flavor and forwarding lines go among the others. */
  order: number[];
}

const ALLOWED_HOSTS = () => ["127.0.0.1", `127.0.0.1:${port}`, "localhost", "metadata.google.internal"];
const DISALLOWED_HOSTS = [
  "attacker.example",
  "127.0.0.1.attacker.example",
  "evil:80",
  "127.0.0.2",
  "metadata",
];

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant("GET") },
  {
    weight: 3,
    arbitrary: fc.constantFrom("POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "get"),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
);

const path = fc.oneof(
  { weight: 5, arbitrary: fc.constant(TOKEN_PATH) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "/",
      "/computeMetadata/v1/",
      "/computeMetadata/v1/instance/service-accounts/",
      "/computeMetadata/v1/instance/service-accounts/default/identity",
      "/computeMetadata/v1/project/project-id",
      "/computeMetadata/v1/instance/../instance/service-accounts/default/token",
      "/computeMetadata/v1/instance/service-accounts/default/./token",
      "//computeMetadata/v1/instance/service-accounts/default/token",
      "/computeMetadata/v1/instance/service-accounts/default/%74oken",
      "/computeMetadata%2Fv1%2Finstance%2Fservice-accounts%2Fdefault%2Ftoken",
      "/computeMetadata/v1/instance/service-accounts/default/token/..",
      "/computeMetadata/v1/instance/service-accounts/%2e%2e/%2e%2e/token",
      "/../../etc/passwd",
      "*",
    ),
  },
  { weight: 2, arbitrary: fc.stringMatching(/^\/[A-Za-z0-9._~%/-]{0,60}$/) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 500, max: 12_000 }).map((n) => `/computeMetadata/v1/${"a/".repeat(n / 2)}`),
  },
);

const query = fc.option(
  fc
    .array(
      fc.tuple(
        fc.constantFrom("scopes", "alt", "recursive", "audience", "format", "licenses", "x", "scopes%00"),
        fc.oneof(
          fc.constantFrom("json", "text", "true", "full", "https://svc.example", "a,b", "%ZZ", ""),
          fc.string({ maxLength: 40 }).map(encodeURIComponent),
          fc.integer({ min: 100, max: 6_000 }).map((n) => "s".repeat(n)),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => `?${pairs.map(([key, value]) => `${key}=${value}`).join("&")}`),
  { nil: "" },
);

const hosts = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ALLOWED_HOSTS()).map((host) => [host]) },
  { weight: 2, arbitrary: fc.constantFrom(...DISALLOWED_HOSTS).map((host) => [host]) },
  { weight: 1, arbitrary: fc.constant([] as string[]) },
  { weight: 1, arbitrary: fc.constant("LOCALHOST").map((host) => [host]) },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(...ALLOWED_HOSTS()),
      fc.constantFrom(...ALLOWED_HOSTS(), ...DISALLOWED_HOSTS),
    ),
  },
);

const flavorName = fc.constantFrom("Metadata-Flavor", "metadata-flavor", "METADATA-FLAVOR");
const flavors = fc.oneof(
  { weight: 6, arbitrary: flavorName.map((name) => [{ name, value: "Google" }]) },
  { weight: 1, arbitrary: fc.constant([] as Header[]) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        flavorName,
        fc.constantFrom("google", "GOOGLE", "Google ", "Google, Google", "", "Googl", "Gööglé"),
      )
      .map(([name, value]) => [{ name, value }]),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(flavorName, flavorName)
      .map(([a, b]) => [a, b].map((name) => ({ name, value: "Google" }))),
  },
);

const forwarding = fc.oneof(
  { weight: 4, arbitrary: fc.constant([] as Header[]) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("X-Forwarded-For", "x-forwarded-for", "Forwarded", "FORWARDED")
      .map((name) => [
        { name, value: name.toLowerCase() === "forwarded" ? "for=203.0.113.9" : "203.0.113.9" },
      ]),
  },
);

const extra = fc.array(
  fc.record({
    name: fc.stringMatching(/^X-Fuzz-[A-Za-z0-9-]{1,20}$/),
    value: fc.oneof(
      fc.string({ maxLength: 40 }).map((value) => value.replace(/[\r\n]/g, "")),
      fc.constantFrom("ünïcödé", "日本語", "\u00ff\u0080", "\u0001control", "tab\there"),
      fc.integer({ min: 1_000, max: 20_000 }).map((n) => "v".repeat(n)),
    ),
  }),
  { maxLength: 3 },
);

const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method,
  target: fc.tuple(path, query).map(([p, q]) => `${p}${q}`),
  hosts,
  flavors,
  forwarding,
  fillers: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) },
    fc.integer({ min: 55, max: 90 }),
  ),
  extra,
  order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
});

/** The raw bytes: Host first, then filler, with the other lines placed by `order` (forwarding headers may come last). */
function bytesOf(request: FuzzRequest): Buffer {
  const lines: string[] = [...request.hosts.map((host) => `Host: ${host}`)];
  for (let index = 0; index < request.fillers; index++) lines.push(`X-Filler-${index}: ${index}`);
  const placed = [...request.flavors, ...request.forwarding, ...request.extra];
  placed.forEach((header, index) => {
    const at = (request.order[index % request.order.length] as number) % (lines.length + 1);
    lines.splice(at, 0, `${header.name}: ${header.value}`);
  });
  return Buffer.from(
    `${request.method} ${request.target} HTTP/1.1\r\n${lines.map((line) => `${line}\r\n`).join("")}\r\n`,
  );
}

/** Whether the server must refuse the request whatever else it carries. */
function mustRefuse(request: FuzzRequest): boolean {
  return (
    request.method !== "GET" ||
    // HTTP strips white space around a field value: "Google " is Metadata-Flavor: Google.
    !(request.flavors.length === 1 && request.flavors[0]?.value.trim() === "Google") ||
    request.forwarding.length > 0 ||
    request.hosts.length !== 1 ||
    DISALLOWED_HOSTS.includes(request.hosts[0] as string)
  );
}

/** Sends the bytes, half-closes, and collects the answer until the server closes (or the bound passes). */
function exchange(bytes: Buffer): Promise<{ answer: string; ended: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ answer: Buffer.concat(chunks).toString("latin1"), ended });
    };
    const timer = setTimeout(() => finish(false), CONNECTION_BOUND_MS);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    socket.end(bytes);
  });
}

it("never crashes, ends every connection, and never gives the token to a request it must refuse", async () => {
  const outcomes = { refused: 0, served: 0 };
  await fc.assert(
    fc.asyncProperty(fuzzRequest, async (request) => {
      const { answer, ended } = await exchange(bytesOf(request));
      expect(ended, "the connection ended").toBe(true);
      if (mustRefuse(request)) {
        outcomes.refused++;
        expect(answer).not.toContain(SECRET);
      } else if (answer.includes(SECRET)) {
        outcomes.served++;
      }
    }),
    fuzzBudget(NUM_RUNS, TIME_LIMIT_MS),
  );
  // Not vacuous: requests of both kinds were sent, and the token was there to be leaked.
  expect(outcomes.refused).toBeGreaterThan(10);
  expect(outcomes.served).toBeGreaterThan(0);
  // Still serving after all of it.
  const { answer } = await exchange(
    Buffer.from(`GET ${TOKEN_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata-Flavor: Google\r\n\r\n`),
  );
  expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  expect(answer).toContain(SECRET);
});
