import { CORE_ERROR_CODES, invalidOption, isSourceUnavailable, SourceUnavailableError } from "./errors.js";
import { type Clock, durationOption, systemClock } from "./seams.js";

/**
 * How long `rememberUnavailable` keeps a "not here" verdict: long enough that a black-holed metadata address
 * costs one probe timeout now and then rather than one per call, short enough that a machine whose identity
 * appears later (an instance profile attached, a sidecar agent started) is noticed without a restart.
 */
export const DEFAULT_UNAVAILABLE_FOR_MS = 10 * 60_000;

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

export interface RememberUnavailableOptions {
  /** How long a "not here" verdict is kept. Default `DEFAULT_UNAVAILABLE_FOR_MS`. */
  forMs?: number;
  /** Time source for that lifetime. Default `systemClock`. */
  clock?: Clock;
}

/**
 * A negative cache for a credential source: once `provider` says its source does not apply here (an error
 * `isSourceUnavailable` recognises), calls within `forMs` get that same error at once, without calling it
 * again. Probing a metadata address that nobody answers costs a timeout; where the process runs does not
 * change from one call to the next. Any other outcome is not remembered, and `forceRefresh` does not skip the
 * verdict (it asks for a fresh value, not a fresh look at the machine). Wrap it inside `memoize`, which merges
 * concurrent first calls into one probe.
 *
 * @example
 * const credentials = memoize(chain(fromEnv(), rememberUnavailable(fromInstanceMetadata())));
 */
export function rememberUnavailable<T>(
  provider: Provider<T>,
  options: RememberUnavailableOptions = {},
): Provider<T> {
  const clock = options.clock ?? systemClock;
  const forMs = durationOption(options.forMs, DEFAULT_UNAVAILABLE_FOR_MS, "forMs");
  let verdict: { error: unknown; untilMs: number } | undefined;
  return async (callOptions) => {
    if (verdict && clock.now() < verdict.untilMs) throw verdict.error;
    verdict = undefined;
    try {
      return await provider(callOptions);
    } catch (error) {
      if (isSourceUnavailable(error)) verdict = { error, untilMs: clock.now() + forMs };
      throw error;
    }
  };
}
