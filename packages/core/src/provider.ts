import { SourceUnavailableError } from "./errors.js";

/** Options every provider call accepts. */
export interface ProviderOptions {
  /** Aborts the call, including any network I/O it is waiting on. */
  signal?: AbortSignal;
  /** Skip any cache and fetch a fresh value. */
  forceRefresh?: boolean;
}

/**
 * A source of a value that is fetched, and may be cached and refreshed: AWS credentials, a subject token,
 * a Google access token. Providers compose: `chain()` tries several, the token cache memoizes one.
 */
export type Provider<T> = (options?: ProviderOptions) => Promise<T>;

/**
 * Tries each provider in order and returns the first value. It moves on only when a provider throws
 * `SourceUnavailableError` (the source does not apply here); any other error stops the chain, because a
 * source that applies and fails must be reported rather than silently skipped.
 *
 * @example
 * const credentials = chain(fromEnv(), fromContainerMetadata(), fromInstanceMetadata());
 */
export function chain<T>(...providers: Provider<T>[]): Provider<T> {
  if (providers.length === 0) throw new TypeError("chain() needs at least one provider");
  return async (options) => {
    const skipped: string[] = [];
    for (const provider of providers) {
      options?.signal?.throwIfAborted();
      try {
        return await provider(options);
      } catch (error) {
        if (!(error instanceof SourceUnavailableError)) throw error;
        skipped.push(error.message);
      }
    }
    throw new SourceUnavailableError(`No credential source applies here. Tried: ${skipped.join(" ")}`, {
      code: "ERR_WIF_NO_SOURCE",
    });
  };
}

/** The clock seam: tests pass a clock they can move. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
