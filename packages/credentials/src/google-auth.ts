/**
 * An adapter for Google's client libraries (`@google-cloud/*`, `googleapis`), which accept an `authClient`.
 * wifkit does not depend on google-auth-library: you pass its `AuthClient` class from your own install, and
 * the adapter subclasses it, so the libraries get a genuine `AuthClient` (transporter, interceptors, `fetch`
 * where the version has it) whose tokens come from a wifkit credential.
 *
 * google-auth-library 9 (inside `@google-cloud/storage` 7, the newest storage on Node 20) and 10/11 (storage 8,
 * Node 22) disagree on one thing an `AuthClient` hands out: request headers. 9 expects a plain object and
 * merges it with `Object.assign`; 10 and 11 expect a `Headers`. The adapter answers in a shape both read, so
 * it works whichever major's class it extends and whichever major's `GoogleAuth` or library calls it.
 */
import { type Credentials, requestHeaders } from "./credentials.js";

/** What the adapter uses of google-auth-library's `AuthClient` instances (versions 9, 10 and 11). */
export interface AuthClientInstance {
  transporter: { request(options: never): Promise<unknown> };
  credentials: unknown;
  quotaProjectId?: string | undefined;
  universeDomain: string;
}

/** google-auth-library's `AuthClient` class, or any subclass of it. */
// biome-ignore lint/suspicious/noExplicitAny: the constructor's options type belongs to google-auth-library.
export type AuthClientClass = abstract new (options?: any) => AuthClientInstance;

export interface ToAuthClientOptions<C extends AuthClientClass> {
  /**
   * `AuthClient` from the google-auth-library your client library uses (`npm ls google-auth-library`):
   * version 9 for `@google-cloud/storage` 7, 11 for storage 8. The result has this class's type.
   */
  AuthClient: C;
  /** Scopes of the access tokens the client presents. Default: the credential's default scopes. */
  scopes?: readonly string[] | undefined;
}

/** Headers as gaxios takes them: a plain object (gaxios 6, with google-auth-library 9) or any `HeadersInit`. */
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** The shape of gaxios request options the adapter touches. */
interface RequestOptions {
  headers?: HeadersInit;
  [key: string]: unknown;
}

/**
 * Wraps a wifkit credential as a google-auth-library `AuthClient`, for any Google client library option
 * that takes `authClient`. `getAccessToken()`, `getRequestHeaders()` and `request()` draw on the
 * credential's cache, and a request answered 401 is retried once with a fresh token.
 *
 * @example
 * import { Storage } from "@google-cloud/storage";
 * import { AuthClient } from "google-auth-library"; // the major your @google-cloud/storage uses
 *
 * const credentials = await fromConfig("./wif-config.json");
 * const storage = new Storage({ authClient: toAuthClient(credentials, { AuthClient }) });
 */
export function toAuthClient<C extends AuthClientClass>(
  credentials: Credentials,
  options: ToAuthClientOptions<C>,
): InstanceType<C> {
  const scopes = options.scopes;
  // At run time an abstract class is an ordinary constructor; only the type system needs persuading.
  const Base = options.AuthClient as unknown as new (options?: Record<string, unknown>) => AuthClientInstance;
  // `AuthClient.fetch` arrived in google-auth-library 10, with gaxios 7, the first to take `Headers`.
  const transporterTakesHeaders = typeof Base.prototype.fetch === "function";

  class WifkitAuthClient extends Base {
    constructor() {
      super({
        universeDomain: credentials.universeDomain,
        ...(credentials.quotaProjectId ? { quotaProjectId: credentials.quotaProjectId } : {}),
      });
    }

    async getAccessToken(): Promise<{ token: string; res: null }> {
      return { token: (await this.#authorization(false)).token, res: null };
    }

    async getRequestHeaders(_url?: string | URL): Promise<Headers & Record<string, string>> {
      return readableByEveryMajor((await this.#authorization(false)).headers);
    }

    async request(requestOptions: RequestOptions): Promise<unknown> {
      try {
        return await this.#send(requestOptions, false);
      } catch (error) {
        const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
        if (status !== 401) throw error;
        // A token revoked or rejected before its expiry: one retry with a fresh one, as Google's clients do.
        return this.#send(requestOptions, true);
      }
    }

    async #authorization(forceRefresh: boolean) {
      const token = await credentials.getAccessToken({
        ...(scopes ? { scopes } : {}),
        ...(forceRefresh ? { forceRefresh } : {}),
      });
      // Some library code reads `credentials` directly (expiry checks); keep it in step.
      this.credentials = {
        access_token: token.value,
        expiry_date: token.expiresAt.getTime(),
        token_type: "Bearer",
      };
      // `quotaProjectId` is read at each call, as google-auth-library's clients do: a library may set it.
      return { token: token.value, headers: requestHeaders(token, this.quotaProjectId) };
    }

    async #send(requestOptions: RequestOptions, forceRefresh: boolean): Promise<unknown> {
      const { headers } = await this.#authorization(forceRefresh);
      return this.transporter.request({
        ...requestOptions,
        headers: mergeHeaders(requestOptions.headers, headers, transporterTakesHeaders),
      } as never);
    }
  }

  return new WifkitAuthClient() as unknown as InstanceType<C>;
}

/**
 * A `Headers` (what google-auth-library 10 and 11 read) that also carries each header as an own enumerable
 * property, because google-auth-library 9 copies them into a request with `Object.assign`.
 */
function readableByEveryMajor(headers: Record<string, string>): Headers & Record<string, string> {
  const result = new Headers(headers);
  for (const [name, value] of Object.entries(headers)) {
    Object.defineProperty(result, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return result as Headers & Record<string, string>;
}

/**
 * The caller's headers with ours set over them, as google-auth-library's clients do (their quota project
 * overrides the caller's). gaxios 6 (google-auth-library 9) reads and writes headers as a plain object with
 * the caller's spelling of each name, so a plain object stays one; gaxios 7 and later take any shape.
 */
function mergeHeaders(
  callerHeaders: HeadersInit | undefined,
  ours: Record<string, string>,
  transporterTakesHeaders: boolean,
): HeadersInit {
  if (callerHeaders instanceof Headers || Array.isArray(callerHeaders)) {
    const merged = new Headers(callerHeaders);
    for (const [name, value] of Object.entries(ours)) merged.set(name, value);
    return transporterTakesHeaders ? merged : Object.fromEntries(merged);
  }
  const replaced = new Set(Object.keys(ours).map((name) => name.toLowerCase()));
  const kept = Object.entries(callerHeaders ?? {}).filter(([name]) => !replaced.has(name.toLowerCase()));
  return { ...Object.fromEntries(kept), ...ours };
}
