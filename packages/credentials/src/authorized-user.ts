import type { AuthorizedUserConfig } from "@wifkit/config";
import { DEFAULT_UNIVERSE_DOMAIN, memoize, systemClock, type Token, WifError } from "@wifkit/core";
import { DEFAULT_TIMEOUT_MS } from "@wifkit/http";
import { refreshAccessToken } from "@wifkit/sts-client";
import { withDeadline } from "./call.js";
import {
  type Credentials,
  type CredentialsOptions,
  cacheHooks,
  credentialsTransport,
  QUOTA_PROJECT_ENV,
  requestHeaders,
} from "./credentials.js";
import { CREDENTIALS_ERROR_CODES } from "./errors.js";

export interface AuthorizedUserCredentials extends Credentials {
  readonly type: "external_account_authorized_user";
}

export interface AuthorizedUserOptions extends CredentialsOptions {
  /**
   * Called when STS returns a new refresh token, which replaces the old one from then on. Persist it if
   * the credential file must keep working (gcloud rewrites its own file the same way).
   */
  onRefreshTokenRotated?: ((refreshToken: string) => void) | undefined;
}

/**
 * Builds the credential of an already validated `external_account_authorized_user` config (a workforce
 * user's `gcloud auth login --login-config` credentials): the refresh token is exchanged at STS for access
 * tokens, cached and refreshed ahead of expiry; a refresh token STS returns replaces the old one. Such a
 * credential has no service account, so it cannot mint ID tokens.
 */
export function createAuthorizedUserCredentials(
  config: AuthorizedUserConfig,
  options: AuthorizedUserOptions = {},
): AuthorizedUserCredentials {
  const clock = options.clock ?? systemClock;
  const env = options.env ?? process.env;
  const universeDomain = config.universe_domain ?? DEFAULT_UNIVERSE_DOMAIN;
  const tokenUrl = config.token_url ?? `https://sts.${universeDomain}/v1/oauthtoken`;
  const quotaProjectId =
    options.quotaProjectId ?? nonEmpty(env[QUOTA_PROJECT_ENV]) ?? nonEmpty(config.quota_project_id);
  let refreshToken = config.refresh_token;
  const transport = credentialsTransport(options);

  const accessToken = memoize<Token>(
    async ({ signal } = {}) => {
      const result = await refreshAccessToken({
        tokenUrl,
        refreshToken,
        clientId: config.client_id,
        clientSecret: config.client_secret,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...(options.retry !== undefined ? { retry: options.retry } : {}),
        ...(transport ? { transport } : {}),
        clock,
        ...(options.sleep ? { sleep: options.sleep } : {}),
        ...(signal ? { signal } : {}),
      });
      if (result.refreshToken !== refreshToken) {
        refreshToken = result.refreshToken;
        try {
          options.onRefreshTokenRotated?.(refreshToken);
        } catch {
          // A failing hook must not cost the caller the token it just got.
        }
      }
      return { value: result.accessToken, expiresAt: result.expiresAt, type: "access_token" };
    },
    {
      clock,
      ...(options.refreshBeforeMs !== undefined ? { refreshBeforeMs: options.refreshBeforeMs } : {}),
      ...(options.retryBackoffMs !== undefined ? { retryBackoffMs: options.retryBackoffMs } : {}),
      ...cacheHooks(options, "access_token"),
    },
  );

  const getAccessToken: Credentials["getAccessToken"] = (callOptions) =>
    withDeadline(
      "Getting a Google access token",
      callOptions,
      (signal) =>
        accessToken({
          ...(signal ? { signal } : {}),
          ...(callOptions?.forceRefresh ? { forceRefresh: true } : {}),
        }),
      options.sleep,
    );

  return {
    type: "external_account_authorized_user",
    principal: {
      kind: "authorized_user",
      audience: config.audience,
      description: config.audience ? `workforce user signed in through ${config.audience}` : "workforce user",
    },
    quotaProjectId,
    universeDomain,
    getAccessToken,
    async getIdToken() {
      throw new WifError(
        "external_account_authorized_user credentials (a workforce user's gcloud login) cannot mint ID tokens. " +
          "Use a workload identity config with service_account_impersonation_url for ID tokens.",
        { code: CREDENTIALS_ERROR_CODES.idTokenUnsupported },
      );
    },
    async getRequestHeaders(callOptions) {
      return requestHeaders(await getAccessToken(callOptions), quotaProjectId);
    },
    // The refresh token's grant fixes the scopes, so there is one token whatever is asked.
    peekAccessToken: () => accessToken.peek(),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
