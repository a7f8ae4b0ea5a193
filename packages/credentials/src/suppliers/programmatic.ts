import {
  isWifError,
  type ProviderOptions,
  type SubjectToken,
  type SubjectTokenSupplier,
  type SubjectTokenType,
  WifError,
} from "@wifkit/core";
import { CREDENTIALS_ERROR_CODES } from "../errors.js";

/** What a programmatic supplier's function returns: the bare token, or the token with its expiry. */
export type SuppliedSubjectToken = string | { token: string; expiresAt?: Date | undefined };

export interface FromSupplierInit {
  /** The type of the tokens `getSubjectToken` returns, e.g. `SUBJECT_TOKEN_TYPES.jwt`. */
  type: SubjectTokenType;
  /** Your code that produces a subject token; it receives the caller's `signal`. */
  getSubjectToken: (options: ProviderOptions) => SuppliedSubjectToken | Promise<SuppliedSubjectToken>;
  /** Names the source in error messages; default "the programmatic subject token supplier". */
  name?: string | undefined;
}

/**
 * Wraps your own code as a subject token supplier (Google calls this a "programmatic" source): whatever
 * fetches a token from a secret store, a sidecar or an SDK. An empty result is an error; an exception your
 * code throws is wrapped in `ERR_WIF_SUPPLIER_FAILED` with it as the `cause` (a `WifError`, including
 * `SourceUnavailableError`, passes through so a `chain()` can move on).
 *
 * @example
 * const supplier = fromSupplier({
 *   type: SUBJECT_TOKEN_TYPES.jwt,
 *   getSubjectToken: async ({ signal }) => (await vault.read("oidc", { signal })).jwt,
 * });
 */
export function fromSupplier(init: FromSupplierInit): SubjectTokenSupplier {
  const name = init.name ?? "the programmatic subject token supplier";
  return async (options): Promise<SubjectToken> => {
    options?.signal?.throwIfAborted();
    let supplied: SuppliedSubjectToken;
    try {
      supplied = await init.getSubjectToken({ ...options });
    } catch (error) {
      if (isWifError(error)) throw error;
      throw new WifError(`${capitalize(name)} failed. See the cause for what your code threw.`, {
        code: CREDENTIALS_ERROR_CODES.supplierFailed,
        cause: error,
      });
    }
    const token = typeof supplied === "string" ? supplied : supplied?.token;
    if (typeof token !== "string" || token.trim() === "") {
      throw new WifError(`${capitalize(name)} returned no subject token.`, {
        code: CREDENTIALS_ERROR_CODES.subjectTokenEmpty,
      });
    }
    const expiresAt = typeof supplied === "string" ? undefined : supplied.expiresAt;
    return { token: token.trim(), type: init.type, expiresAt };
  };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
