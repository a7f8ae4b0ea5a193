import type { Env, ReadFile } from "@wifkit/core";
import { SourceUnavailableError, systemClock, WifError } from "@wifkit/core";
import { describeUrl, httpRequest } from "@wifkit/http";
import { AWS_ERROR_CODES } from "./errors.js";
import {
  checkCredentials,
  environmentOf,
  httpSeams,
  parseExpiration,
  readEnv,
  readText,
} from "./internal.js";
import type { AwsCredentialProvider, AwsFileSourceInit } from "./types.js";

/** Where ECS serves task credentials; `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is a path on it. */
export const DEFAULT_CONTAINER_ENDPOINT = "http://169.254.170.2";
/** Per-attempt timeout for the container credential endpoint (a local agent). */
export const DEFAULT_CONTAINER_TIMEOUT_MS = 2000;
/** Attempts after the first for transient failures of the container endpoint. */
export const DEFAULT_CONTAINER_RETRIES = 2;

/** Hosts a plain-http `AWS_CONTAINER_CREDENTIALS_FULL_URI` may name: ECS, EKS Pod Identity, loopback. */
const CONTAINER_HOSTS = new Set(["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "localhost", "[::1]"]);

export interface ContainerMetadataInit extends AwsFileSourceInit {
  /** Attempts after the first for 5xx, 429 and resets. Default `DEFAULT_CONTAINER_RETRIES`. */
  retries?: number;
}

function isAllowedHttpHost(hostname: string): boolean {
  if (CONTAINER_HOSTS.has(hostname)) return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return octets?.slice(1).every((octet) => Number(octet) <= 255) ?? false;
}

/** The endpoint URL from the environment, checked against the host rules; undefined when neither variable is set. */
function containerUrl(relative: string | undefined, full: string | undefined): URL | undefined {
  if (relative) {
    return new URL(`${DEFAULT_CONTAINER_ENDPOINT}${relative.startsWith("/") ? "" : "/"}${relative}`);
  }
  if (!full) return undefined;
  let url: URL;
  try {
    url = new URL(full);
  } catch (cause) {
    throw new WifError("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL.", {
      code: AWS_ERROR_CODES.containerUriRejected,
      cause,
    });
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isAllowedHttpHost(url.hostname)) return url;
  throw new WifError(
    `AWS_CONTAINER_CREDENTIALS_FULL_URI (${describeUrl(url)}) must use https, or http to a loopback address, ` +
      "169.254.170.2 (ECS), 169.254.170.23 or [fd00:ec2::23] (EKS Pod Identity).",
    { code: AWS_ERROR_CODES.containerUriRejected, url: describeUrl(url) },
  );
}

/**
 * AWS credentials from the container credential endpoint: ECS and Fargate task roles
 * (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2) and EKS Pod Identity
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with the token in `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`,
 * re-read on every call because the agent rotates it; or `AWS_CONTAINER_AUTHORIZATION_TOKEN`).
 *
 * Throws `SourceUnavailableError` when neither URI variable is set; `ERR_WIF_AWS_CONTAINER_URI_REJECTED`
 * for a plain-http full URI to a host other than loopback or the ECS / EKS agents; and
 * `ERR_WIF_AWS_CONTAINER_FAILED` when the endpoint refuses.
 *
 * @example
 * const credentials = await fromContainerMetadata()();
 */
export function fromContainerMetadata(init: ContainerMetadataInit = {}): AwsCredentialProvider {
  const clock = init.clock ?? systemClock;
  return async (options) => {
    const env = environmentOf(init.env);
    const url = containerUrl(
      readEnv(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
      readEnv(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    );
    if (!url) {
      throw new SourceUnavailableError(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set.",
      );
    }
    const where = describeUrl(url);
    const authorization = await readAuthorization(env, init.readFile);
    const response = await httpRequest({
      url,
      method: "GET",
      headers: { accept: "application/json", ...(authorization ? { authorization } : {}) },
      timeoutMs: init.timeoutMs ?? DEFAULT_CONTAINER_TIMEOUT_MS,
      retry: { retries: init.retries ?? DEFAULT_CONTAINER_RETRIES, baseDelayMs: 50, maxDelayMs: 500 },
      operation: "AWS container credential endpoint",
      ...httpSeams(init, options?.signal),
    });
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (response.status !== 200 || body === undefined) {
      const upstreamError = stringField(body, "code") ?? stringField(body, "Code");
      const upstreamDescription = stringField(body, "message") ?? stringField(body, "Message");
      const hint =
        response.status === 401 || response.status === 403
          ? " Check the authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) and the pod's service account association."
          : "";
      throw new WifError(
        `The AWS container credential endpoint at ${where} answered HTTP ${response.status}` +
          `${upstreamError ? ` (${upstreamError})` : body === undefined && response.status === 200 ? " with a body that is not JSON" : ""}.${hint}`,
        {
          code: AWS_ERROR_CODES.containerFailed,
          status: response.status,
          url: where,
          upstreamError,
          upstreamDescription,
          retryable: response.status === 429 || response.status >= 500,
        },
      );
    }
    const source = `The AWS container credential endpoint at ${where}`;
    return checkCredentials(
      {
        accessKeyId: body.AccessKeyId,
        secretAccessKey: body.SecretAccessKey,
        sessionToken: body.Token,
        expiration: parseExpiration(body.Expiration, source),
      },
      source,
      clock,
    );
  };
}

function stringField(body: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = body?.[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

async function readAuthorization(env: Env, readFile: ReadFile | undefined): Promise<string | undefined> {
  const file = readEnv(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  let token: string | undefined;
  if (file) {
    try {
      token = await readText(readFile, file);
    } catch (cause) {
      throw new WifError(
        `Could not read the container authorization token file ${file} (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE): ` +
          `${(cause as NodeJS.ErrnoException).code ?? "read failed"}.`,
        { code: AWS_ERROR_CODES.containerTokenFile, cause },
      );
    }
    if (!token) {
      throw new WifError(
        `The container authorization token file ${file} (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) is empty.`,
        { code: AWS_ERROR_CODES.containerTokenFile },
      );
    }
  } else {
    token = readEnv(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  if (token !== undefined && /[\r\n]/.test(token)) {
    throw new WifError(
      "The container authorization token contains a line break; it cannot be sent as an Authorization header.",
      { code: AWS_ERROR_CODES.containerTokenFile },
    );
  }
  return token || undefined;
}
