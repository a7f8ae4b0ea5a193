/**
 * An adapter for Google's client libraries (`@google-cloud/*`, `googleapis`), which accept an `authClient`.
 * wifkit does not depend on google-auth-library: you pass its `AuthClient` class from your own install, and
 * the adapter subclasses it, so the libraries get a genuine `AuthClient` (request interceptors, retries,
 * `fetch`, universe checks) whose tokens come from a wifkit credential.
 */
import type { Credentials } from "./credentials.js";

/** What the adapter uses of google-auth-library's `AuthClient` instances (version 10 or later). */
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
  /** `AuthClient` from your google-auth-library: `import { AuthClient } from "google-auth-library"`. */
  AuthClient: C;
  /** Scopes of the access tokens the client presents. Default: the credential's default scopes. */
  scopes?: readonly string[] | undefined;
}

/** The shape of gaxios request options the adapter touches. */
interface RequestOptions {
  headers?: ConstructorParameters<typeof Headers>[0];
  [key: string]: unknown;
}

/**
 * Wraps a wifkit credential as a google-auth-library `AuthClient`, for any Google client library option
 * that takes `authClient`. `getAccessToken()`, `getRequestHeaders()` and `request()` draw on the
 * credential's cache, and a request answered 401 is retried once with a fresh token.
 *
 * @example
 * import { AuthClient } from "google-auth-library";
 * import { Storage } from "@google-cloud/storage";
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

  class WifkitAuthClient extends Base {
    constructor() {
      super({
        universeDomain: credentials.universeDomain,
        ...(credentials.quotaProjectId ? { quotaProjectId: credentials.quotaProjectId } : {}),
      });
    }

    async getAccessToken(): Promise<{ token: string; res: null }> {
      const token = await credentials.getAccessToken(scopes ? { scopes } : {});
      // Some library code reads `credentials` directly (expiry checks); keep it in step.
      this.credentials = {
        access_token: token.value,
        expiry_date: token.expiresAt.getTime(),
        token_type: "Bearer",
      };
      return { token: token.value, res: null };
    }

    async getRequestHeaders(_url?: string | URL, forceRefresh = false): Promise<Headers> {
      return new Headers(
        await credentials.getRequestHeaders({
          ...(scopes ? { scopes } : {}),
          ...(forceRefresh ? { forceRefresh } : {}),
        }),
      );
    }

    async request(requestOptions: RequestOptions): Promise<unknown> {
      try {
        return await this.send(requestOptions, false);
      } catch (error) {
        const status = (error as { status?: unknown; response?: { status?: unknown } } | null)?.response
          ?.status;
        if (status !== 401) throw error;
        // A token revoked or rejected before its expiry: one retry with a fresh one, as Google's clients do.
        return this.send(requestOptions, true);
      }
    }

    private async send(requestOptions: RequestOptions, forceRefresh: boolean): Promise<unknown> {
      const headers = new Headers(requestOptions.headers);
      for (const [name, value] of await this.getRequestHeaders(undefined, forceRefresh)) {
        // A caller's own x-goog-user-project wins, as in google-auth-library; the Authorization is ours.
        if (name === "authorization" || !headers.has(name)) headers.set(name, value);
      }
      return this.transporter.request({ ...requestOptions, headers } as never);
    }
  }

  return new WifkitAuthClient() as unknown as InstanceType<C>;
}
