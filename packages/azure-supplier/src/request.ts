import type { HttpRequestInit, HttpResponse } from "@wifkit/http";
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
    ...virtualTimeOf(init),
  });
}

/**
 * The time seams for `httpRequest`: the clock goes along only with a `sleep` (together they are virtual
 * time); a clock alone is for expiry decisions and must not stretch the HTTP budget.
 */
export function virtualTimeOf(init: ResolvedInit["init"]): Pick<HttpRequestInit, "clock" | "sleep"> {
  return init.sleep ? { sleep: init.sleep, ...(init.clock ? { clock: init.clock } : {}) } : {};
}

export function isOk(response: HttpResponse): boolean {
  return response.status >= 200 && response.status < 300;
}
