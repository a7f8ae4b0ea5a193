/**
 * HTTP tracing on `node:diagnostics_channel`: every attempt, response, failure and retry of every wifkit
 * HTTP call is published on one channel, for `wif --log-http`, the sidecar's debug log, and library users'
 * own logs or OpenTelemetry spans. Events carry no header, body or query string (where tokens, signatures
 * and secrets live), only what identifies the call; publishing costs nothing while nobody subscribes.
 */
import diagnosticsChannel from "node:diagnostics_channel";

/** The channel name: `diagnostics_channel.subscribe(HTTP_TRACE_CHANNEL, listener)`. */
export const HTTP_TRACE_CHANNEL = "wifkit:http";

interface TraceBase {
  /** What the call is for: "Google STS token exchange". */
  operation: string;
  method: string;
  /** Scheme, host and path; never the query string or credentials. */
  url: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The proxy the request went through (scheme, host, port; never its credentials). */
  proxy?: string | undefined;
}

/** One event of the trace. */
export type HttpTraceEvent =
  | (TraceBase & { phase: "request" })
  | (TraceBase & { phase: "response"; status: number; durationMs: number })
  | (TraceBase & { phase: "error"; code: string; detail: string; durationMs: number })
  | (TraceBase & { phase: "retry"; reason: string; delayMs: number });

const channel = diagnosticsChannel.channel(HTTP_TRACE_CHANNEL);

/** Publishes an event; `build` runs only when someone listens. */
export function publishTrace(build: () => HttpTraceEvent): void {
  if (channel.hasSubscribers) channel.publish(build());
}

/**
 * Calls `listener` with every HTTP trace event until the returned function is called.
 *
 * @example
 * const stop = subscribeHttpTrace((event) => console.error(formatHttpTraceEvent(event)));
 */
export function subscribeHttpTrace(listener: (event: HttpTraceEvent) => void): () => void {
  const onMessage = (message: unknown) => listener(message as HttpTraceEvent);
  diagnosticsChannel.subscribe(HTTP_TRACE_CHANNEL, onMessage);
  return () => {
    diagnosticsChannel.unsubscribe(HTTP_TRACE_CHANNEL, onMessage);
  };
}

/**
 * One line per event, as `wif --log-http` prints it:
 * `--> POST https://sts.googleapis.com/v1/token (Google STS token exchange, attempt 1)`,
 * `<-- 200 POST https://sts.googleapis.com/v1/token 84 ms (attempt 1)`.
 */
export function formatHttpTraceEvent(event: HttpTraceEvent): string {
  const via = event.proxy ? ` via ${event.proxy}` : "";
  const target = `${event.method} ${event.url}`;
  switch (event.phase) {
    case "request":
      return `--> ${target}${via} (${event.operation}, attempt ${event.attempt})`;
    case "response":
      return `<-- ${event.status} ${target} ${Math.round(event.durationMs)} ms (attempt ${event.attempt})`;
    case "error":
      return `<-- ${event.code} ${target} ${Math.round(event.durationMs)} ms (attempt ${event.attempt}): ${event.detail}`;
    case "retry":
      return `... retrying ${target} in ${Math.round(event.delayMs)} ms after ${event.reason} (attempt ${event.attempt})`;
  }
}
