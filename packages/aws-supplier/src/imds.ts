import { type Clock, SourceUnavailableError, systemClock, WifError } from "@wifkit/core";
import { describeUrl, type HttpResponse, type HttpTransport, httpRequest } from "@wifkit/http";
import { checkCredentials, describeFailure, environmentOf, parseExpiration, readEnv } from "./internal.js";
import type { AwsCredentialProvider, AwsSourceInit } from "./types.js";

/** The EC2 instance metadata service (IPv4). `AWS_EC2_METADATA_SERVICE_ENDPOINT` overrides it. */
export const DEFAULT_IMDS_ENDPOINT = "http://169.254.169.254";
/** The IPv6 address of IMDS, used when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`. */
export const DEFAULT_IMDS_IPV6_ENDPOINT = "http://[fd00:ec2::254]";
/** Per-attempt timeout for IMDS: it answers in milliseconds on EC2, and off EC2 waiting longer only delays the error. */
export const DEFAULT_IMDS_TIMEOUT_MS = 1000;
/** Attempts after the first for transient IMDS failures (5xx, 429, resets, refused connections). */
export const DEFAULT_IMDS_RETRIES = 1;
/** Lifetime requested for IMDSv2 session tokens, what the AWS SDKs use. */
export const DEFAULT_IMDS_TOKEN_TTL_SECONDS = 300;
/** A session token is replaced this long before its TTL runs out. */
export const IMDS_TOKEN_REFRESH_BEFORE_MS = 30_000;

const TOKEN_PATH = "/latest/api/token";
const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials";
const REGION_PATH = "/latest/meta-data/placement/region";
const AVAILABILITY_ZONE_PATH = "/latest/meta-data/placement/availability-zone";

/** Where the instance metadata lives. Each URL, when given, wins over `endpoint` and the environment. */
export interface InstanceMetadataUrls {
  /**
   * Base URL of IMDS. Default: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `DEFAULT_IMDS_IPV6_ENDPOINT` when
   * `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`, else `DEFAULT_IMDS_ENDPOINT`.
   */
  endpoint?: string;
  /** The credential config's `url`: lists the instance role, and serves its credentials under `/ROLE`. */
  credentialsUrl?: string;
  /** The credential config's `region_url`: the availability-zone URL. */
  regionUrl?: string;
  /**
   * The credential config's `imdsv2_session_token_url`. When set (or when `AWS_EC2_METADATA_V1_DISABLED=true`),
   * IMDSv2 is required: a failing token request is an error instead of a fallback to IMDSv1.
   */
  sessionTokenUrl?: string;
}

export interface InstanceMetadataInit extends AwsSourceInit, InstanceMetadataUrls {
  /** Attempts after the first for transient failures. Default `DEFAULT_IMDS_RETRIES`. */
  retries?: number;
}

/** IMDS did not answer at all: the process is not on EC2 (or cannot reach its metadata service). */
export class ImdsUnreachableError extends SourceUnavailableError {
  /** A short reason for summaries: "ECONNREFUSED", "timed out after 1000 ms", "turned off by ...". */
  readonly reason: string;
  constructor(message: string, reason: string, options: { cause?: unknown; url?: string } = {}) {
    super(message, { ...options, code: "ERR_WIF_AWS_IMDS_UNREACHABLE" });
    this.reason = reason;
  }
}

interface RequestOptions {
  signal?: AbortSignal | undefined;
}

/**
 * One conversation with IMDS: the IMDSv2 session token is fetched once, shared by every lookup (region
 * and credentials) and replaced shortly before its TTL; IMDSv1 is used only when v2 is unavailable and
 * the configuration did not ask for v2.
 */
export class InstanceMetadataClient {
  readonly endpoint: string;
  readonly credentialsUrl: string;
  readonly regionUrl: string | undefined;
  readonly sessionTokenUrl: string;
  private readonly requireV2: boolean;
  private readonly transport: HttpTransport | undefined;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly disabledByEnv: boolean;
  private session: { token: string; refreshAt: number } | undefined;
  private sessionInflight: Promise<string | undefined> | undefined;
  /** Set once v2 proved unavailable; cleared when IMDS later demands a token (401). */
  private useV1 = false;
  private reachable = false;

  constructor(init: InstanceMetadataInit = {}) {
    const env = environmentOf(init.env);
    const ipv6 = readEnv(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")?.toLowerCase() === "ipv6";
    this.endpoint = trimSlash(
      init.endpoint ??
        readEnv(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT") ??
        (ipv6 ? DEFAULT_IMDS_IPV6_ENDPOINT : DEFAULT_IMDS_ENDPOINT),
    );
    this.credentialsUrl = init.credentialsUrl ?? `${this.endpoint}${CREDENTIALS_PATH}`;
    this.regionUrl = init.regionUrl;
    this.sessionTokenUrl = init.sessionTokenUrl ?? `${this.endpoint}${TOKEN_PATH}`;
    this.requireV2 =
      init.sessionTokenUrl !== undefined ||
      readEnv(env, "AWS_EC2_METADATA_V1_DISABLED")?.toLowerCase() === "true";
    this.transport = init.transport;
    this.clock = init.clock ?? systemClock;
    this.timeoutMs = init.timeoutMs ?? DEFAULT_IMDS_TIMEOUT_MS;
    this.retries = init.retries ?? DEFAULT_IMDS_RETRIES;
    this.disabledByEnv = readEnv(env, "AWS_EC2_METADATA_DISABLED")?.toLowerCase() === "true";
  }

  /** Where IMDS is, as it may appear in messages. */
  describe(): string {
    return describeUrl(this.credentialsUrl).replace(/\/latest\/.*$/, "");
  }

  /**
   * GETs one metadata path and returns the response (status 200 or 404; the caller decides what a 404
   * means). 401, 403 and other statuses become specific errors.
   */
  async get(url: string, what: string, options: RequestOptions): Promise<HttpResponse> {
    if (this.disabledByEnv) {
      throw new ImdsUnreachableError(
        "EC2 instance metadata is turned off by AWS_EC2_METADATA_DISABLED=true.",
        "turned off by AWS_EC2_METADATA_DISABLED",
      );
    }
    let token = await this.sessionToken(options);
    let response = await this.send(url, "GET", what, token, options);
    if (response.status === 401) {
      // The token expired early or IMDS was switched to "v2 required" since we chose v1: fetch a fresh
      // token once and try again.
      this.session = undefined;
      this.useV1 = false;
      token = await this.sessionToken(options);
      if (token !== undefined) response = await this.send(url, "GET", what, token, options);
    }
    if (response.status === 200 || response.status === 404) return response;
    throw this.statusError(response, url, what, token !== undefined);
  }

  private async sessionToken(options: RequestOptions): Promise<string | undefined> {
    if (this.useV1) return undefined;
    if (this.session && this.clock.now() < this.session.refreshAt) return this.session.token;
    this.sessionInflight ??= this.fetchSessionToken(options).finally(() => {
      this.sessionInflight = undefined;
    });
    return this.sessionInflight;
  }

  private async fetchSessionToken(options: RequestOptions): Promise<string | undefined> {
    const fetchedAt = this.clock.now();
    const response = await this.send(this.sessionTokenUrl, "PUT", "IMDSv2 session token", undefined, options);
    if (response.status === 200) {
      const token = response.body.toString("utf8").trim();
      if (token) {
        const ttlMs = DEFAULT_IMDS_TOKEN_TTL_SECONDS * 1000;
        this.session = {
          token,
          refreshAt: fetchedAt + ttlMs - Math.min(IMDS_TOKEN_REFRESH_BEFORE_MS, ttlMs / 2),
        };
        return token;
      }
    }
    const v2Unavailable = response.status === 403 || response.status === 404 || response.status === 405;
    if (v2Unavailable && !this.requireV2) {
      this.useV1 = true;
      return undefined;
    }
    // With v1 ruled out, a 403 on the token request is IMDS being turned off: say so, as a GET's 403 would.
    if (response.status === 403)
      throw this.statusError(response, this.sessionTokenUrl, "IMDSv2 session token", false);
    throw new WifError(
      `Fetching an IMDSv2 session token (PUT ${describeUrl(this.sessionTokenUrl)}) failed with HTTP ${response.status}` +
        (this.requireV2
          ? "; IMDSv1 is not used because the credential configuration sets imdsv2_session_token_url " +
            "(or AWS_EC2_METADATA_V1_DISABLED=true). " +
            "Check that the instance metadata service is enabled and reachable from this process."
          : ". Check the instance's metadata options (HttpEndpoint, HttpPutResponseHopLimit)."),
      {
        code: "ERR_WIF_AWS_IMDS_SESSION_TOKEN_FAILED",
        status: response.status,
        url: describeUrl(this.sessionTokenUrl),
      },
    );
  }

  private async send(
    url: string,
    method: "GET" | "PUT",
    what: string,
    token: string | undefined,
    options: RequestOptions,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> =
      method === "PUT"
        ? { "x-aws-ec2-metadata-token-ttl-seconds": String(DEFAULT_IMDS_TOKEN_TTL_SECONDS) }
        : token === undefined
          ? {}
          : { "x-aws-ec2-metadata-token": token };
    try {
      const response = await httpRequest({
        url,
        method,
        headers,
        timeoutMs: this.timeoutMs,
        // The total budget equals one attempt's timeout: a quick refusal or 5xx is retried once, a host
        // that does not answer at all is not waited on twice.
        retry: { retries: this.retries, baseDelayMs: 50, maxDelayMs: 200, totalTimeoutMs: this.timeoutMs },
        operation: `EC2 instance metadata (${what})`,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(this.transport ? { transport: this.transport } : {}),
      });
      this.reachable = true;
      return response;
    } catch (error) {
      const unanswered =
        error instanceof WifError && (error.code === "ERR_WIF_NETWORK" || error.code === "ERR_WIF_TIMEOUT");
      if (!unanswered || this.reachable) throw error;
      const failure = describeFailure(error);
      const reason = failure === "timed out" ? `timed out after ${this.timeoutMs} ms` : failure;
      throw new ImdsUnreachableError(
        `EC2 instance metadata at ${this.describe()} did not answer (${reason}): not on EC2, or a container ` +
          "on EC2 whose metadata hop limit is 1 (raise HttpPutResponseHopLimit to 2).",
        reason,
        { cause: error, url: describeUrl(url) },
      );
    }
  }

  private statusError(response: HttpResponse, url: string, what: string, usedToken: boolean): WifError {
    const where = describeUrl(url);
    const common = { status: response.status, url: where };
    if (response.status === 401) {
      return new WifError(
        `EC2 instance metadata refused the ${what} request at ${where} with HTTP 401: ` +
          (usedToken
            ? "the IMDSv2 session token was rejected even after fetching a new one. Check for a proxy rewriting requests."
            : "the instance requires IMDSv2 session tokens, and none could be fetched."),
        { code: "ERR_WIF_AWS_IMDS_UNAUTHORIZED", ...common },
      );
    }
    if (response.status === 403) {
      return new WifError(
        `EC2 instance metadata refused the ${what} request at ${where} with HTTP 403: the instance metadata ` +
          "service is turned off for this instance. Enable it (instance metadata options: HttpEndpoint=enabled).",
        { code: "ERR_WIF_AWS_IMDS_DISABLED", ...common },
      );
    }
    return new WifError(
      `EC2 instance metadata answered the ${what} request at ${where} with HTTP ${response.status}.`,
      {
        code: "ERR_WIF_AWS_IMDS_FAILED",
        retryable: response.status === 429 || response.status >= 500,
        ...common,
      },
    );
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Reads the instance role's temporary credentials through `client`. */
export async function instanceMetadataCredentials(
  client: InstanceMetadataClient,
  clock: Clock,
  options: RequestOptions,
) {
  const listUrl = trimSlash(client.credentialsUrl);
  const listing = await client.get(listUrl, "IAM role name", options);
  const roleName =
    listing.status === 200 ? listing.body.toString("utf8").trim().split(/\r?\n/)[0]?.trim() : "";
  if (!roleName) {
    throw new WifError(
      `No IAM role is attached to this EC2 instance (${describeUrl(listUrl)} answered ` +
        `${listing.status === 404 ? "HTTP 404" : "with no role name"}). Attach an instance profile with a role.`,
      { code: "ERR_WIF_AWS_IMDS_NO_ROLE", status: listing.status, url: describeUrl(listUrl) },
    );
  }
  const roleUrl = `${listUrl}/${encodeURIComponent(roleName)}`;
  const response = await client.get(roleUrl, "IAM role credentials", options);
  if (response.status === 404) {
    throw new WifError(
      `EC2 instance metadata has no credentials for role ${roleName} (HTTP 404 at ${describeUrl(roleUrl)}); ` +
        "the instance profile may have just changed, try again shortly.",
      { code: "ERR_WIF_AWS_IMDS_NO_ROLE", status: 404, url: describeUrl(roleUrl), retryable: true },
    );
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;
  } catch (cause) {
    throw new WifError(
      `EC2 instance metadata at ${describeUrl(roleUrl)} returned credentials that are not JSON.`,
      {
        code: "ERR_WIF_AWS_IMDS_FAILED",
        status: response.status,
        url: describeUrl(roleUrl),
        cause,
      },
    );
  }
  if (body.Code !== undefined && body.Code !== "Success") {
    throw new WifError(
      `EC2 instance metadata could not provide credentials for role ${roleName}: Code ${String(body.Code)}.`,
      {
        code: "ERR_WIF_AWS_IMDS_FAILED",
        status: response.status,
        url: describeUrl(roleUrl),
        upstreamError: String(body.Code),
        upstreamDescription: typeof body.Message === "string" ? body.Message : undefined,
      },
    );
  }
  const where = `EC2 instance metadata at ${describeUrl(roleUrl)}`;
  return checkCredentials(
    {
      accessKeyId: body.AccessKeyId,
      secretAccessKey: body.SecretAccessKey,
      sessionToken: body.Token,
      expiration: parseExpiration(body.Expiration, where),
    },
    where,
    clock,
  );
}

/**
 * The region from IMDS: `placement/region`, else the availability zone minus its last letter. With a
 * configured `regionUrl` (the credential config's availability-zone URL) the sibling `placement/region`
 * is tried first, because stripping a letter is wrong for Local Zones (`us-west-2-lax-1a`).
 */
export async function instanceMetadataRegion(
  client: InstanceMetadataClient,
  options: RequestOptions,
): Promise<string> {
  const zoneUrl = client.regionUrl ?? `${client.endpoint}${AVAILABILITY_ZONE_PATH}`;
  const regionUrl =
    client.regionUrl === undefined
      ? `${client.endpoint}${REGION_PATH}`
      : /\/placement\/availability-zone\/?$/.test(client.regionUrl)
        ? client.regionUrl.replace(/\/placement\/availability-zone\/?$/, "/placement/region")
        : undefined;
  if (regionUrl) {
    const response = await client.get(regionUrl, "region", options);
    const region = response.status === 200 ? response.body.toString("utf8").trim() : "";
    if (region) return region;
  }
  const response = await client.get(zoneUrl, "availability zone", options);
  const zone = response.status === 200 ? response.body.toString("utf8").trim() : "";
  if (!/^[a-z0-9-]+[a-z]$/.test(zone)) {
    throw new WifError(
      `EC2 instance metadata did not give an availability zone at ${describeUrl(zoneUrl)} ` +
        `(HTTP ${response.status}). Set AWS_REGION.`,
      { code: "ERR_WIF_AWS_REGION_UNKNOWN", status: response.status, url: describeUrl(zoneUrl) },
    );
  }
  return zone.slice(0, -1);
}

/**
 * AWS credentials of the EC2 instance role, from the instance metadata service: IMDSv2 session token
 * (fetched once and reused), then the role name, then its temporary credentials, cached until shortly
 * before they expire by `defaultAwsCredentials` / `fromAws`.
 *
 * Throws `SourceUnavailableError` (`ERR_WIF_AWS_IMDS_UNREACHABLE`) quickly when IMDS does not answer
 * (not on EC2), and specific errors for 401 (`ERR_WIF_AWS_IMDS_UNAUTHORIZED`), 403
 * (`ERR_WIF_AWS_IMDS_DISABLED`) and 404 (`ERR_WIF_AWS_IMDS_NO_ROLE`).
 *
 * @example
 * const credentials = await fromInstanceMetadata({ sessionTokenUrl: "http://169.254.169.254/latest/api/token" })();
 */
export function fromInstanceMetadata(init: InstanceMetadataInit = {}): AwsCredentialProvider {
  return instanceMetadataProvider(new InstanceMetadataClient(init), init.clock ?? systemClock);
}

/** The IMDS credential source over an existing client, so region and credentials share one session token. */
export function instanceMetadataProvider(
  client: InstanceMetadataClient,
  clock: Clock,
): AwsCredentialProvider {
  return (options) => instanceMetadataCredentials(client, clock, { signal: options?.signal });
}
