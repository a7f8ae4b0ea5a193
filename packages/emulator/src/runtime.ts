import { type CompiledProviderRules, compileProviderRules } from "@wifkit/attribute-mapping";
import type { EmulatorClock } from "./clock.js";
import type { AzureIdentityState, EmulatorState, ProviderState } from "./config.js";
import type { OidcVerifier } from "./oidc.js";
import { randomToken, randomUuid, type SigningKey } from "./signing.js";
import type { StateStore } from "./state-store.js";
import type { AwsKeyRegistry, AwsSessions, GoogleTokenStore } from "./stores.js";

/** Base URLs of the emulated services (no trailing slash). */
export interface EmulatorUrls {
  /** Google STS: `${sts}/v1/token`, `${sts}/v1/introspect` (any Host: regional endpoints land here too). */
  sts: string;
  /** IAM Credentials: `${iamCredentials}/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`. */
  iamCredentials: string;
  /** Cloud Storage JSON API: `${storage}/storage/v1/b/BUCKET/o/OBJECT`. */
  storage: string;
  /** Google's OAuth certs and discovery: `${googleCerts}/oauth2/v3/certs`. */
  googleCerts: string;
  /** EC2 instance metadata: `${awsImds}/latest/...`. */
  awsImds: string;
  /** AWS STS query API (`POST /`). */
  awsSts: string;
  /** ECS / EKS Pod Identity container credentials. */
  awsContainer: string;
  /** Azure VM IMDS: `${azureImds}/metadata/identity/oauth2/token`. */
  azureImds: string;
  /** App Service / Functions identity endpoint: `${azureAppService}/msi/token`. */
  azureAppService: string;
  /** Azure Arc agent: `${azureArc}/metadata/identity/oauth2/token`. */
  azureArc: string;
  /** Entra ID (login.microsoftonline.com and sts.windows.net in one): `${entra}/TENANT/...`. */
  entra: string;
  /** The Kubernetes cluster's service-account token issuer (discovery + JWKS). */
  kubernetes: string;
  /** IAM admin API (iam.googleapis.com): workload identity pools and providers, service accounts and their IAM policy. */
  iam: string;
  /** Service Usage (serviceusage.googleapis.com): enable, disable and list APIs. */
  serviceUsage: string;
  /** Cloud Resource Manager (cloudresourcemanager.googleapis.com): the project and its number. */
  resourceManager: string;
}

export type ServiceName = keyof EmulatorUrls;

export const SERVICE_NAMES: readonly ServiceName[] = [
  "sts",
  "iamCredentials",
  "storage",
  "googleCerts",
  "awsImds",
  "awsSts",
  "awsContainer",
  "azureImds",
  "azureAppService",
  "azureArc",
  "entra",
  "kubernetes",
  "iam",
  "serviceUsage",
  "resourceManager",
];

export interface SigningKeys {
  google: SigningKey;
  entra: SigningKey;
  kubernetes: SigningKey;
}

/** Everything the emulated services share. `state` is read on every request, so changes apply at once. */
export interface Runtime {
  /** The live state (the store's current resolution). */
  readonly state: EmulatorState;
  /** The one store of what exists; the admin APIs change it through `store.update`. */
  readonly store: StateStore;
  readonly urls: EmulatorUrls;
  readonly clock: EmulatorClock;
  readonly keys: SigningKeys;
  readonly googleTokens: GoogleTokenStore;
  readonly awsKeys: AwsKeyRegistry;
  readonly awsSessions: AwsSessions;
  readonly oidc: OidcVerifier;
  /** Where the emulator writes files (Arc key files, token files); removed on stop. */
  readonly tempDir: string;
  rules(provider: ProviderState): CompiledProviderRules;
}

/** Compiles provider rules once per distinct (type, mapping, condition). */
export function createRulesCache(): (provider: ProviderState) => CompiledProviderRules {
  const cache = new Map<string, CompiledProviderRules>();
  return (provider) => {
    const key = JSON.stringify([
      provider.type,
      provider.attributeMapping ?? null,
      provider.attributeCondition ?? null,
    ]);
    let rules = cache.get(key);
    if (!rules) {
      rules = compileProviderRules({
        mapping: provider.attributeMapping,
        condition: provider.attributeCondition,
        providerType: provider.type,
      });
      cache.set(key, rules);
    }
    return rules;
  };
}

export const SECONDS = 1000;

export interface MintedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export interface KubernetesTokenInit {
  namespace?: string;
  serviceAccount?: string;
  /** One audience or several; default the Kubernetes API server's own. */
  audience?: string | string[];
  lifetimeSeconds?: number;
  /** Extra or overriding claims. */
  claims?: Record<string, unknown>;
}

/** A projected service-account token from the emulated cluster issuer (EKS IRSA, AKS workload identity). */
export function mintKubernetesToken(runtime: Runtime, init: KubernetesTokenInit = {}): MintedToken {
  const { state, clock, keys } = runtime;
  const namespace = init.namespace ?? state.kubernetes.namespace;
  const serviceAccount = init.serviceAccount ?? state.kubernetes.serviceAccount;
  const now = Math.floor(clock.now() / SECONDS);
  const lifetime = init.lifetimeSeconds ?? state.kubernetes.tokenLifetimeSeconds;
  const audience = init.audience ?? state.kubernetes.issuer;
  const claims = {
    aud: Array.isArray(audience) ? audience : [audience],
    exp: now + lifetime,
    iat: now,
    nbf: now,
    iss: state.kubernetes.issuer,
    jti: randomUuid(),
    "kubernetes.io": {
      namespace,
      pod: { name: `${serviceAccount}-7d9f8c6b5-x2k4q`, uid: randomUuid() },
      serviceaccount: { name: serviceAccount, uid: randomUuid() },
    },
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    ...init.claims,
  };
  return {
    token: keys.kubernetes.signJwt(claims),
    issuedAt: now * SECONDS,
    expiresAt: (now + lifetime) * SECONDS,
  };
}

export interface EntraTokenInit {
  /** The managed identity (its name, client id or object id); default the system-assigned one, else the first. */
  identity?: string;
  /** The token audience: an App ID URI (v1 tokens) or app id. Default: the first application's App ID URI. */
  resource?: string;
  lifetimeSeconds?: number;
  /** 1 (default: `iss https://sts.windows.net/TENANT/`, `appid`) or 2 (`iss .../v2.0`, `azp`, `aud` = app id). */
  version?: 1 | 2;
  claims?: Record<string, unknown>;
}

/** Finds a managed identity by name, client id, object id or resource id (case-insensitive). */
export function findAzureIdentity(
  state: EmulatorState,
  selector: string | undefined,
): AzureIdentityState | undefined {
  const identities = Object.values(state.azure.identities);
  if (selector === undefined)
    return identities.find((identity) => identity.type === "system") ?? identities[0];
  const wanted = selector.toLowerCase();
  return identities.find(
    (identity) =>
      identity.name.toLowerCase() === wanted ||
      identity.clientId === wanted ||
      identity.objectId === wanted ||
      identity.resourceId?.toLowerCase() === wanted,
  );
}

/** An Entra access token for a managed identity, with the claims Entra puts in v1 (or v2) tokens. */
export function mintEntraToken(
  runtime: Runtime,
  identity: AzureIdentityState,
  init: Omit<EntraTokenInit, "identity"> = {},
): MintedToken {
  const { state, clock, keys } = runtime;
  const now = Math.floor(clock.now() / SECONDS);
  const lifetime = init.lifetimeSeconds ?? state.azure.tokenLifetimeSeconds;
  const resource =
    init.resource ?? Object.values(state.azure.applications)[0]?.appIdUri ?? "api://wifkit-demo";
  const version = init.version ?? 1;
  const common = {
    iat: now,
    nbf: now,
    exp: now + lifetime,
    idp: state.azure.issuer,
    idtyp: "app",
    oid: identity.objectId,
    sub: identity.objectId,
    tid: state.azure.tenantId,
    uti: randomToken(16),
    xms_mirid:
      identity.resourceId ??
      `/subscriptions/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/resourcegroups/wifkit-rg/providers/Microsoft.Compute/virtualMachines/wifkit-vm`,
  };
  const claims =
    version === 1
      ? {
          aud: resource,
          iss: state.azure.issuer,
          appid: identity.clientId,
          appidacr: "2",
          ver: "1.0",
          ...common,
        }
      : {
          aud: applicationFor(state, resource)?.appId ?? resource,
          iss: state.azure.issuerV2,
          azp: identity.clientId,
          azpacr: "2",
          ver: "2.0",
          ...common,
        };
  const token = keys.entra.signJwt({ ...claims, ...init.claims }, { x5t: keys.entra.kid });
  return { token, issuedAt: now * SECONDS, expiresAt: (now + lifetime) * SECONDS };
}

/** The application whose App ID URI or app id is `resource` (a trailing slash or `/.default` is ignored). */
export function applicationFor(state: EmulatorState, resource: string) {
  const wanted = resource
    .replace(/\/\.default$/, "")
    .replace(/\/$/, "")
    .toLowerCase();
  return Object.values(state.azure.applications).find(
    (app) => app.appIdUri.replace(/\/$/, "").toLowerCase() === wanted || app.appId === wanted,
  );
}
