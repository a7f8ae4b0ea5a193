import type { FederatedIdentity } from "@wifkit/attribute-mapping";
import type { Clock } from "@wifkit/core";
import { invalidOption } from "@wifkit/core";
import type { EmulatorState } from "./config.js";
import { randomAwsId, randomSecret, randomToken } from "./signing.js";
import type { AwsKeyRecord } from "./sigv4.js";

/** The identity an STS token was issued to, as its provider's mapping produced it. */
export interface FederatedTokenIdentity extends FederatedIdentity {
  projectNumber: string;
  poolId: string;
  providerId: string;
  subject: string;
  groups: string[];
  attributes: Record<string, string | string[]>;
}

interface TokenTimes {
  token: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
}

/** What an opaque Google access token the emulator issued stands for. */
export type GoogleTokenRecord =
  | (TokenTimes & { kind: "federated"; identity: FederatedTokenIdentity })
  | (TokenTimes & { kind: "serviceAccount"; email: string; delegates: string[] })
  | (TokenTimes & { kind: "user"; email: string });

type NewTokenRecord =
  | { kind: "federated"; identity: FederatedTokenIdentity; scopes: string[]; lifetimeMs: number }
  | { kind: "serviceAccount"; email: string; delegates: string[]; scopes: string[]; lifetimeMs: number }
  | { kind: "user"; email: string; scopes: string[]; lifetimeMs: number };

/** Opaque Google access tokens (federated from STS, service account from IAM Credentials). */
export class GoogleTokenStore {
  readonly #tokens = new Map<string, GoogleTokenRecord>();
  readonly #clock: Clock;
  readonly #length: number | undefined;

  constructor(clock: Clock, length?: number) {
    if (length !== undefined && (!Number.isInteger(length) || length < 32 || length > 65_536)) {
      throw invalidOption("accessTokenLength", "must be an integer from 32 to 65536.");
    }
    this.#clock = clock;
    this.#length = length;
  }

  issue(init: NewTokenRecord): GoogleTokenRecord {
    const now = this.#clock.now();
    if (this.#tokens.size > 10_000) this.#prune(now);
    const prefix = { federated: "ya29.d.emu", serviceAccount: "ya29.c.emu", user: "ya29.a0.emu" }[init.kind];
    // base64url: 4 characters per 3 random bytes.
    const random =
      this.#length === undefined
        ? randomToken()
        : randomToken(Math.ceil((this.#length * 3) / 4)).slice(0, this.#length - prefix.length - 1);
    const times = {
      token: `${prefix}.${random}`,
      scopes: init.scopes,
      issuedAt: now,
      expiresAt: now + init.lifetimeMs,
    };
    const record: GoogleTokenRecord =
      init.kind === "federated"
        ? { ...times, kind: "federated", identity: init.identity }
        : init.kind === "serviceAccount"
          ? { ...times, kind: "serviceAccount", email: init.email, delegates: init.delegates }
          : { ...times, kind: "user", email: init.email };
    this.#tokens.set(record.token, record);
    return record;
  }

  /** The record of a live token; expired and unknown tokens are both undefined. */
  lookup(token: string): GoogleTokenRecord | undefined {
    const record = this.#tokens.get(token);
    if (!record) return undefined;
    return record.expiresAt > this.#clock.now() ? record : undefined;
  }

  #prune(now: number) {
    for (const [token, record] of this.#tokens) if (record.expiresAt <= now) this.#tokens.delete(token);
  }
}

/** A key the emulator knows, and where it came from. */
export interface AwsKey extends AwsKeyRecord {
  source: "imds" | "container" | "web-identity" | "user" | "registered";
}

/** An AWS access key as tests register it (`account` and `userId` are derived from the ARN when omitted). */
export interface AwsKeyInit {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  arn: string;
  account?: string;
  userId?: string;
  expiresAt?: Date | number;
}

/**
 * Every AWS key the emulated AWS knows: its IAM users' static keys (read live from the state), temporary
 * credentials it handed out (IMDS, container endpoint, AssumeRoleWithWebIdentity) and keys tests registered.
 */
export class AwsKeyRegistry {
  readonly #keys = new Map<string, AwsKey>();
  readonly #state: () => EmulatorState;

  constructor(state: () => EmulatorState) {
    this.#state = state;
  }

  lookup(accessKeyId: string): AwsKey | undefined {
    const issued = this.#keys.get(accessKeyId);
    if (issued) return issued;
    const user = Object.values(this.#state().aws.users).find(
      (candidate) => candidate.accessKeyId === accessKeyId,
    );
    if (!user) return undefined;
    return {
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
      arn: user.arn,
      account: this.#state().aws.accountId,
      userId: user.userId,
      source: "user",
    };
  }

  register(init: AwsKeyInit): AwsKey {
    const account = init.account ?? /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(init.arn)?.[1];
    if (!account)
      throw invalidOption("account", "of registerAwsKey is needed: no account id can be read from the ARN.");
    if (!init.accessKeyId || !init.secretAccessKey)
      throw invalidOption("accessKeyId", "and secretAccessKey of registerAwsKey are required.");
    const expiresAt = init.expiresAt instanceof Date ? init.expiresAt.getTime() : init.expiresAt;
    const sessionName = /assumed-role\/[^/]+\/(.+)$/.exec(init.arn)?.[1];
    const key: AwsKey = {
      accessKeyId: init.accessKeyId,
      secretAccessKey: init.secretAccessKey,
      sessionToken: init.sessionToken ?? undefined,
      arn: init.arn,
      account,
      userId: init.userId ?? (sessionName ? `AROAREGISTEREDKEY0000:${sessionName}` : "AIDAREGISTEREDKEY0000"),
      expiresAt,
      source: "registered",
    };
    this.#keys.set(key.accessKeyId, key);
    return key;
  }

  /** Issues temporary credentials (ASIA...) for an assumed role session. */
  issueTemporary(init: {
    arn: string;
    account: string;
    userId: string;
    expiresAt: number;
    source: AwsKey["source"];
  }): AwsKey {
    const key: AwsKey = {
      accessKeyId: randomAwsId("ASIA"),
      secretAccessKey: randomSecret(),
      sessionToken: `IQoJb3JpZ2luX2VtdWxhdG9y${randomToken(96)}`,
      ...init,
      // Whole seconds, so the Expiration AWS prints is exactly when the key stops working.
      expiresAt: Math.floor(init.expiresAt / 1000) * 1000,
    };
    this.#keys.set(key.accessKeyId, key);
    return key;
  }

  list(): AwsKey[] {
    const users = Object.values(this.#state().aws.users).map((user) => this.lookup(user.accessKeyId)!);
    return [...users, ...this.#keys.values()];
  }
}

/** A role session's current credentials and when they were handed out. */
export interface AwsSession {
  key: AwsKey;
  issuedAt: number;
}

/**
 * The EC2 instance role's and the container role's current credentials. Like the real services, the same
 * credentials are handed out until they near expiry, then fresh ones replace them (the old ones stay valid
 * until their own expiry).
 */
export class AwsSessions {
  readonly #current = new Map<"instance" | "container", AwsSession>();
  readonly #keys: AwsKeyRegistry;
  readonly #clock: Clock;
  readonly #state: () => EmulatorState;

  constructor(keys: AwsKeyRegistry, clock: Clock, state: () => EmulatorState) {
    this.#keys = keys;
    this.#clock = clock;
    this.#state = state;
  }

  instance(): AwsSession {
    const { aws } = this.#state();
    return this.#session("instance", {
      arn: aws.instance.assumedRoleArn,
      userId: `${aws.instance.roleId}:${aws.instance.id}`,
      lifetimeSeconds: aws.imds.credentialsLifetimeSeconds,
      rotateBeforeSeconds: aws.imds.rotateBeforeSeconds,
      source: "imds",
    });
  }

  container(): AwsSession {
    const { aws } = this.#state();
    return this.#session("container", {
      arn: aws.container.assumedRoleArn,
      userId: `${aws.container.roleId}:${aws.container.sessionName}`,
      lifetimeSeconds: aws.container.credentialsLifetimeSeconds,
      rotateBeforeSeconds: Math.min(900, aws.container.credentialsLifetimeSeconds / 2),
      source: "container",
    });
  }

  #session(
    kind: "instance" | "container",
    init: {
      arn: string;
      userId: string;
      lifetimeSeconds: number;
      rotateBeforeSeconds: number;
      source: AwsKey["source"];
    },
  ): AwsSession {
    const now = this.#clock.now();
    const current = this.#current.get(kind);
    const fresh =
      current &&
      current.key.arn === init.arn &&
      (current.key.expiresAt ?? Number.POSITIVE_INFINITY) - now > init.rotateBeforeSeconds * 1000;
    if (fresh) return current;
    const key = this.#keys.issueTemporary({
      arn: init.arn,
      account: this.#state().aws.accountId,
      userId: init.userId,
      expiresAt: now + init.lifetimeSeconds * 1000,
      source: init.source,
    });
    const session = { key, issuedAt: now };
    this.#current.set(kind, session);
    return session;
  }
}
