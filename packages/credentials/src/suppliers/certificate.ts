import { createPrivateKey, X509Certificate } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type Provider,
  SourceUnavailableError,
  SUBJECT_TOKEN_TYPES,
  type SubjectToken,
  WifError,
} from "@wifkit/core";
import type { TlsClientOptions } from "@wifkit/http";
import { CREDENTIALS_ERROR_CODES } from "../errors.js";
import { asText, defaultReadFile, type Env, fileErrorCode, type ReadFile } from "../io.js";

/** Names a certificate config file, as gcloud and the Google libraries do. */
export const CERTIFICATE_CONFIG_ENV = "GOOGLE_API_CERTIFICATE_CONFIG";
/** The file name of the default certificate config in the gcloud config directory. */
export const DEFAULT_CERTIFICATE_CONFIG_FILE = "certificate_config.json";

/** A subject token for X.509 federation, with the client certificate and key the STS call must present. */
export interface CertificateSubjectToken extends SubjectToken {
  type: typeof SUBJECT_TOKEN_TYPES.mtls;
  /** The mutual TLS material for the token exchange (and IAM calls) that present this subject token. */
  tls: TlsClientOptions;
}

export interface FromCertificateInit {
  /** Path of a certificate config file (`credential_source.certificate.certificate_config_location`). */
  certificateConfigLocation?: string | undefined;
  /** Look the config up in `GOOGLE_API_CERTIFICATE_CONFIG`, then gcloud's directory. */
  useDefaultCertificateConfig?: boolean | undefined;
  /** PEM file with the certificates between the leaf and the trust anchor (`trust_chain_path`). */
  trustChainPath?: string | undefined;
  /** Environment seam (`GOOGLE_API_CERTIFICATE_CONFIG`, `CLOUDSDK_CONFIG`, `APPDATA`); default `process.env`. */
  env?: Env | undefined;
  /** File read seam. */
  readFile?: ReadFile | undefined;
  /** Home directory for `~/.config/gcloud`; default `os.homedir()`. */
  homeDir?: string | undefined;
}

/**
 * A subject token supplier for X.509 workload identity federation. It finds the certificate config (the
 * explicit path, else `GOOGLE_API_CERTIFICATE_CONFIG`, else `$CLOUDSDK_CONFIG` or `~/.config/gcloud` +
 * `/certificate_config.json`), reads `cert_configs.workload.cert_path` / `key_path`, and returns the
 * certificate chain as the subject token (a JSON array of base64 DER certificates, leaf first) together with
 * the TLS material the STS call must present. A config that cannot be found is `SourceUnavailableError`.
 *
 * @example
 * const supplier = fromCertificate({ useDefaultCertificateConfig: true, trustChainPath: "/etc/wif/chain.pem" });
 * const { token, tls } = await supplier();
 */
export function fromCertificate(init: FromCertificateInit): Provider<CertificateSubjectToken> {
  if (Boolean(init.useDefaultCertificateConfig) === Boolean(init.certificateConfigLocation)) {
    throw new WifError(
      "A certificate source needs exactly one of use_default_certificate_config: true or " +
        "certificate_config_location.",
      { code: CREDENTIALS_ERROR_CODES.certificateConfigInvalid },
    );
  }
  const readFile = init.readFile ?? defaultReadFile;
  // core keeps one keep-alive agent per TLS object, so an unchanged certificate reuses the same object.
  let lastTls: { cert: Buffer; key: Buffer } | undefined;
  const sameMaterial = (previous: typeof lastTls, cert: Buffer, key: Buffer) => {
    if (previous?.cert.equals(cert) && previous.key.equals(key)) return previous;
    lastTls = { cert, key };
    return lastTls;
  };
  return async (options) => {
    const signal = options?.signal;
    const env = init.env ?? process.env;
    const config = await findCertificateConfig(init, env, readFile, signal);
    const { certPath, keyPath } = readWorkloadPaths(config.text, config.path);
    const cert = await readMaterial(readFile, certPath, "certificate", config.path, signal);
    const key = await readMaterial(readFile, keyPath, "private key", config.path, signal);
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(cert);
    } catch (cause) {
      throw new WifError(`The certificate ${certPath} is not a PEM or DER X.509 certificate.`, {
        code: CREDENTIALS_ERROR_CODES.certificateInvalid,
        cause,
      });
    }
    try {
      createPrivateKey(key);
    } catch {
      // The parser's error is not kept: it is about key material.
      throw new WifError(`The private key ${keyPath} is not a PEM or DER private key.`, {
        code: CREDENTIALS_ERROR_CODES.certificateInvalid,
      });
    }
    const chain = init.trustChainPath
      ? await readTrustChain(readFile, init.trustChainPath, leaf, signal)
      : [leaf];
    return {
      token: JSON.stringify(chain.map((certificate) => certificate.raw.toString("base64"))),
      type: SUBJECT_TOKEN_TYPES.mtls,
      tls: sameMaterial(lastTls, cert, key),
    };
  };
}

/** Where the default certificate config lives: `$CLOUDSDK_CONFIG` or gcloud's config directory. */
export function defaultCertificateConfigPath(env: Env, homeDir?: string): string {
  if (env.CLOUDSDK_CONFIG) return join(env.CLOUDSDK_CONFIG, DEFAULT_CERTIFICATE_CONFIG_FILE);
  if (process.platform === "win32" && env.APPDATA) {
    return join(env.APPDATA, "gcloud", DEFAULT_CERTIFICATE_CONFIG_FILE);
  }
  return join(homeDir ?? homedir(), ".config", "gcloud", DEFAULT_CERTIFICATE_CONFIG_FILE);
}

async function findCertificateConfig(
  init: FromCertificateInit,
  env: Env,
  readFile: ReadFile,
  signal: AbortSignal | undefined,
): Promise<{ path: string; text: string }> {
  const candidate = init.certificateConfigLocation
    ? { path: init.certificateConfigLocation, from: "certificate_config_location" }
    : env[CERTIFICATE_CONFIG_ENV]
      ? { path: env[CERTIFICATE_CONFIG_ENV], from: CERTIFICATE_CONFIG_ENV }
      : { path: defaultCertificateConfigPath(env, init.homeDir), from: "the gcloud default location" };
  try {
    return { path: candidate.path, text: asText(await readFile(candidate.path, { signal })) };
  } catch (error) {
    const code = fileErrorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new SourceUnavailableError(
        `No certificate config at ${candidate.path} (from ${candidate.from}). Create one with ` +
          `"gcloud iam workload-identity-pools create-cred-config --credential-cert-path ..." or set ` +
          `${CERTIFICATE_CONFIG_ENV}.`,
        { code: CREDENTIALS_ERROR_CODES.certificateConfigNotFound, cause: error },
      );
    }
    throw new WifError(`Could not read the certificate config ${candidate.path}: ${code ?? "read failed"}.`, {
      code: CREDENTIALS_ERROR_CODES.certificateConfigInvalid,
      cause: error,
    });
  }
}

function readWorkloadPaths(text: string, path: string): { certPath: string; keyPath: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WifError(`The certificate config ${path} is not valid JSON.`, {
      code: CREDENTIALS_ERROR_CODES.certificateConfigInvalid,
    });
  }
  const workload = (parsed as { cert_configs?: { workload?: Record<string, unknown> } } | null)?.cert_configs
    ?.workload;
  const certPath = workload?.cert_path;
  const keyPath = workload?.key_path;
  if (typeof certPath !== "string" || certPath === "" || typeof keyPath !== "string" || keyPath === "") {
    throw new WifError(
      `The certificate config ${path} needs cert_configs.workload.cert_path and cert_configs.workload.key_path.`,
      { code: CREDENTIALS_ERROR_CODES.certificateConfigInvalid },
    );
  }
  return { certPath, keyPath };
}

async function readMaterial(
  readFile: ReadFile,
  path: string,
  what: string,
  configPath: string,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  try {
    const content = await readFile(path, { signal });
    return typeof content === "string"
      ? Buffer.from(content)
      : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  } catch (error) {
    throw new WifError(
      `Could not read the ${what} ${path} named in ${configPath}: ${fileErrorCode(error) ?? "read failed"}.`,
      { code: CREDENTIALS_ERROR_CODES.certificateUnreadable, cause: error },
    );
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function readTrustChain(
  readFile: ReadFile,
  path: string,
  leaf: X509Certificate,
  signal: AbortSignal | undefined,
): Promise<X509Certificate[]> {
  let text: string;
  try {
    text = asText(await readFile(path, { signal }));
  } catch (error) {
    throw new WifError(
      `Could not read the trust chain ${path} (credential_source.certificate.trust_chain_path): ` +
        `${fileErrorCode(error) ?? "read failed"}.`,
      { code: CREDENTIALS_ERROR_CODES.certificateUnreadable, cause: error },
    );
  }
  const chain = (text.match(PEM_CERTIFICATE) ?? []).map((pem, index) => {
    try {
      return new X509Certificate(pem);
    } catch (cause) {
      throw new WifError(
        `Certificate ${index} in the trust chain ${path} is not a valid X.509 certificate.`,
        {
          code: CREDENTIALS_ERROR_CODES.certificateChainInvalid,
          cause,
        },
      );
    }
  });
  const leafIndex = chain.findIndex((certificate) => certificate.raw.equals(leaf.raw));
  if (leafIndex === -1) return [leaf, ...chain];
  if (leafIndex === 0) return chain;
  throw new WifError(
    `The trust chain ${path} contains the leaf certificate at position ${leafIndex}; it must come first or ` +
      `not at all.`,
    { code: CREDENTIALS_ERROR_CODES.certificateChainInvalid },
  );
}
