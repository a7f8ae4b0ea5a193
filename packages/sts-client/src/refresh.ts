import { httpUrlOption, nonEmptyStringOption, systemClock } from "@wifkit/core";
import { describeUrl } from "@wifkit/http";
import type { StsCallContext } from "./errors.js";
import {
  basicAuthorization,
  parseTokenResponse,
  postForm,
  type StsCallOptions,
  tokenValue,
} from "./request.js";

/** Token endpoint of `external_account_authorized_user` credentials when the file leaves `token_url` out. */
export const DEFAULT_AUTHORIZED_USER_TOKEN_URL = "https://sts.googleapis.com/v1/oauthtoken";

export interface RefreshAccessTokenInit extends StsCallOptions {
  /** The credential's `token_url`. Default `DEFAULT_AUTHORIZED_USER_TOKEN_URL`. */
  tokenUrl?: string | undefined;
  refreshToken: string;
  clientId: string;
  clientSecret: string;
}

export interface RefreshAccessTokenResult {
  accessToken: string;
  tokenType: string;
  expiresAt: Date;
  expiresIn: number;
  /**
   * The refresh token to use next time: the one STS returned, which replaces the old one, or the old one
   * when STS returned none. Persist it if it differs from the one you passed.
   */
  refreshToken: string;
  /** `scope` as STS reported it, space-separated, when it did. */
  scope?: string | undefined;
}

/**
 * Refreshes the access token of an `external_account_authorized_user` credential (workforce identity,
 * `gcloud auth login --login-config`): `grant_type=refresh_token` with HTTP Basic client authentication.
 * Same retry, timeout and error conventions as `exchangeToken`; an expired or revoked refresh token throws
 * `ERR_WIF_STS_INVALID_REFRESH_TOKEN`.
 *
 * @example
 * const { accessToken, refreshToken } = await refreshAccessToken({
 *   refreshToken: config.refresh_token, clientId: config.client_id, clientSecret: config.client_secret,
 * });
 */
export async function refreshAccessToken(init: RefreshAccessTokenInit): Promise<RefreshAccessTokenResult> {
  const url = httpUrlOption("tokenUrl", init.tokenUrl ?? DEFAULT_AUTHORIZED_USER_TOKEN_URL);
  const refreshToken = nonEmptyStringOption("refreshToken", init.refreshToken);
  const clientId = nonEmptyStringOption("clientId", init.clientId);
  const clientSecret = nonEmptyStringOption("clientSecret", init.clientSecret);
  const authorization = basicAuthorization(clientId, clientSecret);
  const ctx: StsCallContext = {
    operation: "Google STS refresh-token grant",
    url: describeUrl(url),
    kind: "refresh",
    secrets: [refreshToken, clientSecret, authorization.slice("Basic ".length)],
  };
  const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken });
  const startedAt = (init.clock ?? systemClock).now();
  const { status, json } = await postForm(url, form, { authorization }, init, ctx);
  const token = parseTokenResponse(json, status, startedAt, ctx);
  const rotated =
    typeof json.refresh_token === "string" && json.refresh_token !== ""
      ? tokenValue(json, "refresh_token", status, ctx)
      : undefined;
  return {
    accessToken: token.accessToken,
    tokenType: token.tokenType,
    expiresAt: token.expiresAt,
    expiresIn: token.expiresIn,
    refreshToken: rotated ?? refreshToken,
    ...(typeof json.scope === "string" ? { scope: json.scope } : {}),
  };
}
