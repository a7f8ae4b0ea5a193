/**
 * A live setup checked step by step, the way Google walks a credential through it: the subject token, the
 * STS exchange, introspection of the federated token (the real principal), the provider (read when the
 * caller may: issuer, audiences, mapping, and the condition evaluated on this very token), API enablement,
 * impersonation, and the project number. Each step says ok, fail (with the command that fixes it) or
 * skipped (and why).
 */
import { compileProviderRules } from "@wifkit/attribute-mapping";
import type { ExternalAccountConfig } from "@wifkit/config";
import { parseAudience, serviceAccountFromImpersonationUrl } from "@wifkit/config";
import { decodeJwt, type SubjectToken, type SubjectTokenSupplier } from "@wifkit/core";
import { type HttpTransport, httpRequest, type TlsClientOptions } from "@wifkit/http";
import { generateAccessToken, IAM_ERROR_CODES, parseImpersonationUrl } from "@wifkit/impersonation";
import {
  DEFAULT_SCOPES,
  DEFAULT_TOKEN_URL,
  exchangeToken,
  introspectToken,
  STS_ERROR_CODES,
} from "@wifkit/sts-client";
import { type AdminEndpoints, DEFAULT_ADMIN_ENDPOINTS } from "./apply.js";
import { GUIDE_APIS } from "./plan.js";

export type DoctorStepId =
  | "subject-token"
  | "sts-exchange"
  | "introspection"
  | "provider"
  | "apis"
  | "impersonation"
  | "project";

export type DoctorStatus = "ok" | "fail" | "skipped";

export interface DoctorStep {
  id: DoctorStepId;
  status: DoctorStatus;
  /** One line: what was checked and what was found. */
  summary: string;
  /** More lines: claims, the provider's settings, Google's answer. */
  details?: string[] | undefined;
  /** For a failure: the command (or change) that fixes it. */
  fix?: string | undefined;
}

export interface DoctorReport {
  /** True when no step failed. */
  ok: boolean;
  steps: DoctorStep[];
}

/** What AWS answers GetCallerIdentity for the signed request: the assertion Google's mapping reads. */
export interface AwsCallerIdentity {
  arn: string;
  account: string;
  userid: string;
}

export interface DoctorInit {
  /** A validated `external_account` configuration (from @wifkit/config's loader). */
  config: ExternalAccountConfig;
  /** Its subject token supplier (`subjectTokenSupplierFromConfig` of @wifkit/credentials). */
  supplier: SubjectTokenSupplier;
  /** AWS: asks AWS who the signed GetCallerIdentity subject token identifies, as Google STS does. */
  awsCallerIdentity?: ((subjectToken: string) => Promise<AwsCallerIdentity>) | undefined;
  /**
   * A token that may read the pool, provider, services and project (an administrator's, e.g. gcloud's
   * `CLOUDSDK_AUTH_ACCESS_TOKEN`). Without it the federated token is tried, when STS gives one.
   */
  adminToken?: string | undefined;
  /** Base URLs of the admin APIs. Default `DEFAULT_ADMIN_ENDPOINTS`. */
  endpoints?: Partial<AdminEndpoints> | undefined;
  /** Called as each step is decided, to print as it goes. */
  onStep?: ((step: DoctorStep) => void) | undefined;
  transport?: HttpTransport | undefined;
  /** Per request. Default 10 s. */
  timeoutMs?: number | undefined;
  /** Now, for the subject token's expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
}

export const DEFAULT_DOCTOR_TIMEOUT_MS = 10_000;

interface ProviderResource {
  name?: string;
  state?: string;
  disabled?: boolean;
  attributeMapping?: Record<string, string>;
  attributeCondition?: string;
  aws?: { accountId?: string };
  oidc?: { issuerUri?: string; allowedAudiences?: string[] };
}

/** What an admin API answered: the resource, or the status (0: no answer) and Google's message. */
type Unread = { status: number; message: string };
type Read = { status: "ok"; body: Record<string, unknown> } | Unread;

function errorText(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return `${e.code ? `[${e.code}] ` : ""}${e.message ?? String(error)}`;
}

function minutes(ms: number): string {
  const count = Math.round(Math.abs(ms) / 60_000);
  return `${count} min`;
}

/**
 * Runs every check of a live setup in order and returns the report; never throws for a failed check.
 * Later steps that need what an earlier one failed to get are skipped, saying so; the provider, the APIs
 * and the project are still read when `adminToken` allows, so a refused exchange is explained (a deleted
 * pool, a disabled provider, a condition that is false for this credential, a disabled API).
 *
 * @example
 * const { supplier } = await subjectTokenSupplierFromConfig(config);
 * const report = await runDoctor({ config, supplier, adminToken: process.env.CLOUDSDK_AUTH_ACCESS_TOKEN });
 * for (const step of report.steps) console.log(step.status, step.summary, step.fix ?? "");
 */
export async function runDoctor(init: DoctorInit): Promise<DoctorReport> {
  const { config } = init;
  const endpoints = { ...DEFAULT_ADMIN_ENDPOINTS, ...init.endpoints };
  const timeoutMs = init.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  const http = { timeoutMs, ...(init.transport ? { transport: init.transport } : {}) };
  const now = init.now ?? Date.now;
  const steps: DoctorStep[] = [];
  const record = (step: DoctorStep) => {
    steps.push(step);
    init.onStep?.(step);
  };
  const skip = (id: DoctorStepId, summary: string) => record({ id, status: "skipped", summary });

  const audience = parseAudience(config.audience);
  const ref = audience?.kind === "workload" ? audience : undefined;
  const serviceAccount = config.service_account_impersonation_url
    ? serviceAccountFromImpersonationUrl(config.service_account_impersonation_url)
    : undefined;

  // 1. The subject token, and what Google's mapping will read from it.
  let subject: (SubjectToken & { tls?: TlsClientOptions }) | undefined;
  let assertion: Record<string, unknown> | undefined;
  try {
    subject = await init.supplier({ signal: AbortSignal.timeout(timeoutMs * 2) });
    if (subject.type.endsWith(":aws4_request")) {
      if (init.awsCallerIdentity) {
        const identity = await init.awsCallerIdentity(subject.token);
        assertion = { ...identity };
        record({
          id: "subject-token",
          status: "ok",
          summary: `AWS signed GetCallerIdentity request; AWS says the caller is ${identity.arn}`,
          details: [`account ${identity.account}, userid ${identity.userid}`],
        });
      } else {
        record({ id: "subject-token", status: "ok", summary: "AWS signed GetCallerIdentity request" });
      }
    } else if (subject.type.endsWith(":jwt") || subject.type.endsWith(":id_token")) {
      const { claims } = decodeJwt(subject.token);
      assertion = claims;
      const exp = typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
      const expired = exp !== undefined && exp <= now();
      record({
        id: "subject-token",
        status: expired ? "fail" : "ok",
        summary: `JWT from ${String(claims.iss)} for ${JSON.stringify(claims.aud)}, sub ${String(claims.sub)}, ${
          exp === undefined
            ? "no expiry"
            : expired
              ? `expired ${minutes(now() - exp)} ago`
              : `expires in ${minutes(exp - now())}`
        }`,
        // The claims a mapping or condition may read (the times are in the summary).
        details: Object.entries(claims)
          .filter(([name]) => !["iss", "aud", "sub", "iat", "nbf", "exp"].includes(name))
          .map(([name, value]) => `${name}: ${JSON.stringify(value)}`),
        ...(expired ? { fix: "whatever writes the token must refresh it before it expires" } : {}),
      });
    } else {
      record({ id: "subject-token", status: "ok", summary: `${subject.type} subject token` });
    }
  } catch (error) {
    record({
      id: "subject-token",
      status: "fail",
      summary: "the subject token could not be had",
      details: [errorText(error)],
      fix: "run wif validate for the environment this configuration needs (variables, files, metadata service)",
    });
  }

  // 2. The exchange at STS.
  let federated: string | undefined;
  let stsError: { code?: string; upstreamError?: string; fix?: string } | undefined;
  if (!subject) {
    skip("sts-exchange", "no subject token to exchange");
  } else {
    try {
      const result = await exchangeToken({
        tokenUrl: config.token_url,
        audience: config.audience,
        subjectToken: subject.token,
        subjectTokenType: config.subject_token_type,
        scopes: DEFAULT_SCOPES,
        ...(subject.tls ? { tls: subject.tls } : {}),
        ...http,
      });
      federated = result.accessToken;
      record({
        id: "sts-exchange",
        status: "ok",
        summary: `STS exchanged it at ${new URL(config.token_url ?? DEFAULT_TOKEN_URL).origin} for a federated token (${minutes(result.expiresIn * 1000)})`,
      });
    } catch (error) {
      stsError = error as typeof stsError;
      record({
        id: "sts-exchange",
        status: "fail",
        summary: "STS refused the exchange",
        details: [errorText(error)],
        fix:
          stsError?.fix ??
          (stsError?.upstreamError === "invalid_target" ||
          stsError?.code === STS_ERROR_CODES.rejectedByCondition
            ? "see the provider step"
            : "see STS's answer above"),
      });
    }
  }

  // 3. Introspection: who Google says the federated token is.
  let principal: string | undefined;
  // gcloud leaves token_info_url out of some configurations; introspection lives beside the token endpoint.
  const tokenInfoUrl =
    config.token_info_url ??
    (config.token_url ?? DEFAULT_TOKEN_URL).replace(/\/v1\/token$/, "/v1/introspect");
  if (!federated) {
    skip("introspection", "no federated token to introspect");
  } else {
    try {
      const info = await introspectToken({ tokenInfoUrl, token: federated, ...http });
      principal = info.username;
      record({
        id: "introspection",
        status: info.active ? "ok" : "fail",
        summary: info.active
          ? `the federated principal is ${principal ?? "(not named)"}`
          : "STS says the token it just issued is not active",
        ...(info.active ? {} : { fix: "check token_info_url: it must be the STS that issued the token" }),
      });
    } catch (error) {
      record({
        id: "introspection",
        status: "fail",
        summary: "introspection failed",
        details: [errorText(error)],
      });
    }
  }

  // Reads of the admin APIs, with the administrator's token or the federated one.
  const readToken = init.adminToken ?? federated;
  /** A GET of an admin API; never throws (a network failure is status 0). */
  const read = async (url: string): Promise<Read> => {
    if (!readToken) return { status: 401, message: "no token to read it with" };
    const response = await httpRequest({
      url,
      headers: { authorization: `Bearer ${readToken}`, accept: "application/json" },
      operation: "Reading the setup",
      ...http,
    }).catch((error: unknown) => error as Error);
    if (response instanceof Error) return { status: 0, message: errorText(response) };
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;
    } catch {
      // The status says enough.
    }
    if (response.status === 200) return { status: "ok", body };
    const message = (body.error as { message?: string } | undefined)?.message ?? `HTTP ${response.status}`;
    return { status: response.status, message };
  };
  const mayNotRead = (what: string, answer: Unread) =>
    `${what} could not be read (${answer.message}); with an administrator's token (CLOUDSDK_AUTH_ACCESS_TOKEN=$(gcloud auth print-access-token)) it is checked too`;

  // 4. The pool and the provider, and the provider's rules applied to this credential.
  if (!ref) {
    skip("provider", "the audience is not a workload identity pool provider");
  } else {
    const poolUrl = `${endpoints.iam}/v1/projects/${ref.projectNumber}/locations/${ref.location}/workloadIdentityPools/${ref.poolId}`;
    const pool = await read(poolUrl);
    const provider = pool.status === "ok" ? await read(`${poolUrl}/providers/${ref.providerId}`) : undefined;
    record(
      await providerStep({
        ref,
        pool,
        provider,
        listProviders: () => read(`${poolUrl}/providers`),
        assertion,
        tokenAudience: assertion?.aud,
        mayNotRead,
      }),
    );
  }

  // 6 before 5: enablement is told in part by what IAM Credentials answered.
  const impersonation = await impersonationCheck();
  // 5. API enablement: read when the caller may, else told by STS's and IAM Credentials' answers.
  record(await apisStep());
  record(impersonation.step);

  // 7. The project number of the audience.
  if (!ref) {
    skip("project", "the audience names no project");
  } else if (!/^[0-9]+$/.test(ref.projectNumber)) {
    record({
      id: "project",
      status: "fail",
      summary: `the audience names project ${ref.projectNumber}, but audiences and principals take the project number`,
      fix: `gcloud projects describe ${ref.projectNumber} --format="value(projectNumber)"`,
    });
  } else {
    const project = await read(`${endpoints.resourceManager}/v1/projects/${ref.projectNumber}`);
    if (project.status === "ok") {
      record({
        id: "project",
        status: "ok",
        summary: `project number ${ref.projectNumber} is project ${String(project.body.projectId)}`,
      });
    } else if (project.status === 404) {
      record({
        id: "project",
        status: "fail",
        summary: `no project has the number ${ref.projectNumber}`,
        fix: 'write the credential configuration again with the pool\'s project number: gcloud projects describe PROJECT_ID --format="value(projectNumber)"',
      });
    } else if (stsError === undefined && subject) {
      record({
        id: "project",
        status: "ok",
        summary: `project number ${ref.projectNumber}: STS found the pool in it`,
      });
    } else {
      skip("project", mayNotRead(`project ${ref.projectNumber}`, project));
    }
  }

  return { ok: steps.every((step) => step.status !== "fail"), steps };

  async function impersonationCheck(): Promise<{
    step: DoctorStep;
    error?: { code?: string; fix?: string };
  }> {
    const id = "impersonation" as const;
    if (!serviceAccount) {
      return {
        step: {
          id,
          status: "skipped",
          summary: "the configuration uses direct resource access (no service account)",
        },
      };
    }
    if (!federated) {
      return {
        step: { id, status: "skipped", summary: `no federated token to impersonate ${serviceAccount} with` },
      };
    }
    try {
      await generateAccessToken({
        serviceAccount,
        bearer: federated,
        scopes: DEFAULT_SCOPES,
        baseUrl: parseImpersonationUrl(config.service_account_impersonation_url as string).baseUrl,
        // A refusal's fix then names the real principal (from introspection), else the audience's pool.
        audience: config.audience,
        ...(principal ? { principal } : {}),
        ...http,
      });
      return {
        step: {
          id,
          status: "ok",
          summary: `${principal ?? "the federated principal"} may impersonate ${serviceAccount}`,
        },
      };
    } catch (error) {
      const refusal = error as { code?: string; fix?: string };
      return {
        step: {
          id,
          status: "fail",
          summary: `impersonating ${serviceAccount} was refused`,
          details: [errorText(error)],
          fix: refusal.fix,
        },
        error: refusal,
      };
    }
  }

  async function apisStep(): Promise<DoctorStep> {
    const disabled = new Set<string>();
    const enabled = new Set<string>();
    if (stsError?.code === STS_ERROR_CODES.serviceDisabled) disabled.add("sts.googleapis.com");
    else if (federated) enabled.add("sts.googleapis.com");
    if (impersonation.error?.code === IAM_ERROR_CODES.serviceDisabled)
      disabled.add("iamcredentials.googleapis.com");
    else if (impersonation.step.status === "ok") enabled.add("iamcredentials.googleapis.com");
    let unreadable: Unread | undefined;
    if (ref) {
      for (const service of GUIDE_APIS) {
        if (enabled.has(service) || disabled.has(service)) continue;
        const answer = await read(
          `${endpoints.serviceUsage}/v1/projects/${ref.projectNumber}/services/${service}`,
        );
        if (answer.status !== "ok") {
          unreadable ??= answer;
          continue;
        }
        (answer.body.state === "ENABLED" ? enabled : disabled).add(service);
      }
    }
    const project = ref?.projectNumber ?? "PROJECT_NUMBER";
    if (disabled.size > 0) {
      return {
        id: "apis",
        status: "fail",
        summary: `not enabled in project ${project}: ${[...disabled].join(", ")}`,
        fix: `gcloud services enable ${[...disabled].join(" ")} --project=${project}`,
      };
    }
    if (enabled.size === 0)
      return {
        id: "apis",
        status: "skipped",
        summary: mayNotRead("the project's services", unreadable ?? { status: 0, message: "no answer" }),
      };
    return {
      id: "apis",
      status: "ok",
      summary: `enabled in project ${project}: ${[...enabled].join(", ")}`,
      ...(unreadable ? { details: [mayNotRead("the other services", unreadable)] } : {}),
    };
  }
}

interface ProviderCheck {
  ref: { projectNumber: string; location: string; poolId: string; providerId: string };
  pool: Read;
  provider: Read | undefined;
  listProviders: () => Promise<Read>;
  assertion: Record<string, unknown> | undefined;
  tokenAudience: unknown;
  mayNotRead: (what: string, answer: Unread) => string;
}

/** The pool's and the provider's state, then the provider's settings against this credential. */
async function providerStep(check: ProviderCheck): Promise<DoctorStep> {
  const { ref, pool } = check;
  // gcloud refuses a project number in --project, but takes full resource names, which have it.
  const poolName = `projects/${ref.projectNumber}/locations/${ref.location}/workloadIdentityPools/${ref.poolId}`;
  const providerName = `${poolName}/providers/${ref.providerId}`;
  const id = "provider" as const;
  if (pool.status !== "ok") {
    if (pool.status === 404) {
      return {
        id,
        status: "fail",
        summary: `pool ${ref.poolId} does not exist in project ${ref.projectNumber}`,
        fix: `gcloud iam workload-identity-pools create ${poolName} (or correct the audience)`,
      };
    }
    return { id, status: "skipped", summary: check.mayNotRead(`pool ${ref.poolId}`, pool) };
  }
  const poolBody = pool.body as ProviderResource;
  if (poolBody.state === "DELETED") {
    return {
      id,
      status: "fail",
      summary: `pool ${ref.poolId} was deleted: STS refuses every provider in it`,
      fix: `gcloud iam workload-identity-pools undelete ${poolName}`,
    };
  }
  if (poolBody.disabled) {
    return {
      id,
      status: "fail",
      summary: `pool ${ref.poolId} is disabled: STS refuses every provider in it`,
      fix: `gcloud iam workload-identity-pools update ${poolName} --no-disabled`,
    };
  }
  const provider = check.provider;
  if (provider?.status !== "ok") {
    if (provider?.status === 404) {
      const list = await check.listProviders().catch(() => undefined);
      const names =
        list?.status === "ok"
          ? ((list.body.workloadIdentityPoolProviders as ProviderResource[] | undefined) ?? []).map((p) =>
              String(p.name).split("/").pop(),
            )
          : [];
      return {
        id,
        status: "fail",
        summary: `pool ${ref.poolId} has no provider ${ref.providerId}${names.length > 0 ? ` (it has ${names.join(", ")})` : ""}: the configuration's audience is wrong`,
        fix:
          names.length > 0
            ? `write the configuration again for the right provider: wif create-cred-config projects/${ref.projectNumber}/locations/${ref.location}/workloadIdentityPools/${ref.poolId}/providers/${names[0]} ...`
            : `gcloud iam workload-identity-pools providers list --workload-identity-pool=${poolName}`,
      };
    }
    return {
      id,
      status: "skipped",
      summary: check.mayNotRead(`provider ${ref.providerId}`, provider ?? { status: 0, message: "-" }),
    };
  }
  const body = provider.body as ProviderResource;
  const kind = body.aws ? "aws" : "oidc";
  const update = `gcloud iam workload-identity-pools providers update-${kind} ${providerName}`;
  if (body.state === "DELETED") {
    return {
      id,
      status: "fail",
      summary: `provider ${ref.providerId} was deleted`,
      fix: `gcloud iam workload-identity-pools providers undelete ${providerName}`,
    };
  }
  if (body.disabled) {
    return {
      id,
      status: "fail",
      summary: `provider ${ref.providerId} is disabled`,
      fix: `${update} --no-disabled`,
    };
  }
  const details = [
    kind === "aws"
      ? `AWS account ${body.aws?.accountId}`
      : `issuer ${body.oidc?.issuerUri}, allowed audiences ${JSON.stringify(body.oidc?.allowedAudiences ?? [])}`,
    `mapping ${Object.entries(body.attributeMapping ?? {})
      .map(([key, value]) => `${key}=${value}`)
      .join(",")}`,
    `condition ${body.attributeCondition ?? "(none)"}`,
  ];
  const assertion = check.assertion;
  if (!assertion) {
    return {
      id,
      status: "ok",
      summary: `provider ${ref.providerId} is active (no assertion to apply its rules to)`,
      details,
    };
  }
  // The provider's trust, against this credential.
  if (kind === "oidc") {
    const issuer = body.oidc?.issuerUri?.replace(/\/+$/, "");
    if (issuer !== String(assertion.iss).replace(/\/+$/, "")) {
      return {
        id,
        status: "fail",
        summary: `the token's issuer ${String(assertion.iss)} is not the provider's (${issuer})`,
        details,
        fix: `${update} --issuer-uri=${String(assertion.iss).replace(/\/+$/, "")}`,
      };
    }
    const allowed = body.oidc?.allowedAudiences?.length
      ? body.oidc.allowedAudiences
      : [
          `https://iam.googleapis.com/projects/${ref.projectNumber}/locations/${ref.location}/workloadIdentityPools/${ref.poolId}/providers/${ref.providerId}`,
        ];
    const audiences = Array.isArray(check.tokenAudience)
      ? check.tokenAudience.map(String)
      : [String(check.tokenAudience)];
    if (!audiences.some((aud) => allowed.includes(aud))) {
      return {
        id,
        status: "fail",
        summary: `the token's audience ${audiences.join(", ")} is not among the provider's allowed audiences ${JSON.stringify(allowed)}`,
        details,
        fix: `write the configuration again with --app-id-uri=${allowed[0]}, or allow the token's audience: ${update} --allowed-audiences=${[...allowed, audiences[0]].join(",")}`,
      };
    }
  } else if (body.aws?.accountId !== undefined && assertion.account !== body.aws.accountId) {
    return {
      id,
      status: "fail",
      summary: `the caller's AWS account ${String(assertion.account)} is not the provider's (${body.aws.accountId})`,
      details,
      fix: `gcloud iam workload-identity-pools providers create-aws ... --account-id=${String(assertion.account)} (a provider trusts one account)`,
    };
  }
  try {
    const decision = compileProviderRules({
      providerType: kind,
      mapping: body.attributeMapping,
      condition: body.attributeCondition,
    }).decide(assertion);
    const mapped = [
      `google.subject=${decision.mapped.subject}`,
      ...Object.entries(decision.mapped.attributes).map(
        ([name, value]) => `attribute.${name}=${JSON.stringify(value)}`,
      ),
    ];
    if (!decision.accepted) {
      return {
        id,
        status: "fail",
        summary: `the provider's condition is false for this credential: ${body.attributeCondition}`,
        details: [...details, `mapped: ${mapped.join(", ")}`],
        fix: `run the workload as an identity the condition admits, or change the condition: ${update} --attribute-condition=CONDITION`,
      };
    }
    return {
      id,
      status: "ok",
      summary: `provider ${ref.providerId} accepts this credential as google.subject ${decision.mapped.subject}`,
      details: [...details, `mapped: ${mapped.join(", ")}`],
    };
  } catch (error) {
    return {
      id,
      status: "fail",
      summary: "the provider's mapping or condition fails on this credential",
      details: [...details, errorText(error)],
      fix: `${update} --attribute-mapping=... (see the error above)`,
    };
  }
}
