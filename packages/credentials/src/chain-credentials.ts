import { chain, invalidOption, isSourceUnavailable, type ProviderOptions } from "@wifkit/core";
import type { Credentials, GetAccessTokenOptions, GetIdTokenOptions, Principal } from "./credentials.js";

/** What `chainCredentials` returns: a credential like any other, plus which link it settled on. */
export interface ChainedCredentials extends Credentials {
  /** The credentials chained, in order. */
  readonly links: readonly Credentials[];
  /** The link whose source applied, once one has; undefined before the first call settles. */
  activeLink(): Credentials | undefined;
}

/**
 * One credential from several, each complete with its own audience, subject token type, supplier and caches:
 * the first whose source applies here wins and is remembered, so `chainCredentials(aws, azure, file)` is one
 * credential for a workload that runs on AWS, on Azure or elsewhere. A link whose source does not apply (its
 * supplier throws a "not here" `SourceUnavailableError`, such as "not on EC2") passes to the next, through
 * core's `chain`; a link that applies and fails stops the chain with its error. The remembered link is used
 * until its source says "not here", and then the links are tried again in order. The result works wherever a
 * credential does: `toAuthClient`, the metadata server, `getRequestHeaders`.
 *
 * Properties read before any call (`principal`, `universeDomain`, `quotaProjectId`, `type`) are the first
 * link's; for `toAuthClient`, which reads the universe and quota project once, give every link the same.
 *
 * @example
 * const credentials = chainCredentials(
 *   await fromConfig("aws.json", { suppliers: [awsSupplier] }),
 *   await fromConfig("azure.json", { suppliers: [azureSupplier] }),
 *   await fromConfig("file.json"),
 * );
 * const headers = await credentials.getRequestHeaders();
 */
export function chainCredentials(...links: Credentials[]): ChainedCredentials {
  const [first] = links;
  if (first === undefined)
    throw invalidOption("links", "of chainCredentials() needs at least one credential.");
  let active: Credentials | undefined;
  const current = () => active ?? first;

  async function settle<T>(options: ProviderOptions, call: (link: Credentials) => Promise<T>): Promise<T> {
    const pinned = active;
    if (pinned) {
      try {
        return await call(pinned);
      } catch (error) {
        if (!isSourceUnavailable(error)) throw error;
        // Its source went away (a variable unset, an agent stopped): look again from the first link.
        if (active === pinned) active = undefined;
      }
    }
    const { link, value } = await chain(
      ...links.map((link) => async () => ({ link, value: await call(link) })),
    )(options);
    active = link;
    return value;
  }

  const signalOf = (options: { signal?: AbortSignal | undefined } | undefined): ProviderOptions =>
    options?.signal ? { signal: options.signal } : {};

  return {
    links: Object.freeze([...links]),
    activeLink: () => active,
    get type() {
      return current().type;
    },
    get principal(): Principal {
      if (active || links.length === 1) return current().principal;
      return {
        ...first.principal,
        description: `the first that applies of: ${links.map((link) => link.principal.description).join("; ")}`,
      };
    },
    get quotaProjectId() {
      return current().quotaProjectId;
    },
    get universeDomain() {
      return current().universeDomain;
    },
    getAccessToken: (options?: GetAccessTokenOptions) =>
      settle(signalOf(options), (link) => link.getAccessToken(options)),
    getIdToken: (options: GetIdTokenOptions) => settle(signalOf(options), (link) => link.getIdToken(options)),
    getRequestHeaders: (options?: GetAccessTokenOptions) =>
      settle(signalOf(options), (link) => link.getRequestHeaders(options)),
    peekAccessToken: (scopes?: readonly string[]) => active?.peekAccessToken(scopes),
  };
}
