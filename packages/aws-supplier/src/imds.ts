import {
  type Clock,
  type MemoizedProvider,
  memoize,
  SourceUnavailableError,
  systemClock,
  WifError,
} from "@wifkit/core";
import { describeUrl, HTTP_ERROR_CODES, type HttpResponse, httpRequest } from "@wifkit/http";
import { AWS_ERROR_CODES } from "./errors.js";
import {
  checkCredentials,
  describeFailure,
  environmentOf,
  httpSeams,
  parseExpiration,
  readEnv,
} from "./internal.js";
import type { AwsCredentialProvider, AwsSourceInit } from "./types.js";

/** The EC2 instance metadata service (IPv4). `AWS_EC2_METADATA_SERVICE_ENDPOINT` overrides it. */
export const DEFAULT_AWS_IMDS_ENDPOINT = "http://169.254.169.254";
/** The IPv6 address of IMDS, used when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`. */
export const DEFAULT_AWS_IMDS_IPV6_ENDPOINT = "http://[fd00:ec2::254]";
/** Per-attempt timeout for IMDS: it answers in milliseconds on EC2, and off EC2 waiting longer only delays the error. */
export const DEFAULT_AWS_IMDS_TIMEOUT_MS = 1000;
/** Attempts after the first for transient IMDS failures (5xx, 429, resets, refused connections). */
export const DEFAULT_AWS_IMDS_RETRIES = 1;
/** Lifetime requested for IMDSv2 session tokens, what the AWS SDKs use. */
export const DEFAULT_AWS_IMDS_TOKEN_TTL_SECONDS = 300;
/** A session token is replaced this long before its TTL runs out. */
export const AWS_IMDS_TOKEN_REFRESH_BEFORE_MS = 30_000;

const TOKEN_PATH = "/latest/api/token";
const CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials";
const REGION_PATH = "/latest/meta-data/placement/region";
const AVAILABILITY_ZONE_PATH = "/latest/meta-data/placement/availability-zone";

/** What IMDS's plain-text answers look like: a session token, an IAM role name, a region or zone name. */
const SESSION_TOKEN = /^[\x21-\x7e]{1,4096}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,128}$/;
const REGION_NAME = /^[a-z0-9-]+$/;
const ZONE_NAME = /^[a-z0-9-]+[a-z]$/;

/** Where the instance metadata lives. Each URL, when given, wins over `endpoint` and the environment. */
export interface InstanceMetadataUrls {
  /**
   * Base URL of IMDS. Default: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the origin of the URLs below, else
   * `DEFAULT_AWS_IMDS_IPV6_ENDPOINT` when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`, else
   * `DEFAULT_AWS_IMDS_ENDPOINT`.
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
  /** Attempts after the first for transient failures. Default `DEFAULT_AWS_IMDS_RETRIES`. */
  retries?: number;
}

/**
 * IMDS is not there: nothing answered (not on EC2, or a container whose hop limit is 1), or what answered is
 * not EC2's metadata service (another cloud's). A `SourceUnavailableError`, so a chain moves on.
 */
export class ImdsUnavailableError extends SourceUnavailableError {
  /** A short reason for summaries: "ECONNREFUSED", "timed out after 1000 ms", "HTTP 404 at /latest/api/token". */
  readonly reason: string;
  constructor(
    message: string,
    reason: string,
    options: { code: string; cause?: unknown; url?: string; status?: number },
  ) {
    super(message, options);
    this.reason = reason;
  }
}

interface Session {
  /** Undefined once IMDSv2 proved unavailable and IMDSv1 is allowed. */
  token: string | undefined;
  expiresAt: Date | undefined;
}

interface RequestOptions {
  signal?: AbortSignal | undefined;
}

/**
 * One conversation with IMDS: the IMDSv2 session token is fetched once (core's `memoize`), shared by every
 * lookup (region and credentials) and replaced shortly before its TTL; IMDSv1 is used only when v2 is
 * unavailable and the configuration did not ask for v2. Until IMDS has answered as EC2's metadata service
 * does, a 400 or 404 on its paths, or a body that is not IMDS's, means another cloud's metadata server (or
 * something else) is at the address: "not here", never "this EC2 instance has no role".
 */
export class InstanceMetadataClient {
  readonly endpoint: string;
  readonly credentialsUrl: string;
  readonly regionUrl: string | undefined;
  readonly sessionTokenUrl: string;
  private readonly requireV2: boolean;
  /**
   * A credential configuration that names IMDS but not `imdsv2_session_token_url` asks for IMDSv1, as
   * Google's libraries read it: no session token until IMDS refuses a request without one (401, an instance
   * that requires IMDSv2), then IMDSv2 from there on. Without a configuration, IMDSv2 first, as the AWS SDKs.
   */
  private v1First: boolean;
  private readonly init: InstanceMetadataInit;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly disabledByEnv: boolean;
  private readonly session: MemoizedProvider<Session>;
  /** Something answered HTTP at the address: later network failures are errors, not "not on EC2". */
  private reachable = false;
  /** It answered as EC2's IMDS does: from now on a 404 means what IMDS means by it. */
  private confirmed = false;
  /** Why IMDS was last found not to be here, for the chain's summary. */
  lastUnavailable: ImdsUnavailableError | undefined;

  constructor(init: InstanceMetadataInit = {}) {
    const env = environmentOf(init.env);
    const ipv6 = readEnv(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")?.toLowerCase() === "ipv6";
    // A credential config's URLs name the metadata server: its session token comes from the same origin.
    const configured = init.credentialsUrl ?? init.regionUrl ?? init.sessionTokenUrl;
    this.endpoint = trimSlash(
      init.endpoint ??
        readEnv(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT") ??
        (configured !== undefined && URL.canParse(configured) ? new URL(configured).origin : undefined) ??
        (ipv6 ? DEFAULT_AWS_IMDS_IPV6_ENDPOINT : DEFAULT_AWS_IMDS_ENDPOINT),
    );
    this.credentialsUrl = init.credentialsUrl ?? `${this.endpoint}${CREDENTIALS_PATH}`;
    this.regionUrl = init.regionUrl;
    this.sessionTokenUrl = init.sessionTokenUrl ?? `${this.endpoint}${TOKEN_PATH}`;
    this.requireV2 =
      init.sessionTokenUrl !== undefined ||
      readEnv(env, "AWS_EC2_METADATA_V1_DISABLED")?.toLowerCase() === "true";
    this.v1First = !this.requireV2 && (init.credentialsUrl !== undefined || init.regionUrl !== undefined);
    this.init = init;
    this.clock = init.clock ?? systemClock;
    this.timeoutMs = init.timeoutMs ?? DEFAULT_AWS_IMDS_TIMEOUT_MS;
    this.disabledByEnv = readEnv(env, "AWS_EC2_METADATA_DISABLED")?.toLowerCase() === "true";
    this.session = memoize((options) => this.fetchSessionToken(options ?? {}), {
      clock: this.clock,
      ...(init.sleep ? { sleep: init.sleep } : {}),
      // A v1 session (no token) lasts until IMDS asks for a token again (401).
      expiresAt: (session) => session.expiresAt,
      refreshBeforeMs: AWS_IMDS_TOKEN_REFRESH_BEFORE_MS,
      // Failures are remembered by the credential cache above; here the next lookup may try at once.
      retryBackoffMs: 0,
    });
  }

  /** Where IMDS is, as it may appear in messages. */
  describe(): string {
    return describeUrl(this.credentialsUrl).replace(/\/latest\/.*$/, "");
  }

  /**
   * GETs one metadata path. Returns a 200 whose body passes `looksLikeImds` (or a 404 once IMDS is
   * confirmed: the caller decides what it means); 401, 403 and other statuses become specific errors, and an
   * answer that is not IMDS's from a server not yet confirmed becomes "not here".
   */
  async get(
    url: string,
    what: string,
    looksLikeImds: (body: string) => boolean,
    options: RequestOptions,
    { optional = false }: { optional?: boolean } = {},
  ): Promise<HttpResponse> {
    if (this.disabledByEnv) {
      throw this.unavailable(
        "EC2 instance metadata is turned off by AWS_EC2_METADATA_DISABLED=true.",
        "turned off by AWS_EC2_METADATA_DISABLED",
        { code: AWS_ERROR_CODES.imdsUnreachable },
      );
    }
    const signal = options.signal ? { signal: options.signal } : {};
    let { token } = await this.session(signal);
    let response = await this.send(url, "GET", what, token, options);
    if (response.status === 401) {
      // The token expired early or IMDS requires v2 (or was switched to it since we chose v1): fetch a
      // fresh token once and try again.
      this.v1First = false;
      this.session.invalidate();
      ({ token } = await this.session(signal));
      if (token !== undefined) response = await this.send(url, "GET", what, token, options);
    }
    if (response.status === 200 && looksLikeImds(response.body.toString("utf8").trim())) {
      this.confirmed = true;
      return response;
    }
    // A path older instances lack (placement/region) may 404 before anything confirmed IMDS: the caller
    // asks next for one every instance has, which decides.
    if (optional && response.status === 404) return response;
    if (!this.confirmed && [200, 400, 404].includes(response.status)) throw this.notImds(response, url);
    if (response.status === 200 || response.status === 404) return response;
    throw this.statusError(response, url, what, token !== undefined);
  }

  private async fetchSessionToken(options: RequestOptions): Promise<Session> {
    if (this.v1First) return { token: undefined, expiresAt: undefined };
    const fetchedAt = this.clock.now();
    const url = this.sessionTokenUrl;
    const response = await this.send(url, "PUT", "IMDSv2 session token", undefined, options);
    const token = response.status === 200 ? response.body.toString("utf8").trim() : "";
    if (SESSION_TOKEN.test(token)) {
      this.confirmed = true;
      return { token, expiresAt: new Date(fetchedAt + DEFAULT_AWS_IMDS_TOKEN_TTL_SECONDS * 1000) };
    }
    const v2Unavailable = response.status === 403 || response.status === 404 || response.status === 405;
    if (v2Unavailable && !this.requireV2) return { token: undefined, expiresAt: undefined };
    if (!this.confirmed && [200, 400, 404].includes(response.status)) throw this.notImds(response, url);
    // With v1 ruled out, a 403 on the token request is IMDS being turned off: say so, as a GET's 403 would.
    if (response.status === 403) throw this.statusError(response, url, "IMDSv2 session token", false);
    throw new WifError(
      `Fetching an IMDSv2 session token (PUT ${describeUrl(url)}) failed with HTTP ${response.status}` +
        (this.requireV2
          ? "; IMDSv1 is not used because the credential configuration sets imdsv2_session_token_url " +
            "(or AWS_EC2_METADATA_V1_DISABLED=true). " +
            "Check that the instance metadata service is enabled and reachable from this process."
          : ". Check the instance's metadata options (HttpEndpoint, HttpPutResponseHopLimit)."),
      { code: AWS_ERROR_CODES.imdsSessionTokenFailed, status: response.status, url: describeUrl(url) },
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
        ? { "x-aws-ec2-metadata-token-ttl-seconds": String(DEFAULT_AWS_IMDS_TOKEN_TTL_SECONDS) }
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
        retry: {
          retries: this.init.retries ?? DEFAULT_AWS_IMDS_RETRIES,
          baseDelayMs: 50,
          maxDelayMs: 200,
          totalTimeoutMs: this.timeoutMs,
        },
        operation: `EC2 instance metadata (${what})`,
        ...httpSeams(this.init, options.signal),
      });
      this.reachable = true;
      return response;
    } catch (error) {
      const unanswered =
        error instanceof WifError &&
        (error.code === HTTP_ERROR_CODES.network || error.code === HTTP_ERROR_CODES.timeout);
      if (!unanswered || this.reachable) throw error;
      const failure = describeFailure(error);
      const reason = failure === "timed out" ? `timed out after ${this.timeoutMs} ms` : failure;
      throw this.unavailable(
        `EC2 instance metadata at ${this.describe()} did not answer (${reason}): not on EC2, or a container ` +
          "on EC2 whose metadata hop limit is 1 (raise HttpPutResponseHopLimit to 2).",
        reason,
        { code: AWS_ERROR_CODES.imdsUnreachable, cause: error, url: describeUrl(url) },
      );
    }
  }

  private unavailable(...args: ConstructorParameters<typeof ImdsUnavailableError>): ImdsUnavailableError {
    this.lastUnavailable = new ImdsUnavailableError(...args);
    return this.lastUnavailable;
  }

  private notImds(response: HttpResponse, url: string): ImdsUnavailableError {
    const where = describeUrl(url);
    const reason = `HTTP ${response.status} at ${new URL(url).pathname}, not an EC2 instance metadata answer`;
    return this.unavailable(
      `Something answered at the EC2 instance metadata address ${this.describe()} (${reason}): this is not ` +
        "EC2, another cloud's metadata server or another service is there.",
      reason,
      { code: AWS_ERROR_CODES.notImds, status: response.status, url: where },
    );
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
        { code: AWS_ERROR_CODES.imdsUnauthorized, ...common },
      );
    }
    if (response.status === 403) {
      return new WifError(
        `EC2 instance metadata refused the ${what} request at ${where} with HTTP 403: the instance metadata ` +
          "service is turned off for this instance. Enable it (instance metadata options: HttpEndpoint=enabled).",
        { code: AWS_ERROR_CODES.imdsDisabled, ...common },
      );
    }
    return new WifError(
      `EC2 instance metadata answered the ${what} request at ${where} with HTTP ${response.status}.`,
      {
        code: AWS_ERROR_CODES.imdsFailed,
        retryable: response.status === 429 || response.status >= 500,
        ...common,
      },
    );
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

const firstLine = (body: string) => body.split(/\r?\n/)[0]?.trim() ?? "";

/** Reads the instance role's temporary credentials through `client`. */
async function instanceMetadataCredentials(
  client: InstanceMetadataClient,
  clock: Clock,
  options: RequestOptions,
) {
  const listUrl = trimSlash(client.credentialsUrl);
  const listing = await client.get(
    listUrl,
    "IAM role name",
    (body) => ROLE_NAME.test(firstLine(body)),
    options,
  );
  const roleName = listing.status === 200 ? firstLine(listing.body.toString("utf8")) : "";
  if (!roleName) {
    throw new WifError(
      `No IAM role is attached to this EC2 instance (${describeUrl(listUrl)} answered HTTP ${listing.status}). ` +
        "Attach an instance profile with a role.",
      { code: AWS_ERROR_CODES.imdsNoRole, status: listing.status, url: describeUrl(listUrl) },
    );
  }
  const roleUrl = `${listUrl}/${encodeURIComponent(roleName)}`;
  const response = await client.get(roleUrl, "IAM role credentials", () => true, options);
  if (response.status === 404) {
    throw new WifError(
      `EC2 instance metadata has no credentials for role ${roleName} (HTTP 404 at ${describeUrl(roleUrl)}); ` +
        "the instance profile may have just changed, try again shortly.",
      { code: AWS_ERROR_CODES.imdsNoRole, status: 404, url: describeUrl(roleUrl), retryable: true },
    );
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;
  } catch (cause) {
    throw new WifError(
      `EC2 instance metadata at ${describeUrl(roleUrl)} returned credentials that are not JSON.`,
      { code: AWS_ERROR_CODES.imdsFailed, status: response.status, url: describeUrl(roleUrl), cause },
    );
  }
  if (body.Code !== undefined && body.Code !== "Success") {
    throw new WifError(
      `EC2 instance metadata could not provide credentials for role ${roleName}: Code ${String(body.Code)}.`,
      {
        code: AWS_ERROR_CODES.imdsFailed,
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
 * is tried first, because stripping a letter is wrong for Local Zones (`us-west-2-lax-1a`). Throws
 * `SourceUnavailableError` when IMDS is not there, like the credential source.
 */
export async function instanceMetadataRegion(
  client: InstanceMetadataClient,
  options: RequestOptions = {},
): Promise<string> {
  const zoneUrl = client.regionUrl ?? `${client.endpoint}${AVAILABILITY_ZONE_PATH}`;
  const regionUrl =
    client.regionUrl === undefined
      ? `${client.endpoint}${REGION_PATH}`
      : /\/placement\/availability-zone\/?$/.test(client.regionUrl)
        ? client.regionUrl.replace(/\/placement\/availability-zone\/?$/, "/placement/region")
        : undefined;
  if (regionUrl) {
    const response = await client.get(regionUrl, "region", (body) => REGION_NAME.test(body), options, {
      optional: true,
    });
    if (response.status === 200) return response.body.toString("utf8").trim();
  }
  const response = await client.get(zoneUrl, "availability zone", (body) => ZONE_NAME.test(body), options);
  const zone = response.status === 200 ? response.body.toString("utf8").trim() : "";
  if (!ZONE_NAME.test(zone)) {
    throw new WifError(
      `EC2 instance metadata did not give an availability zone at ${describeUrl(zoneUrl)} ` +
        `(HTTP ${response.status}). Set AWS_REGION.`,
      { code: AWS_ERROR_CODES.regionUnknown, status: response.status, url: describeUrl(zoneUrl) },
    );
  }
  return zone.slice(0, -1);
}

/**
 * AWS credentials of the EC2 instance role, from the instance metadata service: IMDSv2 session token
 * (fetched once and reused), then the role name, then its temporary credentials, cached until shortly
 * before they expire by `defaultAwsCredentials` / `fromAws`.
 *
 * Throws `SourceUnavailableError` quickly when IMDS does not answer (`ERR_WIF_AWS_IMDS_UNREACHABLE`: not on
 * EC2) or what answers is not EC2's IMDS (`ERR_WIF_AWS_NOT_IMDS`: e.g. another cloud's metadata server), and
 * specific errors for 401 (`ERR_WIF_AWS_IMDS_UNAUTHORIZED`), 403 (`ERR_WIF_AWS_IMDS_DISABLED`) and an
 * instance without a role (`ERR_WIF_AWS_IMDS_NO_ROLE`).
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
