/**
 * The request handler: request checks (method, header count, Host, forwarding headers, body, optional bearer
 * token, Metadata-Flavor), the token and identity routes, the static tree, redirects and long polls.
 *
 * The cached-token path is kept as short as a bare node:http handler's: one pass over the header lines
 * Node already split, a string compare of the URL, and a write of a body and header list rendered at most
 * once per second. The credential (whose cache decides about freshness) is asked once that second is over,
 * or after it reported a refresh.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock, Token } from "@wifkit/core";
import { describeFailure } from "./errors.js";
import { emptyRequestHead, readRequestHead } from "./head.js";
import type { CounterSeries, MetadataServerMetrics, RouteLabel, TokenKind } from "./metrics.js";
import {
  ACCESS_TOKEN_MIN_REMAINING_MS,
  BadRequestError,
  parseScopes,
  servable,
  type TokenEntry,
  type TokenResponses,
} from "./tokens.js";
import {
  buildMetadataTree,
  type Directory,
  lookup,
  type RenderedResponse,
  rendered,
  renderNode,
  type StaticNode,
  TEXT_CONTENT_TYPE,
} from "./tree.js";
import type { MetadataValues } from "./values.js";

/** Most header lines a request may have (431 beyond). */
export const DEFAULT_MAX_HEADERS_COUNT = 64;
/** Longest request target accepted (414 beyond). */
export const MAX_URL_LENGTH = 4096;
/** `wait_for_change` without `timeout_sec` waits this long; `timeout_sec` is capped at the maximum. */
export const DEFAULT_WAIT_TIMEOUT_SEC = 60;
export const MAX_WAIT_TIMEOUT_SEC = 3600;
/** Most long polls held at once (429 beyond). */
export const DEFAULT_MAX_WAITERS = 256;
/** Host names always accepted (with or without the listening port): loopback and the GCE metadata names. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = [
  "127.0.0.1",
  "localhost",
  "[::1]",
  "metadata.google.internal",
  "metadata.google.internal.",
  "169.254.169.254",
];

/** The log calls the server makes (a pino logger fits). */
export interface MetadataServerLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  isLevelEnabled?(level: string): boolean;
}

const BASE = "/computeMetadata/v1/";
const DEFAULT_TOKEN_PATH = `${BASE}instance/service-accounts/default/token`;
const QUERY_CACHE_LIMIT = 256;
const ROOT_RESPONSE = rendered("computeMetadata/\n", TEXT_CONTENT_TYPE);
const VERSIONS_RESPONSE = rendered("v1/\n", TEXT_CONTENT_TYPE);
const REFUSED: RouteLabel = "refused";

export interface MetadataHandlerOptions {
  tokens: TokenResponses;
  values: MetadataValues;
  scopes: readonly string[];
  metrics: MetadataServerMetrics;
  logger: MetadataServerLogger | undefined;
  clock: Clock;
  allowedHosts: readonly string[];
  bearerToken: string | undefined;
  maxWaiters: number;
  maxHeadersCount: number;
}

interface StaticParams {
  recursive: boolean;
  alt: "json" | "text" | undefined;
  wait: boolean;
  lastEtag: string | null;
  timeoutSec: number;
}

interface Waiter {
  timer: ReturnType<typeof setTimeout>;
  finish: () => void;
}

/** Token values change on their own schedule, not as a metadata value does: long polls make no sense there. */
function refuseWaitForChange(params: URLSearchParams): void {
  const wait = params.get("wait_for_change");
  if (wait !== null && wait.toLowerCase() !== "false") {
    throw new BadRequestError("wait_for_change is not supported on token routes");
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** The `request` listener of the metadata server, apart from the `http.Server` so it can be measured alone. */
export class MetadataHandler {
  private readonly tree: Directory;
  private readonly allowedNames: string[];
  private readonly allowedHosts = new Set<string>();
  private readonly bearerDigest: Buffer | undefined;
  private readonly staticCache = new Map<string, RenderedResponse>();
  private readonly tokenQueries = new Map<string, TokenEntry>();
  private readonly identityQueries = new Map<string, TokenEntry>();
  private readonly waiters = new Set<Waiter>();
  private readonly tokenOk: CounterSeries;
  private readonly identityOk: CounterSeries;
  private readonly debug: boolean;
  /** One head, reused: reading it is synchronous and finishes before the next request is handled. */
  private readonly head = emptyRequestHead();
  private closing = false;

  constructor(private readonly options: MetadataHandlerOptions) {
    this.tree = buildMetadataTree(options.values, options.scopes);
    this.allowedNames = [...DEFAULT_ALLOWED_HOSTS, ...options.allowedHosts].map((name) => name.toLowerCase());
    for (const name of this.allowedNames) this.allowedHosts.add(name);
    this.bearerDigest = options.bearerToken === undefined ? undefined : digest(options.bearerToken);
    this.tokenOk = options.metrics.requests("token", 200);
    this.identityOk = options.metrics.requests("identity", 200);
    this.debug = options.logger?.isLevelEnabled?.("debug") ?? false;
  }

  /** Accept `NAME:port` for every allowed name once the listening port is known. */
  allowPort(port: number): void {
    for (const name of this.allowedNames) this.allowedHosts.add(`${name}:${port}`);
  }

  /** Answer the long polls now and mark responses `Connection: close` (graceful shutdown). */
  beginShutdown(): void {
    this.closing = true;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.finish();
    }
    this.waiters.clear();
  }

  /** The `request` listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.closing) res.shouldKeepAlive = false;
    if (req.method !== "GET") {
      this.fail(res, REFUSED, 405, "Only GET requests are served.", ["Allow", "GET"]);
      return;
    }
    const head = readRequestHead(req.rawHeaders, this.head);
    if (head.count > this.options.maxHeadersCount) {
      res.shouldKeepAlive = false;
      this.fail(res, REFUSED, 431, `Requests may carry at most ${this.options.maxHeadersCount} headers.`);
      return;
    }
    if (head.hosts > 1) {
      res.shouldKeepAlive = false;
      this.fail(res, REFUSED, 400, "Bad request: more than one Host header.");
      return;
    }
    if (head.forwarded) {
      this.fail(
        res,
        REFUSED,
        403,
        "Requests with X-Forwarded-For or Forwarded are refused: the metadata server serves local clients only.",
      );
      return;
    }
    const host = head.host;
    if (host === undefined || !(this.allowedHosts.has(host) || this.allowedHosts.has(host.toLowerCase()))) {
      this.fail(res, REFUSED, 403, "The Host header is not in the metadata server's allowlist.");
      return;
    }
    if (head.body) {
      // The unread body would be parsed as the next request: answer and close the connection.
      res.shouldKeepAlive = false;
      this.fail(res, REFUSED, 413, "Request bodies are not accepted.");
      return;
    }
    if (this.bearerDigest !== undefined && !this.authorized(head.authorization)) {
      this.fail(res, REFUSED, 401, "This server requires Authorization: Bearer <token>.", [
        "WWW-Authenticate",
        "Bearer",
      ]);
      return;
    }
    const url = req.url ?? "/";
    if (url.length > MAX_URL_LENGTH) {
      this.fail(res, REFUSED, 414, "The request target is too long.");
      return;
    }
    const mark = url.indexOf("?");
    const path = mark < 0 ? url : url.slice(0, mark);
    const query = mark < 0 ? "" : url.slice(mark + 1);
    if (path.startsWith("/computeMetadata")) {
      if (head.flavor !== "Google") {
        this.fail(res, REFUSED, 403, "Missing required header: Metadata-Flavor: Google.");
        return;
      }
      // The default token path is what client libraries ask for; every other path (the token by email,
      // identity, values, directories) is found in the tree.
      if (path === DEFAULT_TOKEN_PATH) this.token(res, query);
      else this.metadata(res, path, query);
    } else if (path === "/") {
      this.send(res, "root", 200, ROOT_RESPONSE);
    } else {
      this.fail(res, "not_found", 404, "Not found.");
    }
    if (this.debug) this.options.logger?.debug({ method: "GET", path }, "request");
  };

  private authorized(header: string | undefined): boolean {
    if (header === undefined || !/^bearer /i.test(header)) return false;
    return timingSafeEqual(digest(header.slice(7).trim()), this.bearerDigest!);
  }

  private token(res: ServerResponse, query: string): void {
    let entry = query.length === 0 ? this.options.tokens.defaultEntry : this.tokenQueries.get(query);
    if (entry === undefined || entry.evicted) {
      let params: URLSearchParams;
      let scopes: string[];
      try {
        params = new URLSearchParams(query);
        const alt = params.get("alt");
        if (alt !== null && alt !== "json" && alt !== "text") {
          throw new BadRequestError("alt must be json or text");
        }
        refuseWaitForChange(params);
        // Clients send `scopes=a,b`; a repeated parameter is taken as more scopes.
        scopes = parseScopes(params.getAll("scopes").join(","));
      } catch (error) {
        this.badRequest(res, "token", error);
        return;
      }
      const tokens = this.options.tokens;
      entry = scopes.length === 0 ? tokens.defaultEntry : tokens.accessEntry(scopes);
      if (params.get("alt") === "text") {
        void this.tokenAsText(res, entry);
        return;
      }
      if (this.tokenQueries.size < QUERY_CACHE_LIMIT) this.tokenQueries.set(query, entry);
    }
    this.serveToken(res, "token", entry, this.tokenOk);
  }

  private identity(res: ServerResponse, query: string): void {
    let entry = this.identityQueries.get(query);
    if (entry === undefined || entry.evicted) {
      try {
        const params = new URLSearchParams(query);
        const audience = params.get("audience");
        if (audience === null || audience.length === 0) {
          throw new BadRequestError("non-empty audience parameter required");
        }
        const format = params.get("format") ?? "standard";
        if (format !== "standard" && format !== "full")
          throw new BadRequestError("format must be standard or full");
        const licenses = params.get("licenses");
        if (licenses !== null && !/^(true|false)$/i.test(licenses)) {
          throw new BadRequestError("licenses must be TRUE or FALSE");
        }
        refuseWaitForChange(params);
        // format=full is the one that carries the service account's email on GCE; the instance and license
        // claims of GCE tokens cannot be produced by IAM Credentials, so `licenses` is accepted and has no effect.
        entry = this.options.tokens.idEntry(audience, format === "full");
      } catch (error) {
        this.badRequest(res, "identity", error);
        return;
      }
      if (this.identityQueries.size < QUERY_CACHE_LIMIT) this.identityQueries.set(query, entry);
    }
    this.serveToken(res, "identity", entry, this.identityOk);
  }

  /**
   * Sends the entry's token. Within the second its response was rendered for (the hot path) the bytes are
   * written as they are; otherwise the credential is asked, which answers from its cache while it holds a
   * valid token, or makes the one upstream call everyone asking waits for.
   */
  private serveToken(res: ServerResponse, route: RouteLabel, entry: TokenEntry, ok: CounterSeries): void {
    const now = this.options.clock.now();
    if (entry.current(now)) {
      entry.hits.value++;
      res.writeHead(200, entry.headers);
      res.end(entry.body);
      ok.value++;
      return;
    }
    if (entry.holds(now)) entry.hits.value++;
    else entry.misses.value++;
    void this.fetchAndServe(res, route, entry, ok);
  }

  private async fetchAndServe(
    res: ServerResponse,
    route: RouteLabel,
    entry: TokenEntry,
    ok: CounterSeries,
  ): Promise<void> {
    let token: Token;
    try {
      token = await entry.fetch();
    } catch (error) {
      this.unavailable(res, route, entry.kind, error);
      return;
    }
    if (this.closing) res.shouldKeepAlive = false;
    if (entry.accept(token, this.options.clock.now())) {
      res.writeHead(200, entry.headers);
      res.end(entry.body);
      ok.value++;
      return;
    }
    this.unavailable(res, route, entry.kind, undefined);
  }

  private async tokenAsText(res: ServerResponse, entry: TokenEntry): Promise<void> {
    const clock = this.options.clock;
    if (entry.holds(clock.now())) entry.hits.value++;
    else entry.misses.value++;
    let token: Token;
    try {
      token = await entry.fetch();
    } catch (error) {
      this.unavailable(res, "token", entry.kind, error);
      return;
    }
    const now = clock.now();
    if (!servable(token, now, ACCESS_TOKEN_MIN_REMAINING_MS)) {
      this.unavailable(res, "token", entry.kind, undefined);
      return;
    }
    const seconds = Math.floor((token.expiresAt.getTime() - now) / 1000);
    const text = `access_token ${token.value}\nexpires_in ${seconds}\ntoken_type Bearer\n`;
    this.send(res, "token", 200, rendered(text, TEXT_CONTENT_TYPE));
  }

  /** 503: the credential could not produce a valid token (upstream failing, or a token too close to expiry). */
  private unavailable(res: ServerResponse, route: RouteLabel, kind: TokenKind, error: unknown): void {
    if (this.closing) res.shouldKeepAlive = false;
    const failure = describeFailure(error);
    const reason =
      failure !== undefined
        ? ` (${failure.code}: ${failure.message})`
        : error === undefined
          ? " (the credential returned a token that is malformed or about to expire)"
          : "";
    this.fail(
      res,
      route,
      503,
      `No valid ${kind === "access_token" ? "access" : "ID"} token is available${reason}. Retry later.`,
      // The next request asks the credential again; its cache decides whether that calls upstream.
      ["Retry-After", "1"],
    );
  }

  private metadata(res: ServerResponse, path: string, query: string): void {
    if (path === "/computeMetadata" || path === "/computeMetadata/v1") {
      this.redirect(res, path, query);
      return;
    }
    if (path === "/computeMetadata/") {
      this.send(res, "metadata", 200, VERSIONS_RESPONSE);
      return;
    }
    if (!path.startsWith(BASE)) {
      this.fail(res, "not_found", 404, "Not found.");
      return;
    }
    const rest = path.slice(BASE.length);
    const directoryRequest = rest.length === 0 || rest.endsWith("/");
    let segments: string[];
    try {
      const trimmed = directoryRequest ? rest.slice(0, -1) : rest;
      segments = trimmed.length === 0 ? [] : trimmed.split("/").map((segment) => decodeURIComponent(segment));
    } catch {
      this.fail(res, "metadata", 400, "The path is not valid percent-encoding.");
      return;
    }
    const node = lookup(this.tree, segments);
    if (node === undefined || (node.kind !== "dir" && directoryRequest)) {
      this.fail(res, "not_found", 404, "Not found.");
      return;
    }
    if (node.kind === "dir" && !directoryRequest) {
      this.redirect(res, path, query);
      return;
    }
    if (node.kind === "token") {
      this.token(res, query);
      return;
    }
    if (node.kind === "identity") {
      this.identity(res, query);
      return;
    }
    let params: StaticParams;
    try {
      params = this.parseStaticParams(query);
    } catch (error) {
      this.badRequest(res, "metadata", error);
      return;
    }
    const response = this.rendered(segments, node, params);
    if (params.wait && (params.lastEtag === null || params.lastEtag === response.etag)) {
      this.waitForChange(res, response, params.timeoutSec);
      return;
    }
    this.send(res, "metadata", 200, response);
  }

  private parseStaticParams(query: string): StaticParams {
    const params = new URLSearchParams(query);
    const bool = (name: string): boolean => {
      const value = params.get(name);
      if (value === null) return false;
      if (/^true$/i.test(value)) return true;
      if (/^false$/i.test(value)) return false;
      throw new BadRequestError(`${name} must be true or false`);
    };
    const alt = params.get("alt");
    if (alt !== null && alt !== "json" && alt !== "text")
      throw new BadRequestError("alt must be json or text");
    const timeout = params.get("timeout_sec");
    if (timeout !== null && !/^\d{1,9}$/.test(timeout))
      throw new BadRequestError("timeout_sec must be a whole number");
    return {
      recursive: bool("recursive"),
      alt: alt ?? undefined,
      wait: bool("wait_for_change"),
      lastEtag: params.get("last_etag"),
      timeoutSec: Math.min(
        MAX_WAIT_TIMEOUT_SEC,
        timeout === null ? DEFAULT_WAIT_TIMEOUT_SEC : Number(timeout),
      ),
    };
  }

  private rendered(segments: readonly string[], node: StaticNode, params: StaticParams): RenderedResponse {
    const key = `${segments.join("/")}\n${params.recursive}\n${params.alt}`;
    let response = this.staticCache.get(key);
    if (response === undefined) {
      response = renderNode(node, params);
      this.staticCache.set(key, response);
    }
    return response;
  }

  /**
   * The values served never change while the server runs, so a long poll is answered with the same value
   * when its timeout passes, as GCE does for a value that did not change.
   */
  private waitForChange(res: ServerResponse, response: RenderedResponse, timeoutSec: number): void {
    if (this.closing || timeoutSec === 0) {
      this.send(res, "metadata", 200, response);
      return;
    }
    if (this.waiters.size >= this.options.maxWaiters) {
      this.fail(res, "metadata", 429, "Too many wait_for_change requests are waiting.", ["Retry-After", "1"]);
      return;
    }
    const waiter: Waiter = {
      timer: setTimeout(() => waiter.finish(), timeoutSec * 1000),
      finish: () => {
        this.waiters.delete(waiter);
        if (this.closing) res.shouldKeepAlive = false;
        if (!res.writableEnded && !res.destroyed) this.send(res, "metadata", 200, response);
      },
    };
    this.waiters.add(waiter);
    res.on("close", () => {
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
    });
  }

  private redirect(res: ServerResponse, path: string, query: string): void {
    const location = `${path}/${query.length > 0 ? `?${query}` : ""}`;
    res.writeHead(301, [
      "Metadata-Flavor",
      "Google",
      "Location",
      location,
      "Content-Type",
      "text/html; charset=UTF-8",
      "Content-Length",
      "0",
    ]);
    res.end();
    this.options.metrics.requests("metadata", 301).value++;
  }

  private send(res: ServerResponse, route: RouteLabel, status: number, response: RenderedResponse): void {
    res.writeHead(status, response.headers);
    res.end(response.body);
    this.options.metrics.requests(route, status).value++;
  }

  private badRequest(res: ServerResponse, route: RouteLabel, error: unknown): void {
    const message = error instanceof BadRequestError ? error.message : "the query string is not valid";
    this.fail(res, route, 400, `Bad request: ${message}.`);
  }

  /** Error responses: plain text, and Metadata-Flavor like every other response (clients check it). */
  private fail(
    res: ServerResponse,
    route: RouteLabel,
    status: number,
    message: string,
    extra: string[] = [],
  ): void {
    const body = Buffer.from(`${message}\n`);
    res.writeHead(status, [
      "Metadata-Flavor",
      "Google",
      "Content-Type",
      "text/plain; charset=utf-8",
      "Content-Length",
      String(body.length),
      ...extra,
    ]);
    res.end(body);
    this.options.metrics.requests(route, status).value++;
  }
}
