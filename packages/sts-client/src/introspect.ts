import { httpUrlOption, nonEmptyStringOption } from "@wifkit/core";
import { describeUrl } from "@wifkit/http";
import type { StsCallContext } from "./errors.js";
import type { ClientAuth } from "./exchange.js";
import { basicAuthorization, postForm, type StsCallOptions } from "./request.js";

/** Google STS token introspection endpoint (`token_info_url`). */
export const DEFAULT_TOKEN_INFO_URL = "https://sts.googleapis.com/v1/introspect";

export interface IntrospectTokenInit extends Omit<StsCallOptions, "clock"> {
  /** The credential's `token_info_url`. Default `DEFAULT_TOKEN_INFO_URL`. */
  tokenInfoUrl?: string | undefined;
  /** The access token to inspect. */
  token: string;
  /** RFC 7662 `token_type_hint`, e.g. `access_token`. Not sent when absent. */
  tokenTypeHint?: string | undefined;
  /** `client_id`/`client_secret`, sent as HTTP Basic authentication when given. */
  clientAuth?: ClientAuth | undefined;
}

export interface IntrospectTokenResult {
  /** Whether the token is currently valid. */
  active: boolean;
  scope?: string | undefined;
  clientId?: string | undefined;
  username?: string | undefined;
  /** `exp` as a date, when present. */
  expiresAt?: Date | undefined;
  /** `iat` as a date, when present. */
  issuedAt?: Date | undefined;
  /** Every field STS returned, as is. */
  claims: Record<string, unknown>;
}

const secondsToDate = (value: unknown): Date | undefined =>
  typeof value === "number" && Number.isFinite(value) ? new Date(value * 1000) : undefined;

/**
 * Asks STS whether an access token is active and what it grants (RFC 7662: `POST token=...`). Useful for
 * `wif` diagnostics and for `external_account_authorized_user` credentials, which have no JWT to read.
 *
 * @example
 * const { active, expiresAt } = await introspectToken({ token: accessToken });
 */
export async function introspectToken(init: IntrospectTokenInit): Promise<IntrospectTokenResult> {
  const url = httpUrlOption("tokenInfoUrl", init.tokenInfoUrl ?? DEFAULT_TOKEN_INFO_URL);
  const token = nonEmptyStringOption("token", init.token);
  const form = new URLSearchParams({ token });
  if (init.tokenTypeHint !== undefined) form.set("token_type_hint", init.tokenTypeHint);
  const authorization = init.clientAuth
    ? basicAuthorization(
        nonEmptyStringOption("clientAuth.clientId", init.clientAuth.clientId),
        nonEmptyStringOption("clientAuth.clientSecret", init.clientAuth.clientSecret),
      )
    : undefined;
  const ctx: StsCallContext = {
    operation: "Google STS token introspection",
    url: describeUrl(url),
    kind: "introspect",
    secrets: [token, init.clientAuth?.clientSecret, authorization?.slice("Basic ".length)],
  };
  const { json } = await postForm(url, form, authorization ? { authorization } : {}, init, ctx);
  return {
    active: json.active === true,
    ...(typeof json.scope === "string" ? { scope: json.scope } : {}),
    ...(typeof json.client_id === "string" ? { clientId: json.client_id } : {}),
    ...(typeof json.username === "string" ? { username: json.username } : {}),
    ...(secondsToDate(json.exp) ? { expiresAt: secondsToDate(json.exp) } : {}),
    ...(secondsToDate(json.iat) ? { issuedAt: secondsToDate(json.iat) } : {}),
    claims: json,
  };
}
