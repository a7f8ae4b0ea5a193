import {
  invalidOption,
  type MemoizedProvider,
  type MemoizeOptions,
  memoize,
  type ProviderOptions,
} from "@wifkit/core";

/** How many keys a keyed cache holds before it evicts the least recently used one. */
export const DEFAULT_MAX_ENTRIES = 100;

const MAX_KEY_DEPTH = 32;

export interface KeyedCacheOptions<K, T> extends MemoizeOptions<T> {
  /** Fetches the token for one key. Receives the fetch's `signal` and, on a forced refresh, `forceRefresh`. */
  load: (key: K, options: ProviderOptions) => Promise<T>;
  /** Bound on cached keys; the least recently used is evicted beyond it. Default `DEFAULT_MAX_ENTRIES`. */
  maxEntries?: number;
  /** Maps a key to the string that identifies its entry. Default `canonicalKey`. */
  keyOf?: (key: K) => string;
}

/** One memoized provider per key (scope set, audience), bounded by `maxEntries`. */
export interface KeyedCache<K, T> {
  /** The token for `key`, with every guarantee of `memoize` (single flight, refresh ahead, never expired). */
  get(key: K, options?: ProviderOptions): Promise<T>;
  /** The cached, unexpired token for `key`, without fetching and without touching the LRU order. */
  peek(key: K): T | undefined;
  /** Forgets `key`; returns whether it was cached. */
  delete(key: K): boolean;
  /** Forgets every key. */
  clear(): void;
  /** Number of keys currently held. */
  readonly size: number;
}

/**
 * Creates a cache of memoized token providers, one per key, so that each scope set or audience has its
 * own single-flight, refreshed-ahead token. Keys are compared through `keyOf` (by default `canonicalKey`,
 * under which a `Set` of scopes matches in any order); beyond `maxEntries` keys the least recently used
 * entry is dropped. Hooks receive the entry's key in `event.key`.
 *
 * @example
 * const idTokens = createKeyedCache({
 *   load: (audience: string, { signal }) => generateIdToken({ serviceAccount, bearer, audience, signal }),
 *   maxEntries: 50,
 * });
 * const { idToken } = await idTokens.get("https://service.example.com");
 */
export function createKeyedCache<K, T extends { expiresAt: Date }>(
  options: KeyedCacheOptions<K, T>,
): KeyedCache<K, T> {
  const {
    load,
    keyOf = canonicalKey,
    maxEntries = DEFAULT_MAX_ENTRIES,
    onRefresh,
    onError,
    ...rest
  } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw invalidOption("maxEntries", `must be a whole number >= 1; got ${String(maxEntries)}.`);
  }
  // A Map iterates in insertion order; re-inserting on use keeps the least recently used entry first.
  const entries = new Map<string, MemoizedProvider<T>>();

  function entryFor(key: K): MemoizedProvider<T> {
    const id = keyOf(key);
    const existing = entries.get(id);
    if (existing) {
      entries.delete(id);
      entries.set(id, existing);
      return existing;
    }
    const memoizeOptions: MemoizeOptions<T> = { ...rest };
    if (onRefresh) memoizeOptions.onRefresh = (event) => onRefresh({ ...event, key: id });
    if (onError) memoizeOptions.onError = (event) => onError({ ...event, key: id });
    const created = memoize<T>((providerOptions = {}) => load(key, providerOptions), memoizeOptions);
    entries.set(id, created);
    // At most one insertion per call, so one eviction restores the bound.
    if (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
    return created;
  }

  return {
    get: (key, callOptions) => entryFor(key)(callOptions),
    peek: (key) => entries.get(keyOf(key))?.peek(),
    delete: (key) => entries.delete(keyOf(key)),
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}

/**
 * A stable string for a cache key: strings, numbers, booleans, null, Dates, arrays (order kept), plain objects
 * (property order ignored, `undefined` properties skipped), and Sets and Maps (order ignored, so a `Set` of
 * scopes matches whatever order it was built in). Throws `ERR_WIF_INVALID_OPTION` for anything else (functions, symbols,
 * class instances) and for keys nested deeper than 32 levels.
 *
 * @example
 * canonicalKey({ scopes: new Set(["b", "a"]), audience: "x" }) === canonicalKey({ audience: "x", scopes: new Set(["a", "b"]) });
 */
export function canonicalKey(key: unknown): string {
  return canonical(key, 0);
}

function canonical(value: unknown, depth: number): string {
  if (depth > MAX_KEY_DEPTH) throw invalidOption("key", `may nest at most ${MAX_KEY_DEPTH} levels.`);
  if (value === null || typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : `#${String(value)}`;
  if (value instanceof Date) return `@${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()}`;
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item, depth + 1)).join(",")}]`;
  if (value instanceof Set) {
    const items = [...value].map((item) => canonical(item, depth + 1)).sort();
    return `set[${items.join(",")}]`;
  }
  if (value instanceof Map) {
    const pairs = [...value].map(([k, v]) => `${canonical(k, depth + 1)}=>${canonical(v, depth + 1)}`).sort();
    return `map{${pairs.join(",")}}`;
  }
  if (typeof value === "object" && isPlainObject(value)) {
    const pairs = Object.keys(value)
      .sort()
      .filter((name) => (value as Record<string, unknown>)[name] !== undefined)
      .map(
        (name) => `${JSON.stringify(name)}:${canonical((value as Record<string, unknown>)[name], depth + 1)}`,
      );
    return `{${pairs.join(",")}}`;
  }
  throw invalidOption(
    "key",
    `cannot be a ${typeof value}: a cache key is built from plain data; pass keyOf to createKeyedCache to map such keys to strings.`,
  );
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
