import { type KeyObject, randomBytes, sign } from "node:crypto";

/**
 * A minimal DER writer for one thing: a self-signed X.509 v3 certificate around an RSA signing key, the
 * form Google serves its ID-token keys in at `/oauth2/v1/certs`. Clients that read only certificates
 * (Python google-auth's pure-Python RSA backend, Java) verify the emulator's ID tokens with it.
 */

function length(size: number): Buffer {
  if (size < 0x80) return Buffer.from([size]);
  const bytes: number[] = [];
  for (let rest = size; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...content: Buffer[]) => tlv(0x30, ...content);
const set = (...content: Buffer[]) => tlv(0x31, ...content);
const explicit = (tagNumber: number, content: Buffer) => tlv(0xa0 | tagNumber, content);
const octetString = (content: Buffer) => tlv(0x04, content);
const bitString = (content: Buffer) => tlv(0x03, Buffer.from([0]), content);
const utf8String = (text: string) => tlv(0x0c, Buffer.from(text, "utf8"));
const NULL = Buffer.from([0x05, 0x00]);
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

function integer(bytes: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit needs a zero byte in front.
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString();
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, "ascii"));
}

const SHA256_WITH_RSA = sequence(oid("1.2.840.113549.1.1.11"), NULL);

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), octetString(value));
}

export interface CertificateInit {
  privateKey: KeyObject;
  publicKey: KeyObject;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed certificate (PEM) for an RSA key pair: SHA-256 with RSA, for digital signatures only. */
export function selfSignedCertificatePem(init: CertificateInit): string {
  const name = sequence(set(sequence(oid("2.5.4.3"), utf8String(init.commonName))));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const extensions = sequence(
    // basicConstraints: not a CA; keyUsage: digitalSignature; extKeyUsage: clientAuth (as Google's).
    extension("2.5.29.19", true, sequence()),
    extension("2.5.29.15", true, keyUsageDigitalSignature()),
    extension("2.5.29.37", false, sequence(oid("1.3.6.1.5.5.7.3.2"))),
  );
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    SHA256_WITH_RSA,
    name,
    sequence(utcTime(init.notBefore), utcTime(init.notAfter)),
    name,
    init.publicKey.export({ format: "der", type: "spki" }),
    explicit(3, extensions),
  );
  const signature = sign("sha256", tbs, init.privateKey);
  const der = sequence(tbs, SHA256_WITH_RSA, bitString(signature));
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** keyUsage with only digitalSignature (bit 0): a BIT STRING of one byte, seven unused bits. */
function keyUsageDigitalSignature(): Buffer {
  return tlv(0x03, Buffer.from([7, 0x80]));
}
