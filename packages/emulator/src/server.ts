import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestCounters } from "./counters.js";
import type { Fault, FaultRegistry } from "./faults.js";

/** Largest request body any emulated service reads; real services refuse far smaller bodies too. */
const MAX_BODY_BYTES = 1024 * 1024;

/** One incoming request, with its body already read. */
export interface ServiceRequest {
  method: string;
  url: URL;
  /** The raw path as sent (still percent-encoded), without the query. */
  path: string;
  /** Header value by lower-case name; repeated headers are joined with ", ". */
  header(name: string): string | undefined;
  /** Header pairs in the order received, names lower-cased. */
  headerPairs: Array<[string, string]>;
  body: Buffer;
  text(): string;
}

export interface ServiceResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Route {
  /** Counter and fault name, e.g. "sts.token". */
  name: string;
  methods: readonly string[];
  /** Matches the raw path; named groups become params (percent-decoded). */
  path: RegExp;
  /** A finer counter/fault name from the request itself (AWS STS puts its Action in the body). */
  nameFor?(request: ServiceRequest): string;
  handle(request: ServiceRequest, params: Record<string, string>): ServiceResponse | Promise<ServiceResponse>;
}

export interface ServiceDefinition {
  /** Service name, the prefix of its routes' names and its key in `urls`. */
  name: string;
  routes: Route[];
  /** Answer for a path no route matches (counted as `${prefix}.notFound`). */
  notFound(request: ServiceRequest): ServiceResponse;
  /** Answer for a known path with the wrong method. */
  methodNotAllowed?(request: ServiceRequest): ServiceResponse;
  /** The service's own error shape for an injected fault status. */
  faultResponse(status: number): ServiceResponse;
  /** Route name prefix for counters of unmatched requests, e.g. "sts". */
  prefix: string;
}

export interface ListenOptions {
  host: string;
  port: number;
  counters: RequestCounters;
  faults: FaultRegistry;
  log: ((line: string) => void) | undefined;
  /** The emulator's clock: what the `Date` header of every answer says, as Google's services send theirs. */
  clock: { now(): number };
}

export interface RunningService {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ServiceResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(value),
  };
}

export function text(status: number, value: string, headers: Record<string, string> = {}): ServiceResponse {
  return { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers }, body: value };
}

export function xml(status: number, value: string, headers: Record<string, string> = {}): ServiceResponse {
  return { status, headers: { "content-type": "text/xml", ...headers }, body: value };
}

/**
 * A JSON object body (an empty body is `{}`), or undefined when the body is not a JSON object. The
 * content type is not required: Google's APIs read `text/json` and untyped JSON bodies too.
 */
export function jsonObjectBody(request: ServiceRequest): Record<string, unknown> | undefined {
  if (request.body.length === 0) return {};
  try {
    const parsed = JSON.parse(request.text()) as unknown;
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Starts one `node:http` listener for a service definition. */
export async function listenService(
  service: ServiceDefinition,
  options: ListenOptions,
): Promise<RunningService> {
  const server = http.createServer((req, res) => {
    handle(service, options, req, res).catch((error: unknown) => {
      // A bug in a handler must not take the emulator down; the message never holds a credential.
      options.log?.(
        `${service.name}: internal error: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (!res.headersSent)
        send(res, json(500, { error: "internal", error_description: "emulator internal error" }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  service: ServiceDefinition,
  options: ListenOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  // Node would send the wall clock; clients correct expiries by this header, so it must be emulator time.
  res.setHeader("date", new Date(options.clock.now()).toUTCString());
  const rawUrl = req.url ?? "/";
  const url = new URL(rawUrl, "http://emulator.invalid");
  const path = rawUrl.split("?")[0] ?? "/";
  const method = (req.method ?? "GET").toUpperCase();

  let matched: { route: Route; params: Record<string, string> } | undefined;
  let pathKnown = false;
  for (const route of service.routes) {
    const match = route.path.exec(path);
    if (!match) continue;
    pathKnown = true;
    if (!route.methods.includes(method)) continue;
    matched = { route, params: decodeParams(match.groups ?? {}) };
    break;
  }
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch {
    send(res, json(413, { error: "invalid_request", error_description: "Request body too large." }));
    return;
  }
  const headerPairs: Array<[string, string]> = [];
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    headerPairs.push([req.rawHeaders[index]!.toLowerCase(), req.rawHeaders[index + 1]!]);
  }
  const request: ServiceRequest = {
    method,
    url,
    path,
    headerPairs,
    header(name) {
      const lower = name.toLowerCase();
      const values = headerPairs.filter(([key]) => key === lower).map(([, value]) => value);
      return values.length === 0 ? undefined : values.join(", ");
    },
    body,
    text: () => body.toString("utf8"),
  };

  const routeName = matched
    ? (matched.route.nameFor?.(request) ?? matched.route.name)
    : `${service.prefix}.${pathKnown ? "methodNotAllowed" : "notFound"}`;
  options.counters.increment(routeName);

  const fault = options.faults.take(routeName);
  if (fault?.delayMs) await options.faults.delay(fault.delayMs, res);
  if (res.destroyed) return;
  if (fault?.drop) {
    req.socket.destroy();
    options.log?.(`${service.name} ${method} ${path} -> dropped (fault)`);
    return;
  }
  if (fault && (fault.status !== undefined || fault.retryAfterSeconds !== undefined)) {
    const response = faultResponse(service, fault);
    send(res, response);
    options.log?.(`${service.name} ${method} ${path} -> ${response.status} (fault)`);
    return;
  }

  let response: ServiceResponse;
  if (matched) response = await matched.route.handle(request, matched.params);
  else if (pathKnown) response = service.methodNotAllowed?.(request) ?? text(405, "Method Not Allowed");
  else response = service.notFound(request);
  send(res, response);
  // Paths may carry resource names but never credentials; queries are left out on purpose.
  options.log?.(`${service.name} ${method} ${path} -> ${response.status}`);
}

function faultResponse(service: ServiceDefinition, fault: Fault): ServiceResponse {
  const status = fault.status ?? 429;
  const base =
    fault.body === undefined
      ? service.faultResponse(status)
      : typeof fault.body === "string"
        ? text(status, fault.body)
        : json(status, fault.body);
  const headers: Record<string, string> = { ...base.headers, ...fault.headers };
  if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
  return { ...base, status, headers };
}

function send(res: http.ServerResponse, response: ServiceResponse): void {
  const body = response.body === undefined ? Buffer.alloc(0) : Buffer.from(response.body);
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  res.setHeader("content-length", String(body.length));
  res.end(body);
}

function decodeParams(groups: Record<string, string | undefined>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(groups)) {
    if (value === undefined) continue;
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      params[name] = value;
    }
  }
  return params;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("body too large"));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
