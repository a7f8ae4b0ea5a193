import type { Clock } from "@wifkit/core";
import { invalidOption } from "@wifkit/core";

/**
 * What a faulted request gets instead of (or before) its normal answer. Combine freely: `{ delayMs: 2000 }`
 * delays the real answer, `{ status: 503 }` replaces it, `{ status: 503, delayMs: 500 }` does both,
 * `{ retryAfterSeconds: 3 }` answers 429 with `Retry-After: 3`, `{ drop: true }` closes the connection
 * without a response.
 */
export interface Fault {
  /** Answer this HTTP status instead of handling the request. 429 when only `retryAfterSeconds` is set. */
  status?: number;
  /** Response body for `status` (an object is sent as JSON). Default: the service's own error shape. */
  body?: string | Record<string, unknown>;
  /** Extra response headers for `status`. */
  headers?: Record<string, string>;
  /** Adds `Retry-After: N` (and implies status 429 when `status` is not set). */
  retryAfterSeconds?: number;
  /**
   * Wait this long before answering, measured on the emulator clock: it passes with real time, and
   * `emulator.clock.advance(ms)` releases the answer at once (tests never wait real seconds).
   */
  delayMs?: number;
  /** Destroy the connection without answering (after `delayMs`, if set). */
  drop?: boolean;
  /** Apply to the next N matching requests. Default 1, or unlimited while `forMs` runs. */
  times?: number;
  /** Apply to every matching request for this long (measured on the emulator clock). */
  forMs?: number;
}

/** A fault in place; `clear()` removes it early. */
export interface FaultHandle {
  /** Requests this fault has affected so far. */
  readonly hits: number;
  /** False once it is used up, expired or cleared. */
  readonly active: boolean;
  clear(): void;
}

/**
 * Fault injection per route. `route` is a route name ("sts.token"), a prefix with a star ("aws.imds.*"),
 * or "*" for every route. Faults apply in the order they were injected.
 */
export interface EmulatorFaults {
  inject(route: string, fault: Fault): FaultHandle;
  /** Removes the faults of `route` (exactly as it was injected), or every fault. */
  clear(route?: string): void;
}

/** How often (real time) a delayed answer looks at the emulator clock. */
const DELAY_POLL_MS = 10;

interface ActiveFault {
  route: string;
  fault: Fault;
  remaining: number;
  until: number;
  hits: number;
  cleared: boolean;
}

export class FaultRegistry implements EmulatorFaults {
  readonly #faults: ActiveFault[] = [];
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  inject(route: string, fault: Fault): FaultHandle {
    validateFault(route, fault);
    const entry: ActiveFault = {
      route,
      fault,
      remaining: fault.times ?? (fault.forMs === undefined ? 1 : Number.POSITIVE_INFINITY),
      until: fault.forMs === undefined ? Number.POSITIVE_INFINITY : this.#clock.now() + fault.forMs,
      hits: 0,
      cleared: false,
    };
    this.#faults.push(entry);
    const isActive = () => !entry.cleared && entry.remaining > 0 && this.#clock.now() < entry.until;
    const remove = () => {
      entry.cleared = true;
      const index = this.#faults.indexOf(entry);
      if (index >= 0) this.#faults.splice(index, 1);
    };
    return {
      get hits() {
        return entry.hits;
      },
      get active() {
        return isActive();
      },
      clear: remove,
    };
  }

  clear(route?: string): void {
    for (let index = this.#faults.length - 1; index >= 0; index--) {
      const entry = this.#faults[index]!;
      if (route === undefined || entry.route === route) {
        entry.cleared = true;
        this.#faults.splice(index, 1);
      }
    }
  }

  /**
   * Holds a delayed answer until the emulator clock is `ms` past now, or until the client goes away
   * (`response` closes). The clock is looked at every `DELAY_POLL_MS` of real time, so both its flow and a
   * test's `clock.advance()` release the answer.
   */
  delay(
    ms: number,
    response: {
      once(event: "close", listener: () => void): unknown;
      off(event: "close", listener: () => void): unknown;
    },
  ): Promise<void> {
    const releaseAt = this.#clock.now() + ms;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        response.off("close", done);
        resolve();
      };
      const check = () => {
        const left = releaseAt - this.#clock.now();
        if (left <= 0) return done();
        timer = setTimeout(check, Math.min(left, DELAY_POLL_MS));
      };
      response.once("close", done);
      check();
    });
  }

  /** The fault for this request, if any, consuming one use of it. */
  take(routeName: string): Fault | undefined {
    const now = this.#clock.now();
    for (let index = 0; index < this.#faults.length; index++) {
      const entry = this.#faults[index]!;
      if (entry.remaining <= 0 || now >= entry.until) {
        this.#faults.splice(index, 1);
        index--;
        continue;
      }
      if (!routeMatches(entry.route, routeName)) continue;
      entry.remaining--;
      entry.hits++;
      if (entry.remaining <= 0) this.#faults.splice(index, 1);
      return entry.fault;
    }
    return undefined;
  }
}

function routeMatches(pattern: string, routeName: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return routeName.startsWith(pattern.slice(0, -1));
  return pattern === routeName;
}

function validateFault(route: string, fault: Fault): void {
  if (typeof route !== "string" || route.length === 0)
    throw invalidOption("route", "of faults.inject(route, fault) must be a route name such as sts.token.");
  const checks: Array<[string, number | undefined, number]> = [
    ["times", fault.times, 1],
    ["forMs", fault.forMs, 1],
    ["delayMs", fault.delayMs, 0],
    ["retryAfterSeconds", fault.retryAfterSeconds, 0],
  ];
  for (const [name, value, min] of checks) {
    if (value !== undefined && (!Number.isFinite(value) || value < min)) {
      throw invalidOption(`fault.${name}`, `must be a number >= ${min}.`);
    }
  }
  if (
    fault.status !== undefined &&
    (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599)
  ) {
    throw invalidOption("fault.status", "must be an HTTP status between 100 and 599.");
  }
  const doesSomething =
    fault.status !== undefined ||
    fault.retryAfterSeconds !== undefined ||
    fault.delayMs !== undefined ||
    fault.drop;
  if (!doesSomething) throw invalidOption("fault", "needs status, retryAfterSeconds, delayMs or drop.");
}
