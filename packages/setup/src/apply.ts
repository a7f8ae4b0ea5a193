/**
 * A plan carried out through the REST calls its gcloud commands make (Service Usage, Resource Manager,
 * IAM, Cloud Storage JSON API), for tools without gcloud: `wif demo` sets an empty emulator up this way.
 */

import { type Sleep, systemSleep, WifError } from "@wifkit/core";
import { type HttpTransport, httpRequest, readGoogleError } from "@wifkit/http";
import { SETUP_ERROR_CODES } from "./errors.js";
import { gcloudArgs } from "./gcloud.js";
import {
  memberString,
  PROJECT_NUMBER_REF,
  type SetupAction,
  type SetupPlan,
  type SetupStep,
} from "./plan.js";

/** Base URLs of the admin APIs (gcloud's `CLOUDSDK_API_ENDPOINT_OVERRIDES_*`). */
export interface AdminEndpoints {
  iam: string;
  serviceUsage: string;
  resourceManager: string;
  storage: string;
}

export const DEFAULT_ADMIN_ENDPOINTS: Readonly<AdminEndpoints> = Object.freeze({
  iam: "https://iam.googleapis.com",
  serviceUsage: "https://serviceusage.googleapis.com",
  resourceManager: "https://cloudresourcemanager.googleapis.com",
  storage: "https://storage.googleapis.com",
});

/** How often, and how long apart, an unfinished long-running operation is polled. */
export const DEFAULT_OPERATION_POLLS = 30;
export const DEFAULT_OPERATION_POLL_INTERVAL_MS = 1_000;

export interface ApplySetupPlanOptions {
  /** An administrator's access token (cloud-platform scope). */
  accessToken: string;
  /** Default `DEFAULT_ADMIN_ENDPOINTS`. */
  endpoints?: Partial<AdminEndpoints> | undefined;
  /** Called before each step, e.g. to print its gcloud command. */
  onStep?: ((step: SetupStep, index: number) => void) | undefined;
  transport?: HttpTransport | undefined;
  /** Per request. Default @wifkit/http's. */
  timeoutMs?: number | undefined;
  /** Waits between polls of an unfinished operation. Default `systemSleep`. */
  sleep?: Sleep | undefined;
  signal?: AbortSignal | undefined;
}

interface Call {
  method: "GET" | "POST" | "PUT";
  url: string;
  body?: unknown;
}

/** The error of a step: its gcloud command, what the API answered (Google's message, never the token). */
function stepFailed(step: SetupStep, status: number, text: string | undefined): WifError {
  return new WifError(
    `${step.title} failed (${gcloudArgs(step.action).slice(0, 5).join(" ")} ...): HTTP ${status}${text ? ` ${text}` : ""}.`,
    { code: SETUP_ERROR_CODES.stepFailed, status, upstreamDescription: text },
  );
}

/**
 * Carries out `plan` with the administrator's `accessToken`, step by step, as its gcloud commands would:
 * batch-enables the APIs, reads the project number (and puts it into the members), creates the pool, the
 * provider and the service account (an existing one, 409, is taken as done), and adds each IAM binding by
 * reading the policy and writing it back with its etag. Long-running operations are polled until done.
 * Returns the project number. Throws `ERR_WIF_SETUP_STEP_FAILED` naming the step that failed.
 *
 * @example
 * await applySetupPlan(plan, { accessToken, endpoints: { iam: "http://127.0.0.1:8600", ... } });
 */
export async function applySetupPlan(
  plan: SetupPlan,
  options: ApplySetupPlanOptions,
): Promise<{ projectNumber: string }> {
  const endpoints = { ...DEFAULT_ADMIN_ENDPOINTS, ...options.endpoints };
  const sleep = options.sleep ?? systemSleep;
  let projectNumber = plan.projectNumber === PROJECT_NUMBER_REF ? undefined : plan.projectNumber;

  const send = async (step: SetupStep, call: Call, accept: readonly number[] = []) => {
    const response = await httpRequest({
      url: call.url,
      method: call.method,
      headers: {
        authorization: `Bearer ${options.accessToken}`,
        accept: "application/json",
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      operation: step.title,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (accept.includes(response.status)) return undefined;
    if (response.status < 200 || response.status >= 300) {
      throw stepFailed(step, response.status, readGoogleError(response).message);
    }
    return JSON.parse(response.body.toString("utf8") || "{}") as Record<string, unknown>;
  };

  /** Polls a long-running operation at `base` until it is done; its error is the step's. */
  const finish = async (step: SetupStep, base: string, operation: Record<string, unknown> | undefined) => {
    let current = operation;
    for (let poll = 0; current && current.done !== true && typeof current.name === "string"; poll++) {
      if (poll >= DEFAULT_OPERATION_POLLS)
        throw stepFailed(step, 504, "the operation did not finish in time");
      await sleep(DEFAULT_OPERATION_POLL_INTERVAL_MS, options.signal);
      current = await send(step, { method: "GET", url: `${base}/v1/${current.name}` });
    }
    const error = current?.error as { message?: string } | undefined;
    if (error) throw stepFailed(step, 200, error.message);
  };

  /** add-iam-policy-binding: read the policy, add the member to the role's binding, write it back. */
  const addBinding = async (
    step: SetupStep,
    read: Call,
    write: (policy: unknown) => Call,
    role: string,
    member: string,
  ) => {
    const policy = ((await send(step, read)) ?? {}) as { bindings?: { role: string; members: string[] }[] };
    const bindings = policy.bindings ?? [];
    const binding = bindings.find((candidate) => candidate.role === role && !("condition" in candidate));
    if (binding?.members.includes(member)) return;
    if (binding) binding.members.push(member);
    else bindings.push({ role, members: [member] });
    await send(step, write({ ...policy, bindings }));
  };

  const run = async (step: SetupStep, action: SetupAction) => {
    const member = (m: Parameters<typeof memberString>[0]) => memberString(m, projectNumber);
    switch (action.kind) {
      case "enableServices": {
        const url = `${endpoints.serviceUsage}/v1/projects/${action.project}/services:batchEnable`;
        return finish(
          step,
          endpoints.serviceUsage,
          await send(step, { method: "POST", url, body: { serviceIds: action.services } }),
        );
      }
      case "readProjectNumber": {
        const project = await send(step, {
          method: "GET",
          url: `${endpoints.resourceManager}/v1/projects/${action.project}`,
        });
        projectNumber = String(project?.projectNumber ?? "");
        if (!/^[0-9]+$/.test(projectNumber)) throw stepFailed(step, 200, "the answer has no projectNumber");
        return;
      }
      case "createPool": {
        const url = `${endpoints.iam}/v1/projects/${action.project}/locations/global/workloadIdentityPools?workloadIdentityPoolId=${action.poolId}`;
        return finish(step, endpoints.iam, await send(step, { method: "POST", url, body: {} }, [409]));
      }
      case "createProvider": {
        const url = `${endpoints.iam}/v1/projects/${action.project}/locations/global/workloadIdentityPools/${action.poolId}/providers?workloadIdentityPoolProviderId=${action.providerId}`;
        const body = {
          attributeMapping: action.attributeMapping,
          ...(action.attributeCondition ? { attributeCondition: action.attributeCondition } : {}),
          ...(action.aws ? { aws: action.aws } : { oidc: action.oidc }),
        };
        return finish(step, endpoints.iam, await send(step, { method: "POST", url, body }, [409]));
      }
      case "createServiceAccount": {
        const url = `${endpoints.iam}/v1/projects/${action.project}/serviceAccounts`;
        await send(
          step,
          { method: "POST", url, body: { accountId: action.accountId, serviceAccount: {} } },
          [409],
        );
        return;
      }
      case "grantOnServiceAccount": {
        const base = `${endpoints.iam}/v1/projects/-/serviceAccounts/${action.serviceAccount}`;
        return addBinding(
          step,
          { method: "POST", url: `${base}:getIamPolicy`, body: {} },
          (policy) => ({ method: "POST", url: `${base}:setIamPolicy`, body: { policy } }),
          action.role,
          member(action.member),
        );
      }
      case "grantOnBucket": {
        const url = `${endpoints.storage}/storage/v1/b/${action.bucket}/iam`;
        return addBinding(
          step,
          { method: "GET", url },
          (policy) => ({ method: "PUT", url, body: policy }),
          action.role,
          member(action.member),
        );
      }
    }
  };

  for (const [index, step] of plan.steps.entries()) {
    options.onStep?.(step, index);
    await run(step, step.action);
  }
  return { projectNumber: projectNumber ?? "" };
}
