import { SourceUnavailableError, systemClock, WifError } from "@wifkit/core";
import { DEFAULT_TIMEOUT_MS, describeUrl, httpRequest } from "@wifkit/http";
import { checkCredentials, defaultReadFile, environmentOf, parseExpiration, readEnv } from "./internal.js";
import type { AwsCredentialProvider, AwsSourceInit, ReadTextFile } from "./types.js";
import { xmlText } from "./xml.js";

/** The global AWS STS endpoint, used when no region is known. */
export const DEFAULT_AWS_STS_ENDPOINT = "https://sts.amazonaws.com";

export interface WebIdentityInit extends AwsSourceInit {
  /** The role to assume. Default `AWS_ROLE_ARN`. */
  roleArn?: string;
  /** File holding the OIDC token (EKS projects the service account token there). Default `AWS_WEB_IDENTITY_TOKEN_FILE`. */
  webIdentityTokenFile?: string;
  /** Session name, visible in the assumed-role ARN. Default `AWS_ROLE_SESSION_NAME`, else `wifkit-TIMESTAMP`. */
  roleSessionName?: string;
  /** Region of the STS endpoint. Default `AWS_REGION`, then `AWS_DEFAULT_REGION`, else the global endpoint. */
  region?: string;
  /** AWS STS endpoint. Default `AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL`, else the regional endpoint. */
  endpoint?: string;
  /** Reads the token file. Default: node:fs. */
  readFile?: ReadTextFile;
}

/** The regional AWS STS endpoint for `region` (China regions live under amazonaws.com.cn). */
export function awsStsEndpoint(region: string | undefined): string {
  if (!region) return DEFAULT_AWS_STS_ENDPOINT;
  return `https://sts.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

/**
 * AWS credentials for an EKS IAM Roles for Service Accounts (IRSA) pod: reads the projected token from
 * `AWS_WEB_IDENTITY_TOKEN_FILE` on every call (the kubelet rotates it) and calls STS
 * `AssumeRoleWithWebIdentity` for `AWS_ROLE_ARN`, unsigned, at the regional endpoint (or
 * `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL`).
 *
 * Throws `SourceUnavailableError` when no token file is configured, `ERR_WIF_AWS_WEB_IDENTITY_CONFIG`
 * when the file is set without a role or cannot be read, and `ERR_WIF_AWS_WEB_IDENTITY_FAILED` carrying
 * AWS's error code (`InvalidIdentityToken`, `AccessDenied` ...) when STS refuses.
 *
 * @example
 * const credentials = await fromWebIdentity({ region: "eu-west-1" })();
 */
export function fromWebIdentity(init: WebIdentityInit = {}): AwsCredentialProvider {
  const clock = init.clock ?? systemClock;
  const readFile = init.readFile ?? defaultReadFile;
  return async (options) => {
    const env = environmentOf(init.env);
    const tokenFile = init.webIdentityTokenFile ?? readEnv(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const roleArn = init.roleArn ?? readEnv(env, "AWS_ROLE_ARN");
    if (!tokenFile) throw new SourceUnavailableError("AWS_WEB_IDENTITY_TOKEN_FILE is not set.");
    if (!roleArn) {
      throw new WifError(
        `AWS_WEB_IDENTITY_TOKEN_FILE is set (${tokenFile}) but AWS_ROLE_ARN is not; set the role to assume.`,
        { code: "ERR_WIF_AWS_WEB_IDENTITY_CONFIG" },
      );
    }
    let webIdentityToken: string;
    try {
      webIdentityToken = (await readFile(tokenFile)).trim();
    } catch (cause) {
      throw new WifError(
        `Could not read the web identity token file ${tokenFile} (AWS_WEB_IDENTITY_TOKEN_FILE): ` +
          `${(cause as NodeJS.ErrnoException).code ?? "read failed"}.`,
        { code: "ERR_WIF_AWS_WEB_IDENTITY_CONFIG", cause },
      );
    }
    if (!webIdentityToken) {
      throw new WifError(`The web identity token file ${tokenFile} is empty.`, {
        code: "ERR_WIF_AWS_WEB_IDENTITY_CONFIG",
      });
    }
    const endpoint =
      init.endpoint ??
      readEnv(env, "AWS_ENDPOINT_URL_STS") ??
      readEnv(env, "AWS_ENDPOINT_URL") ??
      awsStsEndpoint(init.region ?? readEnv(env, "AWS_REGION") ?? readEnv(env, "AWS_DEFAULT_REGION"));
    const sessionName =
      init.roleSessionName ?? readEnv(env, "AWS_ROLE_SESSION_NAME") ?? `wifkit-${clock.now()}`;
    const body = new URLSearchParams({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: roleArn,
      RoleSessionName: sessionName,
      WebIdentityToken: webIdentityToken,
    }).toString();
    const where = describeUrl(endpoint);
    const response = await httpRequest({
      url: endpoint,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", accept: "text/xml" },
      body,
      timeoutMs: init.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      operation: "AWS STS AssumeRoleWithWebIdentity",
      ...(options?.signal ? { signal: options.signal } : {}),
      ...(init.transport ? { transport: init.transport } : {}),
    });
    const xml = response.body.toString("utf8");
    if (response.status !== 200) {
      const upstreamError = xmlText(xml, ["Error", "Code"]);
      const upstreamDescription = xmlText(xml, ["Error", "Message"]);
      throw new WifError(
        `AWS STS AssumeRoleWithWebIdentity at ${where} for role ${roleArn} failed with HTTP ${response.status}` +
          `${upstreamError ? ` ${upstreamError}` : ""}${upstreamDescription ? `: ${upstreamDescription}` : "."}` +
          (upstreamError === "AccessDenied" || upstreamError === "InvalidIdentityToken"
            ? " Check the role's trust policy for the cluster's OIDC provider and the service account."
            : ""),
        {
          code: "ERR_WIF_AWS_WEB_IDENTITY_FAILED",
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
