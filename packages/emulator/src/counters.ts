/**
 * Requests per route, counted when a request reaches a route (faulted and failed requests included), so a
 * test can assert exactly how many exchanges a client made, retries and all.
 */
export interface EmulatorCounters {
  /** Requests that reached `route` (e.g. "sts.token") since start or the last `reset()`. */
  get(route: string): number;
  /** Every non-zero counter, by route name. */
  all(): Record<string, number>;
  /** Sets every counter back to zero. */
  reset(): void;
}

export class RequestCounters implements EmulatorCounters {
  readonly #counts = new Map<string, number>();

  increment(route: string): void {
    this.#counts.set(route, (this.#counts.get(route) ?? 0) + 1);
  }

  get(route: string): number {
    return this.#counts.get(route) ?? 0;
  }

  all(): Record<string, number> {
    return Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.#counts.clear();
  }
}
