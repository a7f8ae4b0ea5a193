/**
 * Compile-time proof, checked by `pnpm typecheck` and never run: `toAuthClient` is accepted, without a cast,
 * where each google-auth-library major's libraries take an `authClient`, given that major's `AuthClient`
 * (the README's snippets). `@google-cloud/storage` 8 and google-auth-library 11 require Node 22 and cannot be
 * installed in this Node 20 workspace; google-auth-library 11 declares `AuthClient` exactly as 10 does.
 */
import { Storage } from "@google-cloud/storage";
import { AuthClient, GoogleAuth } from "google-auth-library";
import { AuthClient as AuthClient9, GoogleAuth as GoogleAuth9 } from "google-auth-library-9";
import { type Credentials, toAuthClient } from "../src/index.js";

/** `@google-cloud/storage` 7, the newest on Node 20: its google-auth-library is 9. */
export function storage7(credentials: Credentials): Storage {
  return new Storage({ authClient: toAuthClient(credentials, { AuthClient: AuthClient9 }) });
}

/** google-auth-library 9's `GoogleAuth` (the gRPC libraries on `google-gax` 4 build on it). */
export function googleAuth9(credentials: Credentials): GoogleAuth9<AuthClient9> {
  return new GoogleAuth9({ authClient: toAuthClient(credentials, { AuthClient: AuthClient9 }) });
}

/** google-auth-library 10's `GoogleAuth` (`google-gax` 5, `googleapis-common` 8). */
export function googleAuth10(credentials: Credentials): GoogleAuth {
  return new GoogleAuth({ authClient: toAuthClient(credentials, { AuthClient }) });
}

/** The client is an instance of the class given, so it has that major's `AuthClient` type. */
export function authClients(credentials: Credentials): [AuthClient9, AuthClient] {
  return [toAuthClient(credentials, { AuthClient: AuthClient9 }), toAuthClient(credentials, { AuthClient })];
}
