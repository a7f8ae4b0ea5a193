/**
 * The hostile-input corpus: credential configurations and subject token files that wifkit must refuse, each
 * with the text every refusal names (the field, or the token file's path). `wif validate`, `wif token`,
 * `fromConfig()` and `wif-sidecar` are each run against every entry (apps/cli/test/hostile.test.ts,
 * apps/sidecar/test/hostile.test.ts) and must refuse it alike: one line naming it, no stack trace, and no
 * request to the emulator.
 *
 * The files live beside this one; what cannot live in a repository (FIFOs, symlinks, devices, files of
 * gigabytes) is made at test time by `materializeCorpus`. Placeholders in the files: `{{STS}}` and
 * `{{AUDIENCE}}` (the emulator's), `{{TOKEN_FILE}}` (a token file that is never read), `{{SPECIAL}}` (the
 * entry's special file).
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CORPUS_DIR = dirname(fileURLToPath(import.meta.url));

/** A file made at test time for an entry. */
export type Special =
  | { kind: "copy"; from: string }
  | { kind: "path"; path: string }
  | { kind: "fifo"; heldOpen: boolean }
  | { kind: "symlink"; to: string }
  | { kind: "symlink-loop" }
  | { kind: "directory" }
  | { kind: "sparse"; bytes: number }
  | { kind: "generate"; text: () => string };

export interface HostileEntry {
  name: string;
  /** What it tries, in a few words. */
  what: string;
  /** `config`: refused by validation; `subject`: a valid configuration whose subject token is refused. */
  stage: "config" | "subject";
  /** Text every refusal contains; `{{SPECIAL}}` stands for the special file's path. */
  names: string;
  /** More text every refusal contains, where the reason matters (a pipe refused, not timed out). */
  says?: string;
  /** The configuration, relative to this directory, or `{{SPECIAL}}` when the entry's special file is it. */
  config: string;
  /** The entry's special file, for `{{SPECIAL}}`. */
  special?: Special;
}

function config(name: string, names: string, what: string): HostileEntry {
  return { name, what, stage: "config", names, config: `configs/${name}.json` };
}

/** A configuration that is itself a special file. */
function configFile(name: string, names: string, what: string, special: Special): HostileEntry {
  return { name, what, stage: "config", names, config: "{{SPECIAL}}", special };
}

/** A valid file-source configuration whose token file is `special`. */
function tokenFile(
  name: string,
  what: string,
  special: Special,
  format: "text" | "json" = "text",
): HostileEntry {
  return {
    name,
    what,
    stage: "subject",
    names: "{{SPECIAL}}",
    config: `templates/file-${format}.json`,
    special,
  };
}

const GIB = 1024 * 1024 * 1024;
const copy = (from: string): Special => ({ kind: "copy", from });

export const HOSTILE_CORPUS: readonly HostileEntry[] = [
  config("token-url-foreign", "token_url", "a foreign STS host"),
  config("token-url-suffix", "token_url", "Google's name as a subdomain of another"),
  config("token-url-hyphen", "token_url", "a look-alike with a hyphen"),
  config("token-url-in-path", "token_url", "Google's name in the path of a foreign host"),
  config("token-url-port", "token_url", "Google's host on another port"),
  config("token-url-http", "token_url", "plain http to Google's host"),
  config("token-url-userinfo", "token_url", "user name and password in the URL"),
  config("token-url-userinfo-trick", "token_url", "Google's name as the user name of a foreign host"),
  config("token-url-homograph-capital-i", "token_url", "capital I for l (sts.googIeapis.com)"),
  config("token-url-homograph-idn", "token_url", "an IDN homograph (Latin small script g, U+0261)"),
  config("token-url-homograph-cyrillic", "token_url", "Cyrillic o in googleapis"),
  config("token-url-trailing-dot", "token_url", "a trailing dot"),
  config("token-url-ipv4", "token_url", "an IP literal"),
  config("token-url-decimal-ip", "token_url", "a decimal IP literal (127.0.0.1 without the allowed port)"),
  config("token-url-octal-ip", "token_url", "an octal IP literal"),
  config("token-url-ipv6-mapped", "token_url", "an IPv4-mapped IPv6 literal"),
  config("token-url-ipv6-loopback", "token_url", "loopback IPv6 not allowed by the caller"),
  config("token-url-file-scheme", "token_url", "a file: URL"),
  config("token-url-nul", "token_url", "a NUL byte in the host"),
  config("token-url-not-a-url", "token_url", "not a URL"),
  config("impersonation-foreign", "service_account_impersonation_url", "impersonation on a foreign host"),
  config(
    "impersonation-wrong-service",
    "service_account_impersonation_url",
    "impersonation sent to STS's host",
  ),
  config("token-info-foreign", "token_info_url", "token introspection on a foreign host"),
  config("universe-attacker", "universe_domain", "a universe of the attacker's with its own STS"),
  config("universe-suffix", "universe_domain", "googleapis.com as a subdomain of the attacker's universe"),
  config("universe-uppercase", "universe_domain", "a universe in capitals"),
  config("universe-with-path", "universe_domain", "a universe with a path"),
  config("universe-mtls-foreign", "token_url", "sts.mtls of another universe without universe_domain"),
  config(
    "url-aws-imds-credentials",
    "credential_source.url",
    "a URL source reading AWS role credentials from IMDS",
  ),
  config("url-gce-metadata-token", "credential_source.url", "a URL source reading a GCE token"),
  config("url-ecs-credentials", "credential_source.url", "a URL source reading ECS task credentials"),
  config("url-imds-ipv6", "credential_source.url", "a URL source on IMDS over IPv6"),
  config("url-imds-decimal", "credential_source.url", "IMDS as a decimal IP"),
  config("url-azure-dot-segments", "credential_source.url", "Azure's path climbed out of with .."),
  config("url-metadata-hostname", "credential_source.url", "plain http to metadata.google.internal"),
  config("url-private-http", "credential_source.url", "plain http to a private address"),
  config("url-gopher", "credential_source.url", "a gopher: URL"),
  config("aws-url-lookalike", "credential_source.url", "AWS metadata on a look-alike host"),
  config("aws-region-url-port", "credential_source.region_url", "AWS metadata on another port"),
  config(
    "aws-session-url-foreign",
    "credential_source.imdsv2_session_token_url",
    "IMDSv2 session on a foreign host",
  ),
  config(
    "aws-verification-foreign",
    "credential_source.regional_cred_verification_url",
    "the signed request addressed to a look-alike of AWS STS",
  ),
  config(
    "aws-verification-action",
    "credential_source.regional_cred_verification_url",
    "a signed AssumeRole instead of GetCallerIdentity",
  ),
  config("aws-environment-id", "credential_source.environment_id", "an AWS environment that does not exist"),
  config("executable-relative", "credential_source.executable.command", "an executable found through PATH"),
  config("file-proc-environ", "credential_source.file", "the process environment as the subject token"),
  config("file-dev-zero", "credential_source.file", "/dev/zero as the subject token"),
  config("file-sys", "credential_source.file", "a sysfs file, spelled with .."),
  config("type-service-account", "type", "a service account key file"),
  config("type-missing", "type", "no type"),
  config("wrong-types", "audience", "numbers and arrays where strings belong"),
  config("source-array", "credential_source", "credential_source as an array"),
  config("two-sources", "credential_source", "two sources at once"),
  config("headers-not-strings", "credential_source.headers", "headers that are not strings"),
  config("json-array", "must be a JSON object", "an array, not an object"),
  config("bom-foreign-host", "token_url", "a byte order mark before a foreign STS host"),
  config("utf16", "not valid JSON", "UTF-16 text"),
  config("duplicate-keys", "token_url: appears more than once", "Google's token_url, then a foreign one"),
  config(
    "duplicate-keys-reversed",
    "token_url: appears more than once",
    "a foreign token_url, then Google's",
  ),
  config(
    "duplicate-nested",
    "credential_source.file: appears more than once",
    "a second, kernel, token file",
  ),
  config("nul-byte-raw", "not valid JSON", "a raw NUL byte"),
  config("truncated", "not valid JSON", "a file cut short"),
  config("comments", "not valid JSON", "JSON with comments"),
  config("empty", "the file is empty", "an empty file"),
  {
    name: "executable-without-opt-in",
    what: "an executable source without GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1",
    stage: "subject",
    names: "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES",
    config: "configs/executable-without-opt-in.json",
  },
  configFile("config-deep", "nested deeper than 64 levels", "JSON nested 100,000 levels deep", {
    kind: "generate",
    text: () => `{"type":"external_account","x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
  }),
  configFile("config-huge", "larger than 1048576 bytes", "2 MiB of JSON", {
    kind: "generate",
    text: () => `{"type":"external_account","padding":"${"a".repeat(2 * 1024 * 1024)}"}`,
  }),
  configFile("config-sparse", "larger than 1048576 bytes", "a 4 GiB sparse file", {
    kind: "sparse",
    bytes: 4 * GIB,
  }),
  configFile("config-dev-zero", "is a character device", "/dev/zero", { kind: "path", path: "/dev/zero" }),
  configFile("config-symlink-urandom", "is a character device", "a symlink to /dev/urandom", {
    kind: "symlink",
    to: "/dev/urandom",
  }),
  configFile("config-fifo", "the file is empty", "a FIFO nobody writes to", {
    kind: "fifo",
    heldOpen: false,
  }),
  configFile("config-symlink-loop", "symbolic link loop", "a symlink to itself", { kind: "symlink-loop" }),
  configFile("config-directory", "is a directory", "a directory", { kind: "directory" }),
  configFile("config-proc-environ", "not valid JSON", "/proc/self/environ", {
    kind: "symlink",
    to: "/proc/self/environ",
  }),
  tokenFile("token-empty", "an empty token file", copy("tokens/empty.txt")),
  tokenFile("token-whitespace", "a token file of white space", copy("tokens/whitespace.txt")),
  tokenFile("token-nul-byte", "a NUL byte inside the token", copy("tokens/nul-byte.txt")),
  tokenFile(
    "token-terminal-escape",
    "terminal escape sequences inside the token",
    copy("tokens/terminal-escape.txt"),
  ),
  tokenFile("token-not-json", "a bare token where JSON is expected", copy("tokens/not-json.txt"), "json"),
  tokenFile("token-field-missing", "JSON without the named field", copy("tokens/field-missing.json"), "json"),
  tokenFile(
    "token-field-not-string",
    "the named field is an object",
    copy("tokens/field-not-string.json"),
    "json",
  ),
  tokenFile("token-json-array", "a JSON array", copy("tokens/json-array.json"), "json"),
  tokenFile("token-field-nul", "a NUL byte in the named field", copy("tokens/field-nul.json"), "json"),
  tokenFile(
    "token-deep-json",
    "JSON nested 200,000 levels deep",
    { kind: "generate", text: () => `${"[".repeat(200_000)}${"]".repeat(200_000)}` },
    "json",
  ),
  tokenFile("token-huge", "a 2 MiB token file", {
    kind: "generate",
    text: () => "a".repeat(2 * 1024 * 1024),
  }),
  tokenFile("token-sparse", "an 8 GiB sparse token file", { kind: "sparse", bytes: 8 * GIB }),
  {
    ...tokenFile("token-fifo-held", "a FIFO whose writer stays open", { kind: "fifo", heldOpen: true }),
    says: "not a file",
  },
  {
    ...tokenFile("token-fifo", "a FIFO nobody writes to", { kind: "fifo", heldOpen: false }),
    says: "not a file",
  },
  tokenFile("token-symlink-dev-zero", "a symlink to /dev/zero", { kind: "symlink", to: "/dev/zero" }),
  tokenFile("token-symlink-environ", "a symlink to /proc/self/environ", {
    kind: "symlink",
    to: "/proc/self/environ",
  }),
  tokenFile("token-symlink-loop", "a symlink to itself", { kind: "symlink-loop" }),
  tokenFile("token-directory", "a directory", { kind: "directory" }),
];

/** An entry made ready to run: its configuration's path and the text its refusals must contain. */
export interface HostileCase {
  name: string;
  what: string;
  stage: HostileEntry["stage"];
  configPath: string;
  names: string;
  says: string | undefined;
}

export interface MaterializeOptions {
  /** A fresh directory to write into. */
  directory: string;
  /** The emulator's STS base URL (allowed by the surfaces under test), and a provider audience. */
  sts: string;
  audience: string;
}

/**
 * Writes every entry's configuration and special file under `directory`. Call `close` afterwards: it
 * closes the writers that hold FIFOs open.
 */
export function materializeCorpus(options: MaterializeOptions): { cases: HostileCase[]; close: () => void } {
  const held: number[] = [];
  const tokenFilePath = join(options.directory, "never-read-token");
  writeFileSync(tokenFilePath, "never read\n");
  const cases = HOSTILE_CORPUS.map((entry) => {
    const home = join(options.directory, entry.name);
    mkdirSync(home);
    const special = entry.special ? makeSpecial(entry.special, join(home, "special"), held) : undefined;
    const fill = (text: string) =>
      text
        .replaceAll("{{STS}}", options.sts)
        .replaceAll("{{AUDIENCE}}", options.audience)
        .replaceAll("{{TOKEN_FILE}}", tokenFilePath)
        .replaceAll("{{SPECIAL}}", special ?? "{{SPECIAL}}");
    let configPath: string;
    if (entry.config === "{{SPECIAL}}") {
      configPath = special as string;
    } else {
      configPath = join(home, "config.json");
      const raw = readFileSync(join(CORPUS_DIR, entry.config));
      // UTF-16 and raw bytes stay as they are; text files get their placeholders filled.
      writeFileSync(configPath, raw.includes(0x7b) && !raw.includes(0) ? fill(raw.toString("utf8")) : raw);
    }
    return {
      name: entry.name,
      what: entry.what,
      stage: entry.stage,
      configPath,
      names: fill(entry.names),
      says: entry.says,
    };
  });
  return {
    cases,
    close: () => {
      for (const fd of held.splice(0)) closeSync(fd);
    },
  };
}

function makeSpecial(special: Special, path: string, held: number[]): string {
  switch (special.kind) {
    case "copy":
      writeFileSync(path, readFileSync(join(CORPUS_DIR, special.from)));
      return path;
    case "path":
      return special.path;
    case "fifo":
      execFileSync("mkfifo", [path]);
      // Read-write: a writer that neither blocks nor ever closes.
      if (special.heldOpen) held.push(openSync(path, constants.O_RDWR | constants.O_NONBLOCK));
      return path;
    case "symlink":
      symlinkSync(special.to, path);
      return path;
    case "symlink-loop":
      symlinkSync(path, path);
      return path;
    case "directory":
      mkdirSync(path);
      return path;
    case "sparse":
      writeFileSync(path, "");
      truncateSync(path, special.bytes);
      return path;
    case "generate":
      writeFileSync(path, special.text());
      return path;
  }
}
