import type { HttpResponse } from "@wifkit/http";
import { httpRequest, isTransientStatus } from "@wifkit/http";
import type { ResolvedInit } from "./options.js";

export interface TokenRequest {
  url: URL;
  method?: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  operation: string;
  /** Entra ID is a normal OAuth endpoint where 404 means a wrong URL, not "not ready yet". */
  entra?: boolean;
}

/** One token request through core's HTTP layer with this supplier's timeout, retry policy and transport. */
export function sendTokenRequest(
  resolved: ResolvedInit,
  request: TokenRequest,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  const { retry, init } = resolved;
  return httpRequest({
    url: request.url,
    method: request.method ?? "GET",
    headers: { accept: "application/json", ...request.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
    operation: request.operation,
    timeoutMs: resolved.timeoutMs,
    retry:
      retry === false
        ? false
        : request.entra
          ? { ...retry, retryOnStatus: (init.retry || undefined)?.retryOnStatus ?? isTransientStatus }
          : retry,
    ...(signal ? { signal } : {}),
    ...(init.transport ? { transport: init.transport } : {}),
    ...(init.random ? { random: init.random } : {}),
  });
}

export function isOk(response: HttpResponse): boolean {
  return response.status >= 200 && response.status < 300;
}
