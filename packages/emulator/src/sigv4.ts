import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * AWS Signature Version 4, verified the way AWS verifies it: the canonical request is rebuilt from the
 * headers named in SignedHeaders only (everything else is ignored), the payload hash is computed from the
 * body, the credential scope must name today's date (per x-amz-date), a region and the service, and the
 * request time must be within 15 minutes of the verifier's clock. Errors carry AWS's codes and texts.
 */

export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";
export const MAX_SIGNATURE_SKEW_MS = 15 * 60 * 1000;

/** An AWS access key the verifier knows, with the principal it belongs to. */
export interface AwsKeyRecord {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for temporary credentials; requests must carry it as `x-amz-security-token`. */
  sessionToken?: string | undefined;
  /** `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` or `arn:aws:iam::ACCT:user/NAME`. */
  arn: string;
  account: string;
  /** `AROA...:SESSION` for roles, `AIDA...` for users. */
  userId: string;
  /** Milliseconds since the epoch after which the key is refused with ExpiredToken. */
  expiresAt?: number | undefined;
}

export interface SignedRequest {
  method: string;
  url: URL;
  /** Header pairs, any case; repeated names are joined with "," as AWS does. */
  headers: Array<[string, string]>;
  body: string | Buffer;
}

export interface VerifyOptions {
  lookupKey(accessKeyId: string): AwsKeyRecord | undefined;
  /** The verifier's clock, milliseconds since the epoch. */
  now: number;
  service: string;
  /** The region the endpoint serves; omitted when any region is acceptable (a loopback endpoint). */
  region?: string | undefined;
}

export type VerifyResult =
  | { ok: true; key: AwsKeyRecord; region: string }
  | { ok: false; status: 400 | 403; code: AwsAuthErrorCode; message: string };

export type AwsAuthErrorCode =
  | "IncompleteSignature"
  | "InvalidClientTokenId"
  | "SignatureDoesNotMatch"
  | "ExpiredToken"
  | "MissingAuthenticationToken";

const MISMATCH_MESSAGE =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid.";

/** Verifies a SigV4-signed request; see the module comment for what is checked. */
export function verifySigV4(request: SignedRequest, options: VerifyOptions): VerifyResult {
  const headers = collectHeaders(request.headers);
  const authorization = headers.get("authorization");
  if (authorization === undefined) {
    return fail(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
  }
  const parsed = parseAuthorization(authorization);
  if (typeof parsed === "string") return fail(400, "IncompleteSignature", parsed);
  const { accessKeyId, date, region, service, signedHeaders, signature } = parsed;

  const key = options.lookupKey(accessKeyId);
  if (!key) return fail(403, "InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
  const presentedToken = headers.get("x-amz-security-token");
  if ((key.sessionToken ?? undefined) !== presentedToken) {
    return fail(403, "InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
  }
  if (key.expiresAt !== undefined && key.expiresAt <= options.now) {
    return fail(403, "ExpiredToken", "The security token included in the request is expired");
  }

  const amzDate = headers.get("x-amz-date") ?? headers.get("date");
  const requestTime = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || requestTime === undefined) {
    return fail(
      400,
      "IncompleteSignature",
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  const requestStamp = formatAmzDate(requestTime);
  if (requestTime < options.now - MAX_SIGNATURE_SKEW_MS) {
    return fail(
      403,
      "SignatureDoesNotMatch",
      `Signature expired: ${requestStamp} is now earlier than ${formatAmzDate(options.now - MAX_SIGNATURE_SKEW_MS)} (${formatAmzDate(options.now)} - 15 min.)`,
    );
  }
  if (requestTime > options.now + MAX_SIGNATURE_SKEW_MS) {
    return fail(
      403,
      "SignatureDoesNotMatch",
      `Signature not yet current: ${requestStamp} is still later than ${formatAmzDate(options.now + MAX_SIGNATURE_SKEW_MS)} (${formatAmzDate(options.now)} + 15 min.)`,
    );
  }
  if (date !== requestStamp.slice(0, 8)) {
    return fail(
      403,
      "SignatureDoesNotMatch",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${requestStamp.slice(0, 8)}', from '${requestStamp}'.`,
    );
  }
  if (service !== options.service) {
    return fail(
      403,
      "SignatureDoesNotMatch",
      `Credential should be scoped to correct service: '${options.service}'. `,
    );
  }
  if (options.region !== undefined && region !== options.region) {
    return fail(
      403,
      "SignatureDoesNotMatch",
      `Credential should be scoped to a valid region, not '${region}'. `,
    );
  }
  if (!signedHeaders.includes("host")) {
    return fail(
      400,
      "IncompleteSignature",
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }

  const expected = computeSignature({
    method: request.method,
    url: request.url,
    headers,
    signedHeaders,
    body: request.body,
    amzDate: amzDate,
    scope: { date, region, service },
    secretAccessKey: key.secretAccessKey,
  });
  const given = Buffer.from(signature, "utf8");
  const wanted = Buffer.from(expected, "utf8");
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return fail(403, "SignatureDoesNotMatch", MISMATCH_MESSAGE);
  }
  return { ok: true, key, region };
}

export interface SignInit {
  method: string;
  url: URL;
  /** Headers to send and sign besides host and x-amz-date (x-amz-security-token is added from credentials). */
  headers?: Array<[string, string]>;
  body?: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  region: string;
  service: string;
  /** Signing time, milliseconds since the epoch. */
  time: number;
}

/**
 * Signs a request with SigV4 the way AWS SDKs do for STS (no x-amz-content-sha256 header) and returns the
 * headers to send, lower-cased, in a stable order.
 */
export function signSigV4(init: SignInit): Array<[string, string]> {
  const amzDate = formatAmzDate(init.time);
  const headers: Array<[string, string]> = [
    ["host", init.url.host],
    ["x-amz-date", amzDate],
    ...(init.credentials.sessionToken
      ? ([["x-amz-security-token", init.credentials.sessionToken]] as Array<[string, string]>)
      : []),
    ...(init.headers ?? []).map(([name, value]) => [name.toLowerCase(), value] as [string, string]),
  ];
  const collected = collectHeaders(headers);
  const signedHeaders = [...collected.keys()].sort();
  const scope = { date: amzDate.slice(0, 8), region: init.region, service: init.service };
  const signature = computeSignature({
    method: init.method,
    url: init.url,
    headers: collected,
    signedHeaders,
    body: init.body ?? "",
    amzDate,
    scope,
    secretAccessKey: init.credentials.secretAccessKey,
  });
  const credential = `${init.credentials.accessKeyId}/${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  return [
    ...headers,
    [
      "authorization",
      `${SIGV4_ALGORITHM} Credential=${credential}, SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`,
    ],
  ];
}

interface SignatureInput {
  method: string;
  url: URL;
  headers: Map<string, string>;
  signedHeaders: string[];
  body: string | Buffer;
  amzDate: string;
  scope: { date: string; region: string; service: string };
  secretAccessKey: string;
}

function computeSignature(input: SignatureInput): string {
  const canonicalHeaders = input.signedHeaders
    .map((name) => `${name}:${canonicalHeaderValue(input.headers.get(name) ?? "")}\n`)
    .join("");
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(input.url),
    canonicalQuery(input.url),
    canonicalHeaders,
    input.signedHeaders.join(";"),
    sha256Hex(input.body),
  ].join("\n");
  const credentialScope = `${input.scope.date}/${input.scope.region}/${input.scope.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, input.amzDate, credentialScope, sha256Hex(canonicalRequest)].join(
    "\n",
  );
  let signingKey = hmac(`AWS4${input.secretAccessKey}`, input.scope.date);
  signingKey = hmac(signingKey, input.scope.region);
  signingKey = hmac(signingKey, input.scope.service);
  signingKey = hmac(signingKey, "aws4_request");
  return createHmac("sha256", signingKey).update(stringToSign).digest("hex");
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): ParsedAuthorization | string {
  const trimmed = value.trim();
  const space = trimmed.indexOf(" ");
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    return `Authorization header requires the '${SIGV4_ALGORITHM}' algorithm.`;
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(",")) {
    const equals = part.indexOf("=");
    if (equals < 0) continue;
    fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  for (const required of ["Credential", "SignedHeaders", "Signature"]) {
    if (!fields.get(required)) {
      return `Authorization header requires '${required}' parameter. Authorization=${SIGV4_ALGORITHM} ...`;
    }
  }
  const credential = fields.get("Credential")!.split("/");
  if (credential.length !== 5 || credential[4] !== "aws4_request" || credential.some((part) => part === "")) {
    return "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.";
  }
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: fields
      .get("SignedHeaders")!
      .split(";")
      .map((name) => name.trim().toLowerCase()),
    signature: fields.get("Signature")!,
  };
}

function collectHeaders(pairs: Array<[string, string]>): Map<string, string> {
  const headers = new Map<string, string>();
  for (const [rawName, value] of pairs) {
    const name = rawName.toLowerCase();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  return headers;
}

function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, " ");
}

function canonicalUri(url: URL): string {
  const path = url.pathname === "" ? "/" : url.pathname;
  // Non-S3 services encode each (already encoded) path segment once more.
  return path
    .split("/")
    .map((segment) => rfc3986(segment))
    .join("/");
}

function canonicalQuery(url: URL): string {
  const raw = url.search.startsWith("?") ? url.search.slice(1) : url.search;
  if (raw === "") return "";
  const pairs = raw
    .split("&")
    .filter((part) => part !== "")
    .map((part) => {
      const equals = part.indexOf("=");
      const name = equals < 0 ? part : part.slice(0, equals);
      const value = equals < 0 ? "" : part.slice(equals + 1);
      return [rfc3986(safeDecode(name)), rfc3986(safeDecode(value))] as const;
    });
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join("&");
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** `20210620T105759Z` for a time in milliseconds. */
export function formatAmzDate(time: number): string {
  return new Date(Math.floor(time / 1000) * 1000)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

function parseAmzDate(value: string): number | undefined {
  const compact = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value.trim());
  if (compact) {
    const [, y, mo, d, h, mi, s] = compact;
    return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  }
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function fail(status: 400 | 403, code: AwsAuthErrorCode, message: string): VerifyResult {
  return { ok: false, status, code, message };
}
