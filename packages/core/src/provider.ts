import { CORE_ERROR_CODES, invalidOption, isSourceUnavailable, SourceUnavailableError } from "./errors.js";

/** Options every provider call accepts. */
export interface ProviderOptions {
  /** Aborts the call, including any network I/O it is waiting on. */
  signal?: AbortSignal;
  /** Skip any cache and fetch a fresh value. */
  forceRefresh?: boolean;
}

/**
 * A source of a value that is fetched, and may be cached and refreshed: AWS credentials, a subject token,
 * a Google access token. Providers compose: `chain()` tries several, `memoize()` caches one.
 */
export type Provider<T> = (options?: ProviderOptions) => Promise<T>;

/**
 * Tries each provider in order and returns the first value. It moves on only when a provider says its
 * source does not apply here (`SourceUnavailableError`, recognised by its `tryNextLink` flag, so a copy
 * thrown by another installed version of this package counts too); any other error stops the chain,
 * because a source that applies and fails must be reported rather than silently skipped.
 *
 * @example
 * const credentials = memoize(chain(fromEnv(), fromContainerMetadata(), fromInstanceMetadata()));
 */
export function chain<T>(...providers: Provider<T>[]): Provider<T> {
  if (providers.length === 0) throw invalidOption("providers", "of chain() needs at least one provider.");
  return async (options) => {
    const skipped: string[] = [];
    for (const provider of providers) {
      options?.signal?.throwIfAborted();
      try {
        return await provider(options);
      } catch (error) {
        if (!isSourceUnavailable(error)) throw error;
        skipped.push(error.message);
      }
    }
    throw new SourceUnavailableError(`No credential source applies here. Tried: ${skipped.join(" ")}`, {
      code: CORE_ERROR_CODES.noSource,
    });
  };
}
