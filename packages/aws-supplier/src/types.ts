import type { Clock, Env, ReadFile, Sleep } from "@wifkit/core";
import type { HttpTransport } from "@wifkit/http";

/**
 * AWS credentials as the AWS SDK for JavaScript v3 shapes them, so its providers plug in unchanged.
 * `expiration` is set for temporary credentials (IMDS, container endpoint, web identity, SSO ...).
 */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

/**
 * Anything that produces AWS credentials: one of this package's sources, or any AWS SDK v3 credential
 * provider such as `fromNodeProviderChain()` or `fromSSO()`.
 */
export type AwsCredentialProvider = (options?: {
  signal?: AbortSignal;
  forceRefresh?: boolean;
}) => Promise<AwsCredentials>;

/** The edges every AWS source shares: where to read the environment, files, time and the network. */
export interface AwsSourceInit {
  /** Environment variables to read. Default `process.env`. */
  env?: Env;
  /** HTTP transport for every request this source sends. Default: core's node:http(s) transport. */
  transport?: HttpTransport;
  /** Clock for expiry decisions. Default: the system clock. */
  clock?: Clock;
  /** Timer for request timeouts and retry waits (tests pass virtual time). Default: real timers. */
  sleep?: Sleep;
  /** Per-attempt timeout in milliseconds for this source's requests. */
  timeoutMs?: number;
}

/** Sources that read files (token files) take the file seam too. */
export interface AwsFileSourceInit extends AwsSourceInit {
  /** Reads token files. Default: core's bounded reader (regular files of at most 1 MiB). */
  readFile?: ReadFile;
}
