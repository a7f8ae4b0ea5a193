/** Small HTTP helpers for the emulator's integration tests (no retries: each call is one request). */
import { httpRequest } from "@wifkit/http";
import type { Emulator } from "../src/index.js";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON documents field by field.
  json: () => any;
}

export async function call(
  url: string,
  init: { method?: "GET" | "POST" | "PUT"; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const response = await httpRequest({ url, retry: false, timeoutMs: 10_000, ...init });
  const text = response.body.toString("utf8");
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return call(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return call(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
export const AWS4_REQUEST = "urn:ietf:params:aws:token-type:aws4_request";
export const JWT = "urn:ietf:params:oauth:token-type:jwt";
export const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

/** One STS token exchange, with every field overridable. */
export function exchange(emulator: Emulator, fields: Record<string, string | undefined>) {
  const form: Record<string, string> = {
    grant_type: TOKEN_EXCHANGE,
    requested_token_type: ACCESS_TOKEN,
    scope: CLOUD_PLATFORM,
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete form[key];
    else form[key] = value;
  }
  return postForm(`${emulator.urls.sts}/v1/token`, form);
}

export function awsExchange(
  emulator: Emulator,
  subjectToken: string,
  audience = emulator.providerAudience("aws-provider"),
) {
  return exchange(emulator, { audience, subject_token_type: AWS4_REQUEST, subject_token: subjectToken });
}

export function oidcExchange(emulator: Emulator, subjectToken: string, provider = "azure-provider") {
  return exchange(emulator, {
    audience: emulator.providerAudience(provider),
    subject_token_type: JWT,
    subject_token: subjectToken,
  });
}

/** A federated access token for the EC2 instance role, straight through STS. */
export async function federatedToken(emulator: Emulator): Promise<string> {
  const reply = await awsExchange(emulator, emulator.awsSubjectToken());
  if (reply.status !== 200) throw new Error(`STS refused: ${reply.text}`);
  return reply.json().access_token as string;
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

/** Re-serializes an AWS subject token after changing its parts. */
export function editAwsToken(
  token: string,
  edit: (request: { url: string; method: string; headers: Array<{ key: string; value: string }> }) => void,
): string {
  const request = JSON.parse(decodeURIComponent(token));
  edit(request);
  return encodeURIComponent(JSON.stringify(request));
}
