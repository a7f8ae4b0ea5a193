/**
 * The two AWS STS calls this package makes, both over the Query protocol: `AssumeRoleWithWebIdentity`
 * (unsigned, for EKS IRSA) and replaying a signed `GetCallerIdentity` (what Google STS does with an AWS
 * subject token, for tools that want to see the identity it proves).
 */
import { systemClock, WifError } from "@wifkit/core";
import { DEFAULT_TIMEOUT_MS, describeUrl, httpRequest } from "@wifkit/http";
import { AWS_ERROR_CODES } from "./errors.js";
import { checkCredentials, httpSeams, parseExpiration } from "./internal.js";
import type { SignedCallerIdentityRequest } from "./sign.js";
import type { AwsCredentials, AwsSourceInit } from "./types.js";
import { xmlText } from "./xml.js";

/** The global AWS STS endpoint, used when no region is known. */
export const DEFAULT_AWS_STS_ENDPOINT = "https://sts.amazonaws.com";

/** The regional AWS STS endpoint for `region` (China regions live under amazonaws.com.cn). */
export function awsStsEndpoint(region: string | undefined): string {
  if (!region) return DEFAULT_AWS_STS_ENDPOINT;
  return `https://sts.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

/** What a web identity role assumer is asked, in the AWS SDK's spelling (`AssumeRoleWithWebIdentityRequest`). */
export interface AssumeRoleWithWebIdentityParams {
  RoleArn: string;
  RoleSessionName: string;
  WebIdentityToken: string;
}

/**
 * Exchanges a web identity token for role credentials. The AWS SDK's
 * `getDefaultRoleAssumerWithWebIdentity()` (from `@aws-sdk/client-sts`) fits, as does `stsRoleAssumer()`.
 */
export type RoleAssumerWithWebIdentity = (
  params: AssumeRoleWithWebIdentityParams,
  options?: { signal?: AbortSignal | undefined },
) => Promise<AwsCredentials>;

export interface StsRoleAssumerInit extends AwsSourceInit {
  /** The AWS STS endpoint (`AWS_ENDPOINT_URL_STS` and the like are resolved by the caller). */
  endpoint: string;
}

/**
 * The built-in role assumer: `AssumeRoleWithWebIdentity`, unsigned, at `endpoint`. Throws
 * `ERR_WIF_AWS_WEB_IDENTITY_FAILED` carrying AWS's error code (`InvalidIdentityToken`, `AccessDenied` ...)
 * when STS refuses.
 *
 * @example
 * const assume = stsRoleAssumer({ endpoint: awsStsEndpoint("eu-west-1") });
 */
export function stsRoleAssumer(init: StsRoleAssumerInit): RoleAssumerWithWebIdentity {
  const clock = init.clock ?? systemClock;
  const where = describeUrl(init.endpoint);
  return async (params, options) => {
    const response = await httpRequest({
      url: init.endpoint,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", accept: "text/xml" },
      body: new URLSearchParams({
        Action: "AssumeRoleWithWebIdentity",
        Version: "2011-06-15",
        RoleArn: params.RoleArn,
        RoleSessionName: params.RoleSessionName,
        WebIdentityToken: params.WebIdentityToken,
      }).toString(),
      timeoutMs: init.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      operation: "AWS STS AssumeRoleWithWebIdentity",
      ...httpSeams(init, options?.signal),
    });
    const xml = response.body.toString("utf8");
    if (response.status !== 200) {
      const upstreamError = xmlText(xml, ["Error", "Code"]);
      const upstreamDescription = xmlText(xml, ["Error", "Message"]);
      throw new WifError(
        `AWS STS AssumeRoleWithWebIdentity at ${where} for role ${params.RoleArn} failed with HTTP ${response.status}` +
          `${upstreamError ? ` ${upstreamError}` : ""}${upstreamDescription ? `: ${upstreamDescription}` : "."}` +
          (upstreamError === "AccessDenied" || upstreamError === "InvalidIdentityToken"
            ? " Check the role's trust policy for the cluster's OIDC provider and the service account."
            : ""),
        {
          code: AWS_ERROR_CODES.webIdentityFailed,
          status: response.status,
          url: where,
          upstreamError,
          upstreamDescription,
          retryable:
            response.status === 429 || response.status >= 500 || upstreamError === "IDPCommunicationError",
        },
      );
    }
    const path = ["AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult", "Credentials"];
    const source = `AWS STS AssumeRoleWithWebIdentity at ${where}`;
    return checkCredentials(
      {
        accessKeyId: xmlText(xml, [...path, "AccessKeyId"]),
        secretAccessKey: xmlText(xml, [...path, "SecretAccessKey"]),
        sessionToken: xmlText(xml, [...path, "SessionToken"]),
        expiration: parseExpiration(xmlText(xml, [...path, "Expiration"]), source),
      },
      source,
      clock,
    );
  };
}

/** Who a signed GetCallerIdentity request proves the caller is: what Google STS maps attributes from. */
export interface CallerIdentity {
  /** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` or `arn:aws:iam::ACCOUNT:user/NAME`. */
  arn: string;
  account: string;
  userId: string;
}

export interface GetCallerIdentityInit extends Omit<AwsSourceInit, "env" | "clock"> {
  /** The signed request (`signGetCallerIdentity`, or `deserializeSubjectToken` of a subject token). */
  request: SignedCallerIdentityRequest;
  /**
   * Send it here instead of its own URL (an emulator, `AWS_ENDPOINT_URL_STS`), keeping the signed `host`
   * header: path and query stay those of the signed URL.
   */
  endpoint?: string | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Replays a signed GetCallerIdentity request at AWS STS, as Google STS does with an AWS subject token, and
 * returns the identity AWS reports. Throws `ERR_WIF_AWS_CALLER_IDENTITY_FAILED` with AWS's error code
 * when AWS refuses (an expired signature, a clock off by more than 15 minutes, unknown keys).
 *
 * @example
 * const { arn } = await getCallerIdentity({ request: deserializeSubjectToken((await supplier()).token) });
 */
export async function getCallerIdentity(init: GetCallerIdentityInit): Promise<CallerIdentity> {
  const { request } = init;
  const headers: Record<string, string> = {};
  for (const { key, value } of request.headers) headers[key] = value;
  let url = request.url;
  if (init.endpoint) {
    const signed = new URL(request.url);
    url = `${init.endpoint.replace(/\/+$/, "")}${signed.pathname}${signed.search}`;
    headers.host ??= signed.host;
  }
  const response = await httpRequest({
    url,
    method: request.method,
    headers,
    timeoutMs: init.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    operation: "AWS STS GetCallerIdentity",
    ...httpSeams(init, init.signal),
  });
  const xml = response.body.toString("utf8");
  if (response.status !== 200) {
    const upstreamError = xmlText(xml, ["Error", "Code"]);
    const upstreamDescription = xmlText(xml, ["Error", "Message"]);
    throw new WifError(
      `AWS STS refused the signed GetCallerIdentity request (HTTP ${response.status}${upstreamError ? ` ${upstreamError}` : ""}): ` +
        `${upstreamDescription ?? "no message"}. Check the AWS credentials and the machine's clock.`,
      {
        code: AWS_ERROR_CODES.callerIdentityFailed,
        status: response.status,
        url: describeUrl(url),
        upstreamError,
        upstreamDescription,
      },
    );
  }
  const result = ["GetCallerIdentityResponse", "GetCallerIdentityResult"];
  const arn = xmlText(xml, [...result, "Arn"]);
  const account = xmlText(xml, [...result, "Account"]);
  const userId = xmlText(xml, [...result, "UserId"]);
  if (!arn || !account || !userId) {
    throw new WifError("AWS STS answered GetCallerIdentity without Arn, Account and UserId.", {
      code: AWS_ERROR_CODES.callerIdentityFailed,
      status: response.status,
      url: describeUrl(url),
    });
  }
  return { arn, account, userId };
}
