import { SourceUnavailableError, systemClock, WifError } from "@wifkit/core";
import { awsStsEndpoint, type RoleAssumerWithWebIdentity, stsRoleAssumer } from "./aws-sts.js";
import { AWS_ERROR_CODES } from "./errors.js";
import { checkCredentials, environmentOf, readEnv, readText } from "./internal.js";
import type { AwsCredentialProvider, AwsFileSourceInit } from "./types.js";

export interface WebIdentityInit extends AwsFileSourceInit {
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
  /**
   * Exchanges the token for role credentials. Default: `stsRoleAssumer` at the endpoint above. The AWS SDK's
   * `getDefaultRoleAssumerWithWebIdentity()` fits, for its retries, proxies and regional settings.
   */
  roleAssumerWithWebIdentity?: RoleAssumerWithWebIdentity;
}

/**
 * AWS credentials for an EKS IAM Roles for Service Accounts (IRSA) pod: reads the projected token from
 * `AWS_WEB_IDENTITY_TOKEN_FILE` on every call (the kubelet rotates it) and hands it to the role assumer for
 * `AWS_ROLE_ARN`: by default `AssumeRoleWithWebIdentity`, unsigned, at the regional endpoint (or
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
  return async (options) => {
    const env = environmentOf(init.env);
    const tokenFile = init.webIdentityTokenFile ?? readEnv(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const roleArn = init.roleArn ?? readEnv(env, "AWS_ROLE_ARN");
    if (!tokenFile) throw new SourceUnavailableError("AWS_WEB_IDENTITY_TOKEN_FILE is not set.");
    const configError = (message: string, cause?: unknown) =>
      new WifError(message, { code: AWS_ERROR_CODES.webIdentityConfig, cause });
    if (!roleArn) {
      throw configError(
        `AWS_WEB_IDENTITY_TOKEN_FILE is set (${tokenFile}) but AWS_ROLE_ARN is not; set the role to assume.`,
      );
    }
    let webIdentityToken: string;
    try {
      webIdentityToken = await readText(init.readFile, tokenFile);
    } catch (cause) {
      throw configError(
        `Could not read the web identity token file ${tokenFile} (AWS_WEB_IDENTITY_TOKEN_FILE): ` +
          `${(cause as NodeJS.ErrnoException).code ?? "read failed"}.`,
        cause,
      );
    }
    if (!webIdentityToken) throw configError(`The web identity token file ${tokenFile} is empty.`);
    const assume =
      init.roleAssumerWithWebIdentity ??
      stsRoleAssumer({
        ...init,
        endpoint:
          init.endpoint ??
          readEnv(env, "AWS_ENDPOINT_URL_STS") ??
          readEnv(env, "AWS_ENDPOINT_URL") ??
          awsStsEndpoint(init.region ?? readEnv(env, "AWS_REGION") ?? readEnv(env, "AWS_DEFAULT_REGION")),
      });
    const credentials = await assume(
      {
        RoleArn: roleArn,
        RoleSessionName:
          init.roleSessionName ?? readEnv(env, "AWS_ROLE_SESSION_NAME") ?? `wifkit-${clock.now()}`,
        WebIdentityToken: webIdentityToken,
      },
      { signal: options?.signal },
    );
    // An injected assumer (the AWS SDK's) is held to the same checks as the built-in one.
    return checkCredentials(credentials, "The web identity role assumer", clock);
  };
}
