import { decodeJwt, WifError } from "@wifkit/core";
import { AZURE_ERROR_CODES } from "./errors.js";

/**
 * The claims of an Entra ID access token that matter to a Workload Identity Federation provider. Entra v1
 * tokens (`iss = https://sts.windows.net/TENANT/`) carry the caller in `appid`, v2 tokens in `azp`; both
 * carry `sub`, `oid` and `tid`. For a managed identity `sub` is its object id.
 */
export interface AzureTokenClaims {
  /** Issuer: `https://sts.windows.net/TENANT/` (v1) or `https://login.microsoftonline.com/TENANT/v2.0` (v2). */
  iss?: string;
  /** Subject: for a managed identity, its object (principal) id. What `google.subject=assertion.sub` maps. */
  sub?: string;
  /** Object id of the calling identity. */
  oid?: string;
  /** Audience: the App ID URI (v1) or the application's client id (v2). */
  aud?: string | string[];
  /** Tenant id. */
  tid?: string;
  /** Client id of the caller (v1 tokens). */
  appid?: string;
  /** Client id of the caller (v2 tokens). */
  azp?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
  iat?: number;
  nbf?: number;
  /** Token version, "1.0" or "2.0". */
  ver?: string;
  [claim: string]: unknown;
}

/**
 * Decodes a JWT's payload without verifying its signature, so a person can see which `sub`, `oid`, `aud`,
 * `iss`, `tid` and `appid`/`azp` a Workload Identity Federation provider will see (and so the supplier can
 * read `exp`). Never use the result to make a trust decision: the signature is not checked. Throws
 * `WifError` `ERR_WIF_AZURE_TOKEN_INVALID` for anything that is not a JWT with a JSON object payload; the
 * message never contains the token.
 *
 * @example
 * const { token } = await fromAzure({ resource: "api://my-app" })();
 * const { iss, sub, aud } = decodeTokenClaims(token);
 * console.log(`issuer ${iss}, subject ${sub}, audience ${aud}`);
 */
export function decodeTokenClaims(jwt: string): AzureTokenClaims {
  try {
    return decodeJwt(jwt).claims as AzureTokenClaims;
  } catch (error) {
    // The same reason, under this package's documented code.
    throw new WifError((error as Error).message, { code: AZURE_ERROR_CODES.tokenInvalid });
  }
}
