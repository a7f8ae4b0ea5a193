/** Shared pieces of the integration tests that run against `startEmulator()`. */

import type { Emulator } from "@wifkit/emulator";
import { httpRequest } from "@wifkit/http";
import { createRemoteJWKSet, jwtVerify } from "jose";

export const BUCKET_OBJECT = "/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media";
export const OBJECT_CONTENT = "hello from wifkit\n";
export const GOOGLE_ISSUER = "https://accounts.google.com";

/** Reads the emulator's guarded object with an access token; returns the status and body. */
export async function readGuardedObject(
  emulator: Emulator,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const response = await httpRequest({
    url: `${emulator.urls.storage}${BUCKET_OBJECT}`,
    headers,
    retry: false,
  });
  return { status: response.status, body: response.body.toString("utf8") };
}

/** Verifies a Google ID token against the emulator's JWKS, as a Cloud Run or IAP backend would. */
export async function verifyIdToken(emulator: Emulator, token: string, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${emulator.urls.googleCerts}/oauth2/v3/certs`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: GOOGLE_ISSUER,
    audience,
    currentDate: new Date(emulator.clock.now()),
  });
  return { payload, protectedHeader };
}

/** The principal:// member of a federated subject in the emulator's default pool. */
export function federatedPrincipal(emulator: Emulator, subject: string): string {
  const pool = Object.keys(emulator.state.pools)[0];
  return `principal://iam.googleapis.com/projects/${emulator.state.projectNumber}/locations/global/workloadIdentityPools/${pool}/subject/${subject}`;
}

/** A clock that reads the emulator's, so credential and emulator agree on time as it is moved. */
export function emulatorClock(emulator: Emulator): { now(): number } {
  return { now: () => emulator.clock.now() };
}
