import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  type EmulatorConfig,
  EmulatorConfigError,
  type EmulatorState,
  mergeConfig,
  resolveCompleteConfig,
} from "./config.js";
import type { Runtime } from "./runtime.js";

/**
 * The one store of what exists in the emulated clouds. The complete config (defaults included) is the
 * truth; the resolved state the services read is derived from it on every change. Config patches
 * (`reconfigure`) and the admin APIs gcloud drives both change it here, so whatever is created one way is
 * enforced the other way, and the state file holds exactly this config.
 */
export class StateStore {
  #config: EmulatorConfig;
  #state: EmulatorState;
  readonly #urls: object;
  readonly #rules: Runtime["rules"];
  readonly #stateFile: string | undefined;

  constructor(init: {
    config: EmulatorConfig;
    urls: object;
    rules: Runtime["rules"];
    stateFile?: string | undefined;
  }) {
    this.#urls = init.urls;
    this.#rules = init.rules;
    this.#stateFile = init.stateFile;
    this.#config = structuredClone(init.config);
    this.#state = this.#resolve(this.#config);
  }

  /** The live state every request reads. */
  get state(): EmulatorState {
    return this.#state;
  }

  /**
   * A copy of the complete config: what a state file holds. The emulator's own service URLs in issuers
   * and audiences (an OIDC provider created for its Entra) become placeholders (`{entra}/TENANT`), so the
   * state still works after a restart on other ports.
   */
  snapshot(): EmulatorConfig {
    return withUrlPlaceholders(structuredClone(this.#config), this.#urls as Record<string, string>);
  }

  /**
   * Applies a change to a copy of the config; the store changes only if the result resolves and every
   * provider's mapping and condition compile. Throws {@link EmulatorConfigError} otherwise.
   */
  update(mutate: (config: EmulatorConfig) => void): void {
    const next = structuredClone(this.#config);
    mutate(next);
    this.replace(next);
  }

  /** Deep-merges a patch (the config file rules: `null` removes an entry). */
  merge(patch: EmulatorConfig): void {
    this.replace(mergeConfig(this.#config, patch));
  }

  replace(config: EmulatorConfig): void {
    const state = this.#resolve(config);
    this.#config = config;
    this.#state = state;
    if (this.#stateFile !== undefined) writeStateFile(this.#stateFile, this.snapshot());
  }

  /** Re-resolves with the final URLs (placeholders such as `{entra}` are filled only once they are known). */
  refresh(): void {
    this.#state = this.#resolve(this.#config);
    if (this.#stateFile !== undefined) writeStateFile(this.#stateFile, this.snapshot());
  }

  #resolve(config: EmulatorConfig): EmulatorState {
    const state = resolveCompleteConfig(config, this.#urls);
    for (const pool of Object.values(state.pools)) {
      for (const provider of Object.values(pool.providers)) {
        try {
          this.#rules(provider);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new EmulatorConfigError(`pools.${pool.id}.providers.${provider.id}`, message, {
            cause: error,
          });
        }
      }
    }
    return state;
  }
}

/** Replaces a leading service base URL (not followed by more port digits) with its `{name}` placeholder. */
function placeholderFor(value: string, urls: Record<string, string>): string {
  for (const [name, url] of Object.entries(urls)) {
    if (value.startsWith(url) && !/^\d/.test(value.slice(url.length)))
      return `{${name}}${value.slice(url.length)}`;
  }
  return value;
}

type Json = Record<string, unknown>;
const objects = (value: unknown): Json[] =>
  typeof value === "object" && value !== null
    ? (Object.values(value) as unknown[]).filter((v): v is Json => typeof v === "object" && v !== null)
    : [];

function withUrlPlaceholders(config: EmulatorConfig, urls: Record<string, string>): EmulatorConfig {
  const swap = (holder: Json, key: string) => {
    const value = holder[key];
    if (typeof value === "string") holder[key] = placeholderFor(value, urls);
    else if (Array.isArray(value))
      holder[key] = value.map((item) => (typeof item === "string" ? placeholderFor(item, urls) : item));
  };
  for (const pool of objects(config.pools)) {
    for (const provider of objects(pool.providers)) {
      swap(provider, "issuerUri");
      swap(provider, "allowedAudiences");
    }
  }
  for (const role of objects(config.aws?.roles)) {
    if (typeof role.webIdentity === "object" && role.webIdentity !== null)
      swap(role.webIdentity as Json, "issuer");
  }
  for (const identity of objects(config.azure?.identities)) {
    for (const credential of objects(identity.federatedCredentials)) swap(credential, "issuer");
  }
  return config;
}

/** Reads a state file written by {@link writeStateFile}; undefined when there is none yet. */
export function readStateFile(path: string): EmulatorConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new EmulatorConfigError("(state file)", `${path} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new EmulatorConfigError("(state file)", `${path} does not hold a JSON object`);
  }
  return parsed as EmulatorConfig;
}

/** Writes the complete config as JSON, atomically and readable by the owner only (it holds AWS keys). */
export function writeStateFile(path: string, config: EmulatorConfig): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
