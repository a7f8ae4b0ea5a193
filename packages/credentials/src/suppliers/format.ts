import { WifError } from "@wifkit/core";
import { CREDENTIALS_ERROR_CODES } from "../errors.js";

/** How a file or URL body holds the subject token (`credential_source.format`). */
export interface TokenFormat {
  /** `text`: the whole body is the token. `json`: the token is a top-level field of a JSON object. */
  type: "text" | "json";
  /** The field holding the token when `type` is `json`. */
  subjectTokenFieldName?: string | undefined;
}

/** The default format: the whole file or body is the token. */
export const DEFAULT_SUBJECT_TOKEN_FORMAT: Readonly<TokenFormat> = Object.freeze({ type: "text" });

/**
 * Takes the subject token out of a file or response body. `where` names the source for messages ("the file
 * /var/run/token", "the response of http://host/path"); the body itself never appears in an error, since it
 * is, or holds, a credential.
 */
export function extractSubjectToken(raw: string, format: TokenFormat, where: string): string {
  if (format.type === "text") {
    // Tools write tokens with `echo`, so a trailing newline is common and never part of a token.
    const token = raw.trim();
    if (token === "") {
      throw new WifError(`The subject token from ${where} is empty. Check that it is written before use.`, {
        code: CREDENTIALS_ERROR_CODES.subjectTokenEmpty,
      });
    }
    return checkCharacters(token, where);
  }
  const field = format.subjectTokenFieldName;
  if (!field) {
    throw new WifError(
      `The subject token format for ${where} is "json" but names no field: set format.subject_token_field_name.`,
      { code: CREDENTIALS_ERROR_CODES.subjectTokenFormatInvalid },
    );
  }
  if (raw.trim() === "") {
    throw new WifError(`The subject token from ${where} is empty. Check that it is written before use.`, {
      code: CREDENTIALS_ERROR_CODES.subjectTokenEmpty,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.replace(/^\uFEFF/, ""));
  } catch {
    // The parser's message can quote the input, so it is not kept as the cause.
    throw new WifError(
      `The subject token source ${where} is not valid JSON, but its format type is "json". ` +
        `Use format type "text" if it holds the bare token.`,
      { code: CREDENTIALS_ERROR_CODES.subjectTokenInvalidJson },
    );
  }
  const value =
    parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)[field]
      : undefined;
  if (typeof value !== "string") {
    const found =
      parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
        ? `its fields are: ${Object.keys(parsed).slice(0, 20).join(", ") || "(none)"}`
        : "it is not a JSON object";
    throw new WifError(
      `The JSON from ${where} has no string field "${field}" (${found}). ` +
        `Check format.subject_token_field_name.`,
      { code: CREDENTIALS_ERROR_CODES.subjectTokenFieldMissing },
    );
  }
  if (value.trim() === "") {
    throw new WifError(`The field "${field}" in the JSON from ${where} is empty.`, {
      code: CREDENTIALS_ERROR_CODES.subjectTokenEmpty,
    });
  }
  return checkCharacters(value.trim(), where);
}

// Tokens (JWT, SAML in base64, opaque access tokens) are printable; line breaks may wrap base64.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Refuses a token with control characters: it is not a token, and would be sent to STS and printed as is. */
function checkCharacters(token: string, where: string): string {
  if (CONTROL_CHARACTERS.test(token)) {
    throw new WifError(
      `The subject token from ${where} holds control characters, which no token has. Check what writes it.`,
      { code: CREDENTIALS_ERROR_CODES.subjectTokenFormatInvalid },
    );
  }
  return token;
}
