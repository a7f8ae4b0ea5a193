import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { WifError } from "@wifkit/core";
import { AWS_ERROR_CODES } from "./errors.js";
import type { AwsCredentials } from "./types.js";

/** What `gcloud iam workload-identity-pools create-cred-config --aws` writes as `regional_cred_verification_url`. */
export const DEFAULT_REGIONAL_CRED_VERIFICATION_URL =
  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";

/** AWS accepts a signed request for 15 minutes after its `x-amz-date`, so a subject token lives that long. */
export const SIGNATURE_VALIDITY_MS = 15 * 60 * 1000;

/** One header of the serialized request, lowercase key, in the order Google's client sends them. */
export interface SignedHeader {
  key: string;
  value: string;
}

/** A signed GetCallerIdentity request, ready for `serializeSubjectToken`. */
export interface SignedCallerIdentityRequest {
  /** The verification URL with `{region}` substituted, exactly as configured otherwise. */
  url: string;
  method: "POST";
  headers: SignedHeader[];
}

export interface SignGetCallerIdentityInit {
  credentials: AwsCredentials;
  region: string;
  /** The provider's full resource name (the credential config's `audience`), sent as `x-goog-cloud-target-resource`. */
  audience: string;
  /** The verification URL; `{region}` is replaced. Default `DEFAULT_REGIONAL_CRED_VERIFICATION_URL`. */
  url?: string;
  /** The signing date, which becomes `x-amz-date`. */
  date: Date;
}

// Smithy's signer wants a hash constructor in the AWS SDK's `Checksum` shape; node:crypto provides both
// the plain hash and the HMAC, and saves bundling a second SHA-256 implementation.
class NodeSha256 {
  private readonly secret: Uint8Array | string | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: Uint8Array | string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : toBytes(secret);
    this.hash = this.create();
  }

  update(chunk: Uint8Array | string): void {
    this.hash.update(chunk);
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", this.secret);
  }
}

function toBytes(data: Uint8Array | string | ArrayBuffer | ArrayBufferView): Uint8Array | string {
  if (typeof data === "string" || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Signs the AWS STS GetCallerIdentity request that Google STS replays to learn who the caller is: SigV4,
 * service `sts`, `POST` with an empty body, headers `host` and `x-amz-date` (plus `x-amz-security-token`
 * for temporary credentials) signed, no `x-amz-content-sha256`, then `x-goog-cloud-target-resource`
 * added unsigned. Pure apart from hashing: the same inputs and `date` always give the same request.
 *
 * @example
 * const signed = await signGetCallerIdentity({ credentials, region: "us-east-1", audience, date: new Date() });
 * const subjectToken = serializeSubjectToken(signed);
 */
export async function signGetCallerIdentity(
  init: SignGetCallerIdentityInit,
): Promise<SignedCallerIdentityRequest> {
  const { credentials, region, audience, date } = init;
  if (!/^[a-z0-9-]+$/.test(region)) {
    throw new WifError(`"${region}" is not an AWS region name (expected something like "us-east-1").`, {
      code: AWS_ERROR_CODES.regionInvalid,
    });
  }
  if (Number.isNaN(date.getTime())) {
    throw new WifError("The signing date is not a valid date.", { code: AWS_ERROR_CODES.signingFailed });
  }
  const urlText = (init.url ?? DEFAULT_REGIONAL_CRED_VERIFICATION_URL).replaceAll("{region}", region);
  let url: URL;
  try {
    url = new URL(urlText);
  } catch (cause) {
    throw new WifError(
      "The regional_cred_verification_url is not a valid URL after substituting {region}; check the credential configuration.",
      { code: AWS_ERROR_CODES.verificationUrlInvalid, cause },
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new WifError(`The regional_cred_verification_url must be an https URL, not ${url.protocol}.`, {
      code: AWS_ERROR_CODES.verificationUrlInvalid,
    });
  }

  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const existing = query[name];
    query[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const signer = new SignatureV4({
    service: "sts",
    region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname || "/",
      query,
      headers: { host: url.host },
    },
    { signingDate: date },
  );

  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(signed.headers)) headers.set(name.toLowerCase(), value);
  headers.set("x-goog-cloud-target-resource", audience);
  // google-auth-library collects the headers in a WHATWG Headers object, which iterates in name order;
  // sorting reproduces its token exactly, and gives a stable order for everyone else.
  const ordered = [...headers.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
  return { url: urlText, method: "POST", headers: ordered };
}

/**
 * Turns a signed GetCallerIdentity request into the subject token Google STS expects for
 * `urn:ietf:params:aws:token-type:aws4_request`: the JSON `{"url","method","headers":[{key,value}...]}`,
 * URL-encoded with `encodeURIComponent`.
 */
export function serializeSubjectToken(signed: SignedCallerIdentityRequest): string {
  return encodeURIComponent(
    JSON.stringify({
      url: signed.url,
      method: signed.method,
      headers: signed.headers.map(({ key, value }) => ({ key, value })),
    }),
  );
}

/**
 * Reads an AWS subject token back into the signed request it serializes (`serializeSubjectToken`'s inverse),
 * for tools that display it or replay it with `getCallerIdentity`. Throws `ERR_WIF_AWS_SUBJECT_TOKEN_INVALID`
 * when it is not one; the message never quotes the token.
 *
 * @example
 * const { url, headers } = deserializeSubjectToken(subjectToken);
 */
export function deserializeSubjectToken(token: string): SignedCallerIdentityRequest {
  let value: { url?: unknown; method?: unknown; headers?: unknown };
  try {
    value = JSON.parse(decodeURIComponent(token.replaceAll("+", " "))) as typeof value;
  } catch (cause) {
    throw notASubjectToken(cause);
  }
  const headers = Array.isArray(value?.headers) ? (value.headers as unknown[]) : undefined;
  const wellFormed = headers?.every(
    (header) =>
      typeof (header as SignedHeader | null)?.key === "string" &&
      typeof (header as SignedHeader).value === "string",
  );
  if (typeof value?.url !== "string" || !headers || !wellFormed || (value.method ?? "POST") !== "POST") {
    throw notASubjectToken(undefined);
  }
  return {
    url: value.url,
    method: "POST",
    headers: (headers as SignedHeader[]).map(({ key, value }) => ({ key, value })),
  };
}

function notASubjectToken(cause: unknown): WifError {
  return new WifError(
    "The subject token is not an AWS signed GetCallerIdentity request (URL-encoded JSON with url, method and headers).",
    { code: AWS_ERROR_CODES.subjectTokenInvalid, ...(cause === undefined ? {} : { cause }) },
  );
}
