import type { Runtime } from "../runtime.js";
import { json, type ServiceDefinition } from "../server.js";
import { jwksDocument } from "../signing.js";
import { googleApiError } from "./google-errors.js";

export const GOOGLE_ISSUER = "https://accounts.google.com";

/**
 * Google's signing keys for ID tokens: `/oauth2/v3/certs` (JWKS), `/oauth2/v1/certs` (X.509 certificates
 * in PEM by kid, as Google serves them) and the
 * `accounts.google.com` discovery document, so ID tokens from generateIdToken verify like real ones.
 */
export function googleCertsService(runtime: Runtime): ServiceDefinition {
  const cacheHeaders = { "cache-control": "public, max-age=3600" };
  return {
    name: "googleCerts",
    prefix: "google",
    routes: [
      {
        name: "google.certs",
        methods: ["GET"],
        path: /^\/oauth2\/v3\/certs$/,
        handle: () => json(200, jwksDocument([runtime.keys.google]), cacheHeaders),
      },
      {
        name: "google.certsPem",
        methods: ["GET"],
        path: /^\/oauth2\/v1\/certs$/,
        handle: () =>
          json(200, { [runtime.keys.google.kid]: runtime.keys.google.certificatePem }, cacheHeaders),
      },
      {
        name: "google.discovery",
        methods: ["GET"],
        path: /^\/\.well-known\/openid-configuration$/,
        handle: () =>
          json(200, {
            issuer: GOOGLE_ISSUER,
            authorization_endpoint: "https://accounts.google.com/o/oauth2/v2/auth",
            token_endpoint: "https://oauth2.googleapis.com/token",
            jwks_uri: `${runtime.urls.googleCerts}/oauth2/v3/certs`,
            response_types_supported: ["code", "token", "id_token"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
            claims_supported: ["aud", "email", "email_verified", "exp", "iat", "iss", "sub", "azp"],
          }),
      },
    ],
    notFound: () => googleApiError(404),
    faultResponse: (status) => googleApiError(status),
  };
}
