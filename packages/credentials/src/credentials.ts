/**
 * The external-account credential: subject token supplier -> Google STS -> optional service account
 * impersonation -> token cache. Everything a Google client library's external-account client does, with
 * the edges (transport, clock, environment) injectable and every token cached single-flight.
 */
import {
  type Clock,
  CORE_ERROR_CODES,
  DEFAULT_UNIVERSE_DOMAIN,
  invalidOption,
  type MemoizeOptions,
  memoize,
  type ProviderOptions,
  type RefreshErrorEvent,
  type RefreshEvent,
  type Sleep,
  type SubjectToken,
  type SubjectTokenSupplier,
  type SubjectTokenType,
  systemClock,
  type Token,
  WifError,
} from "@wifkit/core";
import {
  createTransport,
  DEFAULT_TIMEOUT_MS,
  defaultTransport,
  type HttpTransport,
  type RetryPolicy,
  type TlsClientOptions,
  type TransportRequest,
} from "@wifkit/http";
import { generateAccessToken, generateIdToken } from "@wifkit/impersonation";
import { DEFAULT_SCOPES, exchangeToken } from "@wifkit/sts-client";
import { createKeyedCache } from "@wifkit/token-cache";
import { type CallOptions, withDeadline } from "./call.js";
import { CREDENTIALS_ERROR_CODES } from "./errors.js";
import type { Env } from "./io.js";
import { WIFKIT_VERSION } from "./version.js";

/** How many scope sets, and how many ID token audiences, a credential keeps tokens for. */
export const DEFAULT_MAX_CACHED_TOKENS = 100;
/** The environment variable that names the project billed for quota when the config does not. */
export const QUOTA_PROJECT_ENV = "GOOGLE_CLOUD_QUOTA_PROJECT";

/**
 * Where the subject token comes from: the kind of a config's `credential_source` (`azure` for an Azure IMDS
 * URL handed to the Azure supplier), or `programmatic` for a supplier passed in code. Also what the
 * `x-goog-api-client` metrics header reports, where Google's libraries call an Azure IMDS source `url`.
 */
export type SubjectSourceKind =
  | "aws"
  | "azure"
  | "file"
  | "url"
  | "executable"
  | "certificate"
  | "programmatic";

export interface GetAccessTokenOptions extends CallOptions {
  /** OAuth scopes. Default: the credential's `scopes` (cloud-platform). Tokens are cached per scope set. */
  scopes?: readonly string[] | undefined;
  /** Fetch a new token even if a cached one is valid. */
  forceRefresh?: boolean | undefined;
}

export interface GetIdTokenOptions extends CallOptions {
  /** The `aud` of the ID token: a Cloud Run URL, an IAP OAuth client ID... */
  audience: string;
  /** Include the `email` and `email_verified` claims. Default false. */
  includeEmail?: boolean | undefined;
  forceRefresh?: boolean | undefined;
}

/** Who the credential acts as, for display (`wif whoami`) and logs. */
export interface Principal {
  /** `service_account` when impersonating, `federated` for a direct federated token, or a workforce user. */
  kind: "service_account" | "federated" | "authorized_user";
  /** The impersonated service account. */
  serviceAccount?: string | undefined;
  /** The workload or workforce identity pool provider. */
  audience?: string | undefined;
  /** One line: "service account sa@p.iam.gserviceaccount.com via //iam.googleapis.com/...". */
  description: string;
}

/** What every wifkit credential offers. */
export interface Credentials {
  readonly type: "external_account" | "external_account_authorized_user";
  readonly principal: Principal;
  /** The project billed for quota (`x-goog-user-project`), if any. */
  readonly quotaProjectId: string | undefined;
  readonly universeDomain: string;
  /** A Google access token for `scopes`; cached, refreshed ahead of expiry, never expired. */
  getAccessToken(options?: GetAccessTokenOptions): Promise<Token>;
  /** A Google-signed OIDC ID token for `audience`. */
  getIdToken(options: GetIdTokenOptions): Promise<Token>;
  /** `Authorization: Bearer ...` and, when a quota project is set, `x-goog-user-project`. */
  getRequestHeaders(options?: GetAccessTokenOptions): Promise<Record<string, string>>;
  /** The cached, unexpired access token for `scopes`, without fetching: for health checks and metrics. */
  peekAccessToken(scopes?: readonly string[]): Token | undefined;
}

export interface ExternalAccountCredentials extends Credentials {
  readonly type: "external_account";
}

/** Options shared by every way of building a credential. */
export interface CredentialsOptions {
  /** Default scopes of `getAccessToken`. Default `DEFAULT_SCOPES` (cloud-platform). */
  scopes?: readonly string[] | undefined;
  /** Project billed for quota; wins over `GOOGLE_CLOUD_QUOTA_PROJECT` and the config's `quota_project_id`. */
  quotaProjectId?: string | undefined;
  /** Per-attempt timeout of every HTTP request. Default `DEFAULT_TIMEOUT_MS` (10 s). */
  timeoutMs?: number | undefined;
  /** Retry policy overrides for Google calls (408, 429, 5xx and resets are retried), or `false`. */
  retry?: Partial<RetryPolicy> | false | undefined;
  /**
   * HTTP seam for every request. Default: `createTransport({ proxy, env })` of @wifkit/http (node:http(s)
   * with keep-alive pools, or the proxy that applies), one transport for every request the credential makes.
   */
  transport?: HttpTransport | undefined;
  /**
   * Proxy for every request to Google, AWS or Azure (`http://USER:PASSWORD@proxy.corp:3128`), instead of
   * `HTTPS_PROXY`/`HTTP_PROXY`; `NO_PROXY` still applies, and loopback and metadata addresses are always
   * direct. `false`: no proxy whatever the environment says. Cannot be combined with `transport`.
   */
  proxy?: string | false | undefined;
  /** Time source for expiry and refresh decisions, and for the HTTP retry budget. */
  clock?: Clock | undefined;
  /** Timer seam for HTTP attempt timeouts and retry waits; tests pass virtual time. Default real timers. */
  sleep?: Sleep | undefined;
  /** Environment seam, also where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read. Default `process.env`. */
  env?: Env | undefined;
  /** Refresh tokens this long before they expire (capped at half their lifetime). Default 5 minutes. */
  refreshBeforeMs?: number | undefined;
  /** First wait before retrying a failed background refresh. Default 10 s, doubling. */
  retryBackoffMs?: number | undefined;
  /** Scope sets and ID token audiences kept. Default `DEFAULT_MAX_CACHED_TOKENS`. */
  maxCachedTokens?: number | undefined;
  /**
   * Called after every token fetch (metrics). `event.key` names the scope set or audience, `event.tokenType`
   * the cache (access or ID tokens).
   */
  onRefresh?: ((event: TokenRefreshEvent) => void) | undefined;
  /**
   * Called after every failed fetch, including background refreshes that keep serving a valid token.
   * `event.tokenType` says whether an access or an ID token could not be fetched.
   */
  onError?: ((event: TokenRefreshErrorEvent) => void) | undefined;
}

/** What `onRefresh` receives: the token cache's event and which kind of token was fetched. */
export type TokenRefreshEvent = RefreshEvent<Token> & { tokenType: Token["type"] };
/** What `onError` receives: the token cache's event and which kind of token failed to arrive. */
export type TokenRefreshErrorEvent = RefreshErrorEvent & { tokenType: Token["type"] };

/**
 * The hooks of one token cache, tagged with its token type: an error event carries no token, so without
 * the tag a metrics hook could not tell an access token failure from an ID token one.
 */
export function cacheHooks(
  options: Pick<CredentialsOptions, "onRefresh" | "onError">,
  tokenType: Token["type"],
): Pick<MemoizeOptions<Token>, "onRefresh" | "onError"> {
  const { onRefresh, onError } = options;
  return {
    ...(onRefresh ? { onRefresh: (event: RefreshEvent<Token>) => onRefresh({ ...event, tokenType }) } : {}),
    ...(onError ? { onError: (event: RefreshErrorEvent) => onError({ ...event, tokenType }) } : {}),
  };
}

export interface ExternalAccountCredentialsInit extends CredentialsOptions {
  /** The workload or workforce identity pool provider: `//iam.googleapis.com/projects/N/...`. */
  audience: string;
  /** Produces subject tokens: `fromFile`, `fromUrl`, `chain(...)`, `fromAws`, your own. */
  supplier: SubjectTokenSupplier;
  /** The subject token type sent to STS. Default: the type the supplier reports. */
  subjectTokenType?: SubjectTokenType | undefined;
  /** STS token endpoint. Default `https://sts.{universeDomain}/v1/token`. */
  tokenUrl?: string | undefined;
  /** Service account to impersonate; without it the federated token is used directly. */
  serviceAccount?: string | undefined;
  /** IAM Credentials base URL. Default `https://iamcredentials.{universeDomain}`. */
  iamCredentialsBaseUrl?: string | undefined;
  /** Lifetime of impersonated access tokens, 600 to 43200 s. Default 3600. */
  tokenLifetimeSeconds?: number | undefined;
  /** Service accounts between the federated principal and `serviceAccount`. */
  delegates?: readonly string[] | undefined;
  /** STS client authentication (workforce pools). */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** Workforce pools: the project billed for the exchange. */
  workforcePoolUserProject?: string | undefined;
  universeDomain?: string | undefined;
  /** Only for the metrics header. Default `programmatic`. */
  sourceKind?: SubjectSourceKind | undefined;
}

/** A federated token and the TLS material of the subject token it came from (X.509 sources). */
interface FederatedToken {
  value: string;
  expiresAt: Date;
  tls: TlsClientOptions | undefined;
}

/**
 * Builds an external-account credential from any subject token supplier: the composition `fromConfig`
 * uses, open for custom chains. Access tokens are cached per scope set and ID tokens per audience, each
 * single-flight and refreshed in the background before expiry; with impersonation, one federated token is
 * shared by every scope set and audience.
 *
 * @example
 * const credentials = createExternalAccountCredentials({
 *   audience: "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/oidc",
 *   supplier: chain(fromFile({ path: "/var/run/secrets/token" }), fromUrl({ url: "http://127.0.0.1:8080/token" })),
 *   serviceAccount: "app@my-project.iam.gserviceaccount.com",
 * });
 * const headers = await credentials.getRequestHeaders();
 */
export function createExternalAccountCredentials(
  init: ExternalAccountCredentialsInit,
): ExternalAccountCredentials {
  if (typeof init.audience !== "string" || init.audience === "") {
    throw new WifError("An external-account credential needs the identity pool provider's audience.", {
      code: CORE_ERROR_CODES.invalidOption,
    });
  }
  const clock = init.clock ?? systemClock;
  const env = init.env ?? process.env;
  const universeDomain = init.universeDomain ?? DEFAULT_UNIVERSE_DOMAIN;
  const tokenUrl = init.tokenUrl ?? `https://sts.${universeDomain}/v1/token`;
  const defaultScopes = normalizeScopes(init.scopes ?? DEFAULT_SCOPES);
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const quotaProjectId = init.quotaProjectId ?? nonEmpty(env[QUOTA_PROJECT_ENV]);
  const serviceAccount = init.serviceAccount;
  const clientAuth =
    init.clientId && init.clientSecret
      ? { clientId: init.clientId, clientSecret: init.clientSecret }
      : undefined;
  const metricsHeader =
    `gl-node/${process.versions.node} auth/${WIFKIT_VERSION} google-byoid-sdk ` +
    `source/${init.sourceKind === "azure" ? "url" : (init.sourceKind ?? "programmatic")} sa-impersonation/${serviceAccount !== undefined} ` +
    `config-lifetime/${init.tokenLifetimeSeconds !== undefined}`;
  const transport = credentialsTransport(init);
  const http = {
    timeoutMs,
    ...(init.retry !== undefined ? { retry: init.retry } : {}),
    ...(transport ? { transport } : {}),
    clock,
    ...(init.sleep ? { sleep: init.sleep } : {}),
  };
  const cacheOptions: MemoizeOptions<Token> = {
    clock,
    ...(init.refreshBeforeMs !== undefined ? { refreshBeforeMs: init.refreshBeforeMs } : {}),
    ...(init.retryBackoffMs !== undefined ? { retryBackoffMs: init.retryBackoffMs } : {}),
  };
  const maxEntries = init.maxCachedTokens ?? DEFAULT_MAX_CACHED_TOKENS;

  async function exchange(scopes: readonly string[], options: ProviderOptions): Promise<FederatedToken> {
    const subject: SubjectToken & { tls?: TlsClientOptions } = await init.supplier({
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.forceRefresh ? { forceRefresh: true } : {}),
    });
    const result = await exchangeToken({
      tokenUrl,
      audience: init.audience,
      subjectToken: subject.token,
      subjectTokenType: init.subjectTokenType ?? subject.type,
      scopes,
      ...(init.workforcePoolUserProject ? { userProject: init.workforcePoolUserProject } : {}),
      ...(clientAuth ? { clientAuth } : {}),
      headers: { "x-goog-api-client": metricsHeader },
      ...(subject.tls ? { tls: subject.tls } : {}),
      ...http,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { value: result.accessToken, expiresAt: result.expiresAt, tls: subject.tls };
  }

  // With impersonation every scope set and audience shares one federated token (always cloud-platform).
  const federated = memoize<FederatedToken>((options = {}) => exchange(DEFAULT_SCOPES, options), {
    clock,
    ...(init.refreshBeforeMs !== undefined ? { refreshBeforeMs: init.refreshBeforeMs } : {}),
    ...(init.retryBackoffMs !== undefined ? { retryBackoffMs: init.retryBackoffMs } : {}),
  });

  const impersonation = (bearer: FederatedToken, signal: AbortSignal | undefined) => ({
    serviceAccount: serviceAccount as string,
    bearer: bearer.value,
    // For a 403's message: the real project number and pool of the principal that needs the binding.
    audience: init.audience,
    ...(init.delegates ? { delegates: init.delegates } : {}),
    universeDomain,
    ...(init.iamCredentialsBaseUrl ? { baseUrl: init.iamCredentialsBaseUrl } : {}),
    ...http,
    // An X.509 subject token means the workload speaks mTLS; IAM gets the same client certificate.
    ...(bearer.tls ? { transport: withTls(transport, bearer.tls) } : {}),
    ...(signal ? { signal } : {}),
  });

  const accessTokens = createKeyedCache<string, Token>({
    ...cacheOptions,
    ...cacheHooks(init, "access_token"),
    maxEntries,
    keyOf: (key) => key,
    load: async (key, options) => {
      const scopes = key.split(" ");
      if (serviceAccount === undefined) {
        const token = await exchange(scopes, options);
        return { value: token.value, expiresAt: token.expiresAt, type: "access_token" };
      }
      const bearer = await federated({
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.forceRefresh ? { forceRefresh: true } : {}),
      });
      const generated = await generateAccessToken({
        ...impersonation(bearer, options.signal),
        scopes,
        ...(init.tokenLifetimeSeconds !== undefined ? { lifetimeSeconds: init.tokenLifetimeSeconds } : {}),
      });
      return { value: generated.accessToken, expiresAt: generated.expiresAt, type: "access_token" };
    },
  });

  const idTokens = createKeyedCache<{ audience: string; includeEmail: boolean }, Token>({
    ...cacheOptions,
    ...cacheHooks(init, "id_token"),
    maxEntries,
    keyOf: (key) => `${key.includeEmail ? "email" : "no-email"} ${key.audience}`,
    load: async (key, options) => {
      const bearer = await federated({
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.forceRefresh ? { forceRefresh: true } : {}),
      });
      const generated = await generateIdToken({
        ...impersonation(bearer, options.signal),
        audience: key.audience,
        includeEmail: key.includeEmail,
      });
      return { value: generated.idToken, expiresAt: generated.expiresAt, type: "id_token" };
    },
  });

  const getAccessToken = (options?: GetAccessTokenOptions): Promise<Token> =>
    withDeadline(
      "Getting a Google access token",
      options,
      (signal) =>
        accessTokens.get(scopeKey(options?.scopes, defaultScopes), {
          ...(signal ? { signal } : {}),
          ...(options?.forceRefresh ? { forceRefresh: true } : {}),
        }),
      init.sleep,
    );

  return {
    type: "external_account",
    principal:
      serviceAccount !== undefined
        ? {
            kind: "service_account",
            serviceAccount,
            audience: init.audience,
            description: `service account ${serviceAccount} (impersonated through ${init.audience})`,
          }
        : {
            kind: "federated",
            audience: init.audience,
            description: `federated identity from ${init.audience}`,
          },
    quotaProjectId,
    universeDomain,
    getAccessToken,
    async getIdToken(options) {
      if (serviceAccount === undefined) {
        throw new WifError(
          "ID tokens need a service account to impersonate, and this credential has none: set " +
            "service_account_impersonation_url in the credential config (gcloud iam workload-identity-pools " +
            "create-cred-config --service-account=EMAIL), and grant the federated principal " +
            "roles/iam.workloadIdentityUser on it.",
          { code: CREDENTIALS_ERROR_CODES.idTokenNeedsImpersonation },
        );
      }
      if (typeof options?.audience !== "string" || options.audience === "") {
        throw new WifError("getIdToken needs an audience: the URL of the service the token is for.", {
          code: CREDENTIALS_ERROR_CODES.idTokenAudienceMissing,
        });
      }
      return withDeadline(
        "Getting a Google ID token",
        options,
        (signal) =>
          idTokens.get(
            { audience: options.audience, includeEmail: options.includeEmail === true },
            { ...(signal ? { signal } : {}), ...(options.forceRefresh ? { forceRefresh: true } : {}) },
          ),
        init.sleep,
      );
    },
    async getRequestHeaders(options) {
      const token = await getAccessToken(options);
      return requestHeaders(token, quotaProjectId);
    },
    peekAccessToken(scopes) {
      return accessTokens.peek(scopeKey(scopes, defaultScopes));
    },
  };
}

/** The headers of an authorized Google API request. */
export function requestHeaders(token: Token, quotaProjectId: string | undefined): Record<string, string> {
  return {
    Authorization: `Bearer ${token.value}`,
    ...(quotaProjectId ? { "x-goog-user-project": quotaProjectId } : {}),
  };
}

function normalizeScopes(scopes: readonly string[]): string[] {
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    scopes.some((s) => typeof s !== "string" || s.trim() === "")
  ) {
    throw new WifError("scopes must be a non-empty list of OAuth scope URLs.", {
      code: CORE_ERROR_CODES.invalidOption,
    });
  }
  return [...new Set(scopes.map((s) => s.trim()))].sort();
}

/** One cache key per scope set, whatever the order or duplicates. */
function scopeKey(scopes: readonly string[] | undefined, defaults: string[]): string {
  return (scopes === undefined ? defaults : normalizeScopes(scopes)).join(" ");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/**
 * The one transport every request of a credential goes through: `transport` when given, else one built
 * from `proxy` and `env` (so proxies are read from the `env` seam, not `process.env`), else undefined for
 * @wifkit/http's `defaultTransport` (the process environment's proxies). Throws `ERR_WIF_INVALID_OPTION`
 * naming `proxy` (or the environment variable) for a malformed proxy URL, and for `proxy` with `transport`.
 */
export function credentialsTransport(
  options: Pick<CredentialsOptions, "transport" | "proxy" | "env">,
): HttpTransport | undefined {
  if (options.transport) {
    if (options.proxy !== undefined) {
      throw invalidOption(
        "proxy",
        "cannot be combined with transport: build the transport with createTransport({ proxy }).",
      );
    }
    return options.transport;
  }
  if (options.proxy === undefined && options.env === undefined) return undefined;
  return createTransport({ proxy: options.proxy, env: options.env });
}

/** A transport that presents `tls` on every request, over the given (or default) transport. */
function withTls(transport: HttpTransport | undefined, tls: TlsClientOptions): HttpTransport {
  const base = transport ?? defaultTransport;
  return Object.assign((request: TransportRequest) => base({ ...request, tls: request.tls ?? tls }), {
    proxyFor: base.proxyFor,
  });
}
