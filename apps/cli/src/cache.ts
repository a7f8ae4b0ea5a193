import type { Env } from "@wifkit/core";
/**
 * Where `wif` keeps tokens between runs, and under which key. The key is a hash of the credential
 * configuration's exact bytes, the request (scopes, or audience and email flag), the environment variables
 * that choose which workload identity the subject credential belongs to, and the subject credential itself:
 * the bytes of a subject token file, or the subject token a URL, a program or a certificate gave (its hash;
 * the token is never stored). So a hit means this exact configuration, in this environment, with this
 * subject credential, already passed validation and produced the stored token; and when another job writes
 * its token where this one's was, the key changes with it.
 *
 * This module is part of the entry's fast path: node builtins, @wifkit/core's bounded reader and the
 * suppliers' import-free `/identity` entries only.
 */

import { mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { awsIdentityFingerprint } from "@wifkit/aws-supplier/identity";
import { azureIdentityFingerprint } from "@wifkit/azure-supplier/identity";
import { isAzureImdsTokenUrl } from "@wifkit/config";
import { readFileBoundedSync, sha256Hex, WifError } from "@wifkit/core";
import { CLI_ERROR_CODES } from "./errors.js";

/** Environment variable overriding the cache directory (below `--cache-dir`). */
export const CACHE_DIR_ENV = "WIF_CACHE_DIR";

/** Bigger files are neither credential configurations nor subject tokens (@wifkit/config's cap). */
export const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Variables besides the suppliers' that decide whose subject credential is found: where the certificate
 * source looks for its configuration. (The AWS and Azure suppliers publish their own lists.)
 */
export const CREDENTIALS_IDENTITY_ENV = ["GOOGLE_API_CERTIFICATE_CONFIG", "CLOUDSDK_CONFIG"] as const;

/**
 * Which workload identity the environment selects: the suppliers' own fingerprints (AWS keys and roles, Azure
 * identities, metadata endpoints; never a secret) and the certificate config's location. Two runs with the same
 * config but, say, different AWS keys must not share a token. From the suppliers' `/identity` entries, which
 * import nothing, so the fast path stays on builtins.
 */
export function identityFingerprint(env: Env): string {
  return [
    awsIdentityFingerprint(env),
    azureIdentityFingerprint(env),
    ...CREDENTIALS_IDENTITY_ENV.map((name) => `${name}=${env[name] ?? ""}`),
  ].join("\n");
}

/** `--cache-dir`, else `WIF_CACHE_DIR`, else `$XDG_CACHE_HOME/wifkit`, else `~/.cache/wifkit`. */
export function cacheDirectory(flag: string | undefined, env: Env): string {
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env[CACHE_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg?.startsWith("/")) return join(xdg, "wifkit");
  return join(homedir(), ".cache", "wifkit");
}

export type TokenRequest =
  | { kind: "access_token"; scopes: readonly string[] }
  | { kind: "id_token"; audience: string; includeEmail: boolean };

/**
 * What the subject credential of a configuration is, for the key: `environment` (AWS, Azure: the identity
 * comes from the machine and `identityFingerprint`), `file` (the token file's bytes), or `obtained` (a URL, program
 * or certificate: the subject token has to be fetched before the key is known).
 */
export type SubjectBinding = { kind: "environment" } | { kind: "file"; path: string } | { kind: "obtained" };

/**
 * The binding of a configuration's `credential_source`, read from its JSON without validating it: only a
 * validated configuration ever produced a cache entry, and its bytes are part of the key.
 */
export function subjectBindingOf(json: unknown): SubjectBinding {
  const source = (json as { credential_source?: Record<string, unknown> } | null)?.credential_source;
  if (source === null || typeof source !== "object") return { kind: "environment" };
  if (typeof source.file === "string") return { kind: "file", path: source.file };
  if (source.environment_id !== undefined) return { kind: "environment" };
  if (typeof source.url === "string" && isAzureImdsTokenUrl(source.url)) return { kind: "environment" };
  if (source.url !== undefined || source.executable !== undefined || source.certificate !== undefined) {
    return { kind: "obtained" };
  }
  return { kind: "environment" };
}

/** The hash of a subject credential for the key. */
export function subjectDigest(content: Uint8Array | string): string {
  return sha256Hex(content);
}

/**
 * The token store key for `request` made with the configuration whose file holds `configBytes`, and the
 * subject credential whose `subjectDigest` is given (none for an environment-bound one).
 */
export function tokenCacheKey(
  configBytes: Uint8Array,
  request: TokenRequest,
  env: Env,
  subject: string | undefined,
): string {
  const requested =
    request.kind === "access_token"
      ? `access_token\0${request.scopes.join(" ")}`
      : `id_token\0${request.audience}\0${request.includeEmail ? "email" : "no-email"}`;
  // core's sha256Hex, not node:crypto: loading node:crypto alone costs a tenth of the warm start.
  return sha256Hex(
    Buffer.concat([
      Buffer.from("wif-token-cache-v3\0"),
      configBytes,
      Buffer.from(`\0${requested}\0${identityFingerprint(env)}\0subject=${subject ?? ""}`),
    ]),
  );
}

/**
 * The key for a configuration without any network call, as the entry's fast path computes it: for an
 * environment-bound source at once, for a file source after reading the token file (bounded, a regular file
 * only; its bytes are added to `files` so the full path does not read it again). Undefined when the subject
 * token must be obtained first, or anything is unusual (the full path then decides and reports).
 */
export function quickCacheKey(
  configBytes: Buffer,
  request: TokenRequest,
  env: Env,
  files: Map<string, Buffer>,
): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(configBytes.toString("utf8").replace(/^\uFEFF/, ""));
  } catch {
    return undefined;
  }
  const binding = subjectBindingOf(json);
  if (binding.kind === "obtained") return undefined;
  if (binding.kind === "environment") return tokenCacheKey(configBytes, request, env, undefined);
  try {
    const bytes = files.get(binding.path) ?? readFileBoundedSync(binding.path, { maxBytes: MAX_FILE_BYTES });
    files.set(binding.path, bytes);
    return tokenCacheKey(configBytes, request, env, subjectDigest(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Makes sure `directory` is a directory, creating what is missing one level at a time (mode 0700), and
 * returns its absolute path. A recursive mkdir on Node 20 loops for ever under /proc; one level at a time,
 * the first level that cannot be created is reported instead.
 */
export function ensureCacheDirectory(directory: string): string {
  const absolute = resolve(directory);
  const unusable = (detail: string, cause?: unknown) =>
    new WifError(
      `The token cache directory ${absolute} cannot be used: ${detail}. Point --cache-dir or ${CACHE_DIR_ENV} at a directory you own, or pass --no-cache.`,
      { code: CLI_ERROR_CODES.cacheDirectoryUnusable, cause },
    );
  const missing: string[] = [];
  for (let current = absolute; ; current = dirname(current)) {
    try {
      if (!statSync(current).isDirectory()) throw unusable(`${current} is not a directory`);
      break;
    } catch (error) {
      if (error instanceof WifError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" || dirname(current) === current)
        throw unusable(`${current}: ${code ?? "error"}`, error);
      missing.unshift(current);
    }
  }
  for (const level of missing) {
    try {
      mkdirSync(level, { mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST" || !statSync(level).isDirectory()) {
        throw unusable(`${level} cannot be created (${code ?? "error"})`, error);
      }
    }
  }
  return absolute;
}

/**
 * What the entry's fast path learned before handing a `token` or `id-token` run over to the full command,
 * so that the command parses, reads and looks up nothing twice.
 */
export interface WarmStart {
  command: "token" | "id-token";
  /** The command's flags, parsed by the entry with the command's own specs (specs.ts). */
  values: Record<string, unknown>;
  /** Files read so far (bounded), by the path they were read by: the configuration, a subject token file. */
  files: Map<string, Buffer>;
  /** The cache key the entry looked up and missed. */
  checkedKey?: string | undefined;
}
