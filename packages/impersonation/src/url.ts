import { invalidOption } from "@wifkit/core";
import { describeUrl } from "@wifkit/http";
import { serviceAccountOption } from "./options.js";

export interface ImpersonationTarget {
  /** The IAM Credentials base URL, e.g. `https://iamcredentials.googleapis.com` (no trailing slash). */
  baseUrl: string;
  /** The service account email from the URL. */
  serviceAccount: string;
}

const OPTION = "service_account_impersonation_url";
const PATH = /^(.*)\/v1\/projects\/[^/]+\/serviceAccounts\/([^/]+):generateAccessToken$/;

/**
 * Splits a credential configuration's `service_account_impersonation_url`
 * (`https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`) into the
 * base URL and the service account email, so the same account can also be asked for ID tokens.
 *
 * @example
 * const { baseUrl, serviceAccount } = parseImpersonationUrl(config.service_account_impersonation_url);
 * const { idToken } = await generateIdToken({ baseUrl, serviceAccount, bearer, audience: "https://my-service.run.app" });
 */
export function parseImpersonationUrl(url: string): ImpersonationTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidOption(OPTION, "is not a valid URL.");
  }
  const match = PATH.exec(parsed.pathname);
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || !match) {
    throw invalidOption(
      OPTION,
      `must be https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken, got "${describeUrl(parsed)}".`,
    );
  }
  let email: string;
  try {
    email = decodeURIComponent(match[2] ?? "");
  } catch {
    throw invalidOption(
      OPTION,
      `names a service account, in "${describeUrl(parsed)}", that is not valid percent-encoding.`,
    );
  }
  return {
    baseUrl: `${parsed.origin}${match[1] ?? ""}`,
    serviceAccount: serviceAccountOption(`${OPTION} (service account)`, email),
  };
}
