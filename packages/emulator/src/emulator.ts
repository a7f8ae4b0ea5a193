import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCredentialConfig, type ExternalAccountConfig, type SourceOptions } from "@wifkit/config";
import { invalidOption } from "@wifkit/core";
import { createEmulatorClock, type EmulatorClock } from "./clock.js";
import {
  DEFAULT_EMULATOR_CONFIG,
  EMPTY_EMULATOR_CONFIG,
  type EmulatorConfig,
  type EmulatorState,
  mergeConfig,
} from "./config.js";
import { type EmulatorCounters, RequestCounters } from "./counters.js";
import { type EmulatorFaults, FaultRegistry } from "./faults.js";
import { OidcVerifier } from "./oidc.js";
import {
  createRulesCache,
  type EmulatorUrls,
  type EntraTokenInit,
  findAzureIdentity,
  type KubernetesTokenInit,
  mintEntraToken,
  mintKubernetesToken,
  type Runtime,
  SERVICE_NAMES,
  type ServiceName,
} from "./runtime.js";
import { listenService, type RunningService, type ServiceDefinition } from "./server.js";
import { awsContainerService, awsImdsService } from "./services/aws-imds.js";
import { awsStsService } from "./services/aws-sts.js";
import { azureAppServiceService, azureArcService, azureImdsService } from "./services/azure.js";
import { entraService, kubernetesService } from "./services/entra.js";
import { googleCertsService } from "./services/google-certs.js";
import { CLOUD_PLATFORM_SCOPE, googleStsService } from "./services/google-sts.js";
import { iamService } from "./services/iam.js";
import { iamCredentialsService } from "./services/iam-credentials.js";
import { resourceManagerService } from "./services/resource-manager.js";
import { serviceUsageService } from "./services/service-usage.js";
import { storageService } from "./services/storage.js";
import { createSigningKey, type SigningKey } from "./signing.js";
import { signSigV4 } from "./sigv4.js";
import { readStateFile, StateStore, writeStateFile } from "./state-store.js";
import { type AwsKey, type AwsKeyInit, AwsKeyRegistry, AwsSessions, GoogleTokenStore } from "./stores.js";

/** The emulator binds loopback unless told otherwise: it hands out credentials to anyone who can reach it. */
export const DEFAULT_EMULATOR_HOST = "127.0.0.1";

export interface EmulatorOptions {
  /** What exists in the emulated clouds, merged over `DEFAULT_EMULATOR_CONFIG` (or the state file, or the empty project). */
  config?: EmulatorConfig;
  /**
   * Start from a new, empty Google project (`EMPTY_EMULATOR_CONFIG`: no pools, service accounts, bindings
   * or enabled guide APIs) that gcloud commands then set up. Default false: the ready-made default state.
   */
  empty?: boolean;
  /**
   * A JSON state file: loaded at start when it exists (a complete state, not merged over the defaults),
   * then rewritten after every change (admin API calls, `reconfigure`). Tokens are not part of it.
   */
  stateFile?: string;
  /** Bind address for every listener. Default `127.0.0.1`. */
  host?: string;
  /**
   * Fixed ports: service N (in the order of `urls`) listens on `portBase + N`. Default: each service gets a
   * free ephemeral port.
   */
  portBase?: number;
  /** Initial emulator time. Default: the wall clock. */
  startTime?: number | Date;
  /** Receives one line per request (service, method, path, status; never a query, token or key). */
  log?: (line: string) => void;
  /** Directory for files the emulator writes (token files, Arc key files). Default: a fresh temp dir, removed on stop. */
  tempDir?: string;
  /**
   * Length in characters of the Google access tokens STS and IAM Credentials issue. Default: a short
   * token (about 60 characters). Real ones are often near 1 KB; benchmarks ask for that.
   */
  accessTokenLength?: number;
}

export type CredentialSourceKind = "aws" | "azure" | "file" | "url";

export interface CredentialConfigOptions {
  source: CredentialSourceKind;
  /** Impersonate this service account (its id such as "wifkit-reader", or its email). Omit for direct access. */
  serviceAccount?: string;
  serviceAccountTokenLifetimeSeconds?: number;
  /** Provider id. Default: "aws-provider" (aws), "azure-provider" (azure), "oidc-provider" (file, url). */
  provider?: string;
  /** Pool id. Default: the first pool. */
  pool?: string;
  /** AWS: add `imdsv2_session_token_url`. */
  imdsv2?: boolean;
  /** Azure: the App ID URI to request. Default: the provider's first allowed audience. */
  appIdUri?: string;
  /** Azure: pick a user-assigned identity by client id (added to the IMDS URL as `client_id`). */
  azureClientId?: string;
  /** File: the token file to read. Default: a fresh Kubernetes token for the provider, written to `tempDir`. */
  file?: string;
  /** URL: the URL to read. Default: the Kubernetes issuer's `/token` route (JSON, field `token`). */
  url?: string;
  headers?: Record<string, string>;
  format?: { type: "text" | "json"; subjectTokenFieldName?: string };
}

export type AwsEnvSource = "imds" | "container" | "pod-identity" | "web-identity" | "static";
export type AzureEnvSource = "imds" | "app-service" | "arc" | "aks";

export interface AwsCredentialsSnapshot {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiresAt?: Date | undefined;
  arn: string;
}

export interface AwsSubjectTokenOptions {
  /** Which credentials sign: a principal the emulator knows, or explicit keys. Default "instance". */
  credentials?:
    | "instance"
    | "container"
    | "user"
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  /** Signing region (and URL host). Default: the emulated instance's region. */
  region?: string;
  /** `x-goog-cloud-target-resource`. Default: the aws provider's audience. */
  audience?: string;
  /** Signing time. Default: the emulator clock. */
  date?: Date | number;
  /** Sign `x-goog-cloud-target-resource` too (one library does). Default false. */
  signTargetResource?: boolean;
}

export interface GoogleTokenOptions {
  /** A federated subject in a provider (default "aws-provider") of the first pool... */
  subject?: string;
  /** ...or a Google user account (`user:EMAIL` in IAM policies), e.g. the project's administrator... */
  user?: string;
  provider?: string;
  groups?: string[];
  attributes?: Record<string, string | string[]>;
  /** ...or a service account (id or email). */
  serviceAccount?: string;
  scopes?: string[];
  lifetimeSeconds?: number;
}

export interface Emulator {
  /** Base URL of every emulated service, e.g. `${urls.sts}/v1/token`. */
  readonly urls: EmulatorUrls;
  /** The resolved, live state (read on every request; `reconfigure` replaces it). */
  readonly state: EmulatorState;
  readonly clock: EmulatorClock;
  readonly faults: EmulatorFaults;
  readonly counters: EmulatorCounters;
  /** Origins of every service, for @wifkit/config's `allow.origins`. */
  readonly allowOrigins: string[];
  /** Where the emulator writes token and key files. */
  readonly tempDir: string;
  /** Deep-merges `patch` into the current config (same rules as the config file) and applies it at once. */
  reconfigure(patch: EmulatorConfig): void;
  /** The complete current state as a config (what `stateFile` holds); load it back with `startEmulator({ stateFile })`. */
  exportState(): EmulatorConfig;
  /** Writes `exportState()` to `path` (0600, atomically). */
  saveState(path: string): void;
  /**
   * Environment for gcloud against this emulator: endpoint overrides for every emulated Google API, an
   * access token of the project's administrator (`CLOUDSDK_AUTH_ACCESS_TOKEN`), the project, a private
   * `CLOUDSDK_CONFIG` under `tempDir`, and no update checks, usage reports or GCE metadata probes.
   */
  gcloudEnv(options?: GcloudEnvOptions): Record<string, string>;
  /** The STS audience of a provider: `//iam.googleapis.com/projects/N/.../providers/ID`. */
  providerAudience(providerId?: string, poolId?: string): string;
  /** A service account's email, from its id ("wifkit-reader") or email. */
  serviceAccountEmail(idOrEmail: string): string;
  credentialConfig(options: CredentialConfigOptions): ExternalAccountConfig;
  /** Writes `credentialConfig(options)` to a 0600 file (default in `tempDir`) and returns its path. */
  writeCredentialConfig(options: CredentialConfigOptions & { path?: string }): string;
  /** Env vars a workload on AWS would see, pointing at the emulator. */
  awsEnv(options?: { source?: AwsEnvSource; region?: string }): Record<string, string>;
  /** Env vars a workload on Azure would see, pointing at the emulator. */
  azureEnv(options?: { source?: AzureEnvSource; clientId?: string }): Record<string, string>;
  mintKubernetesToken(init?: KubernetesTokenInit): string;
  mintEntraToken(init?: EntraTokenInit): string;
  /** Either of the above by issuer name. */
  mintOidcToken(init: { issuer: "kubernetes" } & KubernetesTokenInit): string;
  mintOidcToken(init: { issuer: "entra" } & EntraTokenInit): string;
  /** Makes a key known to the emulated AWS (e.g. the shared SigV4 vectors' keys). */
  registerAwsKey(key: AwsKeyInit): AwsKey;
  /** Every key the emulated AWS knows. */
  awsKeys(): AwsKey[];
  /** The current credentials of a principal (issuing them if needed, as IMDS / the container endpoint would). */
  awsCredentials(principal: "instance" | "container" | "user"): AwsCredentialsSnapshot;
  /** A signed, serialized GetCallerIdentity subject token, as an AWS workload would send to STS. */
  awsSubjectToken(options?: AwsSubjectTokenOptions): string;
  /** Issues a Google access token directly (skipping STS / IAM Credentials), for tests of later steps. */
  issueGoogleToken(options?: GoogleTokenOptions): { accessToken: string; expiresAt: Date };
  /** Closes every listener and removes `tempDir` (when the emulator created it). */
  stop(): Promise<void>;
}

export interface GcloudEnvOptions {
  /** The administrator's email (`user:EMAIL`). Default `DEFAULT_ADMIN_EMAIL`. */
  admin?: string;
  /** Lifetime of the administrator's token. Default 12 hours (emulator time). */
  tokenLifetimeSeconds?: number;
  /** `CLOUDSDK_CONFIG` directory. Default `TEMPDIR/gcloud`. */
  configDir?: string;
}

/** Who `gcloudEnv()` authenticates gcloud as. The admin APIs accept any live token the emulator issued. */
export const DEFAULT_ADMIN_EMAIL = "admin@wifkit.example";

/** The emulated Google APIs gcloud can be pointed at, by `CLOUDSDK_API_ENDPOINT_OVERRIDES_*` suffix. */
const GCLOUD_APIS: Record<string, ServiceName> = {
  IAM: "iam",
  IAMCREDENTIALS: "iamCredentials",
  SERVICEUSAGE: "serviceUsage",
  CLOUDRESOURCEMANAGER: "resourceManager",
  STORAGE: "storage",
  STS: "sts",
};

/**
 * Starts the emulator: one `node:http` listener per emulated service, on loopback and ephemeral ports by
 * default. Always `stop()` it (e.g. in `afterAll`).
 *
 * @example
 * const emulator = await startEmulator();
 * const config = emulator.credentialConfig({ source: "aws", serviceAccount: "wifkit-reader" });
 * // ...point a client at `config` with env `emulator.awsEnv()`...
 * await emulator.stop();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? DEFAULT_EMULATOR_HOST;
  const clock = createEmulatorClock(options.startTime);
  const counters = new RequestCounters();
  const faults = new FaultRegistry(clock);
  // Before anything is created: it checks accessTokenLength.
  const googleTokens = new GoogleTokenStore(clock, options.accessTokenLength);
  const ownsTempDir = options.tempDir === undefined;
  const tempDir = options.tempDir ?? mkdtempSync(join(tmpdir(), "wif-emulator-"));
  mkdirSync(tempDir, { recursive: true, mode: 0o700 });

  const [google, entra, kubernetes] = await issuerKeys();
  // URLs are only known after listening: resolve with loopback stand-ins to validate early, again after.
  const urls = Object.fromEntries(
    SERVICE_NAMES.map((name) => [name, "http://127.0.0.1:0"]),
  ) as unknown as EmulatorUrls;
  const base =
    (options.stateFile === undefined ? undefined : readStateFile(options.stateFile)) ??
    (options.empty ? EMPTY_EMULATOR_CONFIG : DEFAULT_EMULATOR_CONFIG);
  const rules = createRulesCache();
  const store = new StateStore({
    config: mergeConfig(structuredClone(base) as EmulatorConfig, options.config ?? {}),
    urls,
    rules,
    stateFile: options.stateFile,
  });
  const getState = () => store.state;
  const awsKeys = new AwsKeyRegistry(getState);
  const runtime: Runtime = {
    get state() {
      return store.state;
    },
    store,
    urls,
    clock,
    keys: { google, entra, kubernetes },
    googleTokens,
    awsKeys,
    awsSessions: new AwsSessions(awsKeys, clock, getState),
    oidc: new OidcVerifier(clock),
    tempDir,
    rules,
  };

  const definitions: Record<ServiceName, ServiceDefinition> = {
    sts: googleStsService(runtime),
    iamCredentials: iamCredentialsService(runtime),
    storage: storageService(runtime),
    googleCerts: googleCertsService(runtime),
    awsImds: awsImdsService(runtime),
    awsSts: awsStsService(runtime),
    awsContainer: awsContainerService(runtime),
    azureImds: azureImdsService(runtime),
    azureAppService: azureAppServiceService(runtime),
    azureArc: azureArcService(runtime),
    entra: entraService(runtime),
    kubernetes: kubernetesService(runtime),
    iam: iamService(runtime),
    serviceUsage: serviceUsageService(runtime),
    resourceManager: resourceManagerService(runtime),
  };
  const running: RunningService[] = [];
  try {
    for (const [index, name] of SERVICE_NAMES.entries()) {
      const service = await listenService(definitions[name], {
        host,
        port: options.portBase === undefined || options.portBase === 0 ? 0 : options.portBase + index,
        counters,
        faults,
        log: options.log,
        clock,
      });
      running.push(service);
      urls[name] = service.url;
    }
    store.refresh();
  } catch (error) {
    await Promise.all(running.map((service) => service.close()));
    if (ownsTempDir) rmSync(tempDir, { recursive: true, force: true });
    throw error;
  }

  const firstPool = () => Object.keys(store.state.pools)[0] ?? "";
  const providerAudience = (providerId = "aws-provider", poolId = firstPool()) => {
    const provider = store.state.pools[poolId]?.providers[providerId];
    if (!provider)
      throw invalidOption("provider", `"${providerId}" is not in pool "${poolId}" of the emulator config.`);
    return provider.audience;
  };
  const serviceAccountEmail = (idOrEmail: string) => {
    const account =
      store.state.serviceAccounts[idOrEmail] ??
      Object.values(store.state.serviceAccounts).find((sa) => sa.email === idOrEmail.toLowerCase());
    if (!account) throw invalidOption("serviceAccount", `"${idOrEmail}" is not in the emulator config.`);
    return account.email;
  };
  const writeSecretFile = (name: string, content: string) => {
    const path = join(tempDir, name);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, content, { mode: 0o600 });
    renameSync(temporary, path);
    return path;
  };
  const oidcProviderAudience = (providerId: string, poolId: string) => {
    const provider = store.state.pools[poolId]?.providers[providerId];
    if (!provider)
      throw invalidOption("provider", `"${providerId}" is not in pool "${poolId}" of the emulator config.`);
    return provider.allowedAudiences[0] ?? `https:${provider.audience}`;
  };
  const entraToken = (init: EntraTokenInit = {}) => {
    const identity = findAzureIdentity(store.state, init.identity);
    if (!identity)
      throw invalidOption(
        "identity",
        `"${init.identity}" is not an Azure managed identity of the emulator config.`,
      );
    return mintEntraToken(runtime, identity, init).token;
  };
  const credentials = (principal: "instance" | "container" | "user"): AwsCredentialsSnapshot => {
    if (principal === "user") {
      const user = Object.values(store.state.aws.users)[0];
      if (!user)
        throw invalidOption("source", "static needs an AWS IAM user, and the emulator config has none.");
      return { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey, arn: user.arn };
    }
    const session =
      principal === "instance" ? runtime.awsSessions.instance() : runtime.awsSessions.container();
    return {
      accessKeyId: session.key.accessKeyId,
      secretAccessKey: session.key.secretAccessKey,
      sessionToken: session.key.sessionToken,
      expiresAt: session.key.expiresAt === undefined ? undefined : new Date(session.key.expiresAt),
      arn: session.key.arn,
    };
  };

  const credentialConfig = (init: CredentialConfigOptions): ExternalAccountConfig => {
    const poolId = init.pool ?? firstPool();
    const defaultProvider = {
      aws: "aws-provider",
      azure: "azure-provider",
      file: "oidc-provider",
      url: "oidc-provider",
    }[init.source];
    const providerId = init.provider ?? defaultProvider;
    const provider = store.state.pools[poolId]?.providers[providerId];
    if (!provider)
      throw invalidOption("provider", `"${providerId}" is not in pool "${poolId}" of the emulator config.`);
    let source: SourceOptions;
    let azureClientId: string | undefined;
    switch (init.source) {
      case "aws":
        source = { kind: "aws", enableImdsv2: init.imdsv2 ?? false };
        break;
      case "azure":
        source = {
          kind: "azure",
          appIdUri: init.appIdUri ?? provider.allowedAudiences[0] ?? "api://wifkit-demo",
        };
        azureClientId = init.azureClientId;
        break;
      case "file": {
        const path =
          init.file ??
          writeSecretFile(
            `${providerId}-token.jwt`,
            mintKubernetesToken(runtime, { audience: oidcProviderAudience(providerId, poolId) }).token,
          );
        source = { kind: "file", path, format: init.format };
        break;
      }
      case "url": {
        const url =
          init.url ??
          `${urls.kubernetes}/token?format=json&audience=${encodeURIComponent(oidcProviderAudience(providerId, poolId))}`;
        source = {
          kind: "url",
          url,
          headers: init.headers,
          format: init.format ?? (init.url ? undefined : { type: "json", subjectTokenFieldName: "token" }),
        };
        break;
      }
    }
    const config = buildCredentialConfig({
      resource: provider.resource,
      source,
      serviceAccount:
        init.serviceAccount === undefined ? undefined : serviceAccountEmail(init.serviceAccount),
      serviceAccountTokenLifetimeSeconds: init.serviceAccountTokenLifetimeSeconds,
      endpoints: {
        tokenUrl: `${urls.sts}/v1/token`,
        tokenInfoUrl: `${urls.sts}/v1/introspect`,
        iamCredentialsBaseUrl: urls.iamCredentials,
        awsMetadataBaseUrl: urls.awsImds,
        azureMetadataBaseUrl: urls.azureImds,
      },
    });
    if (azureClientId !== undefined && "url" in config.credential_source) {
      config.credential_source.url += `&client_id=${encodeURIComponent(azureClientId)}`;
    }
    return config;
  };

  /** The identity a federated token stands for: as given, or what the provider maps the EC2 instance role to. */
  const federatedIdentity = (init: GoogleTokenOptions) => {
    const poolId = firstPool();
    const providerId = init.provider ?? "aws-provider";
    const provider = store.state.pools[poolId]?.providers[providerId];
    if (!provider)
      throw invalidOption("provider", `"${providerId}" is not in pool "${poolId}" of the emulator config.`);
    let mapped = {
      subject: init.subject ?? "",
      groups: init.groups ?? [],
      attributes: init.attributes ?? {},
    };
    if (init.subject === undefined) {
      if (provider.type !== "aws")
        throw invalidOption("subject", "of issueGoogleToken is needed for an OIDC provider.");
      const { instance, accountId } = store.state.aws;
      mapped = rules(provider).mapping.evaluate({
        arn: instance.assumedRoleArn,
        account: accountId,
        userid: `${instance.roleId}:${instance.id}`,
      });
    }
    return { projectNumber: store.state.projectNumber, poolId, providerId, ...mapped };
  };

  let stopped = false;
  const emulator: Emulator = {
    urls,
    get state() {
      return store.state;
    },
    clock,
    faults,
    counters,
    allowOrigins: SERVICE_NAMES.map((name) => new URL(urls[name]).origin),
    tempDir,
    reconfigure: (patch) => store.merge(patch),
    exportState: () => store.snapshot(),
    saveState: (path) => writeStateFile(path, store.snapshot()),
    gcloudEnv(init = {}) {
      const token = runtime.googleTokens.issue({
        kind: "user",
        email: init.admin ?? DEFAULT_ADMIN_EMAIL,
        scopes: [CLOUD_PLATFORM_SCOPE],
        lifetimeMs: (init.tokenLifetimeSeconds ?? 12 * 3600) * 1000,
      });
      const env: Record<string, string> = {
        CLOUDSDK_CONFIG: init.configDir ?? join(tempDir, "gcloud"),
        CLOUDSDK_CORE_PROJECT: store.state.projectId,
        CLOUDSDK_AUTH_ACCESS_TOKEN: token.token,
        CLOUDSDK_CORE_CHECK_GCE_METADATA: "false",
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "true",
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "true",
      };
      for (const [api, service] of Object.entries(GCLOUD_APIS)) {
        env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api}`] = `${urls[service]}/`;
      }
      return env;
    },
    providerAudience,
    serviceAccountEmail,
    credentialConfig,
    writeCredentialConfig({ path, ...init }) {
      const content = `${JSON.stringify(credentialConfig(init), null, 2)}\n`;
      if (path === undefined)
        return writeSecretFile(`credential-config-${init.source}-${Date.now().toString(36)}.json`, content);
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, content, { mode: 0o600 });
      renameSync(temporary, path);
      return path;
    },
    awsEnv({ source = "imds", region } = {}) {
      const env: Record<string, string> = {
        AWS_ENDPOINT_URL_STS: urls.awsSts,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: urls.awsImds,
      };
      if (region !== undefined || source !== "imds") env.AWS_REGION = region ?? store.state.aws.region;
      switch (source) {
        case "imds":
          if (store.state.aws.imds.v2Only) env.AWS_EC2_METADATA_V1_DISABLED = "true";
          break;
        case "container":
          env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${urls.awsContainer}/v2/credentials/${store.state.aws.container.sessionName}`;
          env.AWS_CONTAINER_AUTHORIZATION_TOKEN = store.state.aws.container.authorizationToken;
          break;
        case "pod-identity":
          env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${urls.awsContainer}/v1/credentials`;
          env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = writeSecretFile(
            "eks-pod-identity-token",
            store.state.aws.container.authorizationToken,
          );
          break;
        case "web-identity": {
          const role = Object.values(store.state.aws.roles).find((candidate) => candidate.webIdentity);
          if (!role?.webIdentity)
            throw invalidOption(
              "source",
              "web-identity needs an AWS role with webIdentity trust, and the emulator config has none.",
            );
          const audience = role.webIdentity.audiences[0] ?? "sts.amazonaws.com";
          env.AWS_ROLE_ARN = role.arn;
          env.AWS_ROLE_SESSION_NAME = "wifkit-irsa-session";
          env.AWS_WEB_IDENTITY_TOKEN_FILE = writeSecretFile(
            "eks-irsa-token",
            mintKubernetesToken(runtime, { audience }).token,
          );
          break;
        }
        case "static": {
          const user = credentials("user");
          env.AWS_ACCESS_KEY_ID = user.accessKeyId;
          env.AWS_SECRET_ACCESS_KEY = user.secretAccessKey;
          break;
        }
      }
      return env;
    },
    azureEnv({ source = "imds", clientId } = {}) {
      switch (source) {
        case "imds":
          return { AZURE_IMDS_ENDPOINT: urls.azureImds, ...(clientId ? { AZURE_CLIENT_ID: clientId } : {}) };
        case "app-service":
          return {
            IDENTITY_ENDPOINT: `${urls.azureAppService}/msi/token`,
            IDENTITY_HEADER: store.state.azure.appService.identityHeader,
            ...(clientId ? { AZURE_CLIENT_ID: clientId } : {}),
          };
        case "arc":
          return {
            IDENTITY_ENDPOINT: `${urls.azureArc}/metadata/identity/oauth2/token`,
            IMDS_ENDPOINT: urls.azureArc,
          };
        case "aks": {
          const identity =
            (clientId ? findAzureIdentity(store.state, clientId) : undefined) ??
            Object.values(store.state.azure.identities).find(
              (candidate) => candidate.federatedCredentials.length > 0,
            );
          const credential = identity?.federatedCredentials[0];
          if (!identity || !credential)
            throw invalidOption(
              "source",
              "aks needs an Azure identity with a federated credential, and the emulator config has none.",
            );
          const token = mintKubernetesToken(runtime, {
            audience: credential.audiences[0] ?? "api://AzureADTokenExchange",
            ...subjectParts(credential.subject),
          }).token;
          return {
            AZURE_CLIENT_ID: identity.clientId,
            AZURE_TENANT_ID: store.state.azure.tenantId,
            AZURE_FEDERATED_TOKEN_FILE: writeSecretFile("azure-identity-token", token),
            AZURE_AUTHORITY_HOST: `${urls.entra}/`,
          };
        }
      }
    },
    mintKubernetesToken: (init) => mintKubernetesToken(runtime, init).token,
    mintEntraToken: entraToken,
    mintOidcToken(
      init: ({ issuer: "kubernetes" } & KubernetesTokenInit) | ({ issuer: "entra" } & EntraTokenInit),
    ) {
      const { issuer, ...rest } = init;
      if (issuer === "kubernetes") return mintKubernetesToken(runtime, rest).token;
      if (issuer === "entra") return entraToken(rest);
      throw invalidOption(
        "issuer",
        `of mintOidcToken, "${String(issuer)}", is unknown; use "kubernetes" or "entra".`,
      );
    },
    registerAwsKey: (key) => awsKeys.register(key),
    awsKeys: () => awsKeys.list(),
    awsCredentials: credentials,
    awsSubjectToken(init = {}) {
      const keys =
        typeof init.credentials === "object" ? init.credentials : credentials(init.credentials ?? "instance");
      const region = init.region ?? store.state.aws.region;
      const url = new URL(`https://sts.${region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15`);
      const audience = init.audience ?? providerAudience("aws-provider");
      const target: [string, string] = ["x-goog-cloud-target-resource", audience];
      const time =
        init.date === undefined
          ? clock.now()
          : typeof init.date === "number"
            ? init.date
            : init.date.getTime();
      const signed = signSigV4({
        method: "POST",
        url,
        headers: init.signTargetResource ? [target] : [],
        credentials: keys,
        region,
        service: "sts",
        time,
      });
      const headers = init.signTargetResource ? signed : [...signed, target];
      return encodeURIComponent(
        JSON.stringify({
          url: url.href.replace("/?", "?"),
          method: "POST",
          headers: headers.map(([key, value]) => ({ key, value })),
        }),
      );
    },
    issueGoogleToken(init = {}) {
      const lifetimeMs = (init.lifetimeSeconds ?? 3600) * 1000;
      const scopes = init.scopes ?? [CLOUD_PLATFORM_SCOPE];
      const record =
        init.serviceAccount !== undefined
          ? runtime.googleTokens.issue({
              kind: "serviceAccount",
              email: serviceAccountEmail(init.serviceAccount),
              delegates: [],
              scopes,
              lifetimeMs,
            })
          : init.user !== undefined
            ? runtime.googleTokens.issue({ kind: "user", email: init.user.toLowerCase(), scopes, lifetimeMs })
            : runtime.googleTokens.issue({
                kind: "federated",
                identity: federatedIdentity(init),
                scopes,
                lifetimeMs,
              });
      return { accessToken: record.token, expiresAt: new Date(record.expiresAt) };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(running.map((service) => service.close()));
      if (ownsTempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
  return emulator;
}

let sharedKeys: Promise<[SigningKey, SigningKey, SigningKey]> | undefined;

/**
 * The three issuers' RSA keys. Generating them costs most of a start-up, so emulators in one process share
 * them; each emulator still serves them at its own URLs, and nothing outside the process ever sees them.
 */
function issuerKeys(): Promise<[SigningKey, SigningKey, SigningKey]> {
  sharedKeys ??= Promise.all([createSigningKey(), createSigningKey(), createSigningKey()]);
  sharedKeys.catch(() => {
    sharedKeys = undefined;
  });
  return sharedKeys;
}

function subjectParts(subject: string): { namespace?: string; serviceAccount?: string } {
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
  return match ? { namespace: match[1]!, serviceAccount: match[2]! } : {};
}
