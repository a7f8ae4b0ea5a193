export type { LockOptions, LockState } from "./file-lock.js";
export { DEFAULT_LOCK_STALE_MS, DEFAULT_LOCK_WAIT_MS } from "./file-lock.js";
export type {
  FileStoreErrorCode,
  FileTokenStore,
  FileTokenStoreOptions,
  TokenStore,
  TokenStoreCallOptions,
  TokenStoreReadOptions,
  WithFileStoreOptions,
} from "./file-store.js";
export {
  createFileTokenStore,
  DEFAULT_FILE_STORE_MIN_VALIDITY_MS,
  DEFAULT_FILE_STORE_TIMEOUT_MS,
  FILE_STORE_ERROR_CODES,
  FILE_STORE_FORMAT_VERSION,
  withFileStore,
} from "./file-store.js";
export type { KeyedCache, KeyedCacheOptions } from "./keyed-cache.js";
export { canonicalKey, createKeyedCache, DEFAULT_MAX_ENTRIES } from "./keyed-cache.js";
