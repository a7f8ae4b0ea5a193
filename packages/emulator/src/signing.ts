import { createHash, generateKeyPair, type KeyObject, randomBytes, sign } from "node:crypto";
import { promisify } from "node:util";
import { selfSignedCertificatePem } from "./x509.js";

const generateKeyPairAsync = promisify(generateKeyPair);

/** A public key in JWK form, as served in a JWKS document. */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: string;
  use: string;
  n?: string;
  e?: string;
  [name: string]: unknown;
}

/**
 * An RS256 signing key of one emulated issuer (Google, Entra, the Kubernetes API server). Signing is
 * synchronous (node:crypto), so helpers that write token files can stay synchronous too.
 */
export class SigningKey {
  readonly kid: string;
  readonly publicJwk: PublicJwk;
  /** SPKI PEM of the public key. */
  readonly publicPem: string;
  /** A self-signed X.509 certificate (PEM) of the key: what Google's `/oauth2/v1/certs` serves by kid. */
  readonly certificatePem: string;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject, publicKey: KeyObject) {
    this.#privateKey = privateKey;
    const jwk = publicKey.export({ format: "jwk" });
    // A kid derived from the key (like a thumbprint) stays stable for the key's lifetime.
    this.kid = createHash("sha256").update(`${jwk.n}.${jwk.e}`).digest("base64url").slice(0, 27);
    this.publicJwk = { kty: "RSA", kid: this.kid, alg: "RS256", use: "sig", n: jwk.n!, e: jwk.e! };
    this.publicPem = publicKey.export({ format: "pem", type: "spki" }).toString();
    this.certificatePem = selfSignedCertificatePem({
      privateKey,
      publicKey,
      commonName: `${this.kid}.wifkit-emulator.invalid`,
      // Wide enough for any time a test sets the emulator clock to.
      notBefore: new Date("2000-01-01T00:00:00Z"),
      notAfter: new Date("2049-12-31T23:59:59Z"),
    });
  }

  /** Signs `claims` as a compact RS256 JWT; `header` adds fields such as `typ` or Entra's `x5t`. */
  signJwt(claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
    const head = base64urlJson({ alg: "RS256", typ: "JWT", ...header, kid: this.kid });
    const body = base64urlJson(claims);
    const signature = sign("RSA-SHA256", Buffer.from(`${head}.${body}`), this.#privateKey).toString(
      "base64url",
    );
    return `${head}.${body}.${signature}`;
  }
}

export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPairAsync("rsa", { modulusLength: 2048 });
  return new SigningKey(privateKey, publicKey);
}

export function jwksDocument(keys: SigningKey[]): { keys: PublicJwk[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Unguessable opaque token material. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Random upper-case id characters in the style of AWS key ids (`ASIA` + 16 characters). */
export function randomAwsId(prefix: string, length = 16): string {
  const bytes = randomBytes(length);
  let id = prefix;
  for (const byte of bytes) id += UPPER_ALNUM[byte % UPPER_ALNUM.length];
  return id;
}

export function randomSecret(): string {
  // 40 characters from the base64 alphabet, like a real secret access key.
  return randomBytes(30).toString("base64").slice(0, 40);
}

export function randomUuid(): string {
  const bytes = randomBytes(16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
