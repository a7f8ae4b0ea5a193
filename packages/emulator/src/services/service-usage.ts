import type { Runtime } from "../runtime.js";
import { json, jsonObjectBody, type ServiceDefinition, type ServiceResponse } from "../server.js";
import { randomUuid } from "../signing.js";
import { adminRoute } from "./admin-api.js";
import { googleCaller } from "./google-auth.js";
import { errorInfo, googleApiError, serviceDisabledParts, unauthenticated } from "./google-errors.js";
import { Operations } from "./operations.js";

/**
 * The APIs the emulator knows by name, with the titles Google's error messages use. The first six are the
 * ones it serves or the guide enables; the others can be enabled and disabled so scripts that enable more
 * than the guide does still run.
 */
export const SERVICE_TITLES: Readonly<Record<string, string>> = {
  "iam.googleapis.com": "Identity and Access Management (IAM) API",
  "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
  "iamcredentials.googleapis.com": "IAM Service Account Credentials API",
  "sts.googleapis.com": "Security Token Service API",
  "serviceusage.googleapis.com": "Service Usage API",
  "storage.googleapis.com": "Cloud Storage API",
  "storage-api.googleapis.com": "Google Cloud Storage JSON API",
  "compute.googleapis.com": "Compute Engine API",
  "run.googleapis.com": "Cloud Run Admin API",
  "pubsub.googleapis.com": "Cloud Pub/Sub API",
  "secretmanager.googleapis.com": "Secret Manager API",
  "bigquery.googleapis.com": "BigQuery API",
  "logging.googleapis.com": "Cloud Logging API",
  "artifactregistry.googleapis.com": "Artifact Registry API",
};

/**
 * The 403 SERVICE_DISABLED answer when `service` is not enabled in the project, else undefined. STS, IAM
 * Credentials and Storage ask before doing anything else.
 */
export function serviceDisabled(runtime: Runtime, service: string): ServiceResponse | undefined {
  if (runtime.state.services[service] === true) return undefined;
  const { message, details } = serviceDisabledParts(
    service,
    SERVICE_TITLES[service] ?? service,
    runtime.state.projectNumber,
  );
  return googleApiError(403, message, { details });
}

/**
 * Service Usage (`serviceusage.googleapis.com/v1`): `gcloud services enable|disable|list`. Changes go to
 * the emulator's one store, so STS, IAM Credentials and Storage see them at once.
 */
export function serviceUsageService(runtime: Runtime): ServiceDefinition {
  const operations = new Operations();
  const services = "^/v1/projects/(?<project>[^/]+)/services";
  const service = `${services}/(?<service>[^/:]+)`;

  const setEnabled = (names: string[], enabled: boolean): ServiceResponse | undefined => {
    const unknown = names.filter((candidate) => SERVICE_TITLES[candidate] === undefined);
    if (unknown.length > 0) {
      return googleApiError(403, `Not found or permission denied for service(s): ${unknown.join(", ")}.`, {
        details: [
          errorInfo("SERVICE_CONFIG_NOT_FOUND_OR_PERMISSION_DENIED", "serviceusage.googleapis.com", {
            services: unknown.join(","),
          }),
        ],
      });
    }
    runtime.store.update((config) => {
      config.services = { ...config.services };
      for (const service of names) config.services[service] = enabled;
    });
    return undefined;
  };

  const serviceResource = (service: string) => ({
    name: `projects/${runtime.state.projectNumber}/services/${service}`,
    config: { name: service, title: SERVICE_TITLES[service] ?? service },
    state: runtime.state.services[service] === true ? "ENABLED" : "DISABLED",
    parent: `projects/${runtime.state.projectNumber}`,
  });
  const finished = (typeName: string, response: Record<string, unknown>) =>
    json(
      200,
      operations.finish({
        id: `acat.p2-${runtime.state.projectNumber}-${randomUuid()}`,
        response: { "@type": `type.googleapis.com/google.api.serviceusage.v1.${typeName}`, ...response },
      }),
    );

  return {
    name: "serviceUsage",
    prefix: "serviceusage",
    routes: [
      adminRoute(runtime, "serviceusage.batchEnable", "POST", `${services}:batchEnable`, (request) => {
        const body = jsonObjectBody(request);
        const ids = body?.serviceIds;
        if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== "string")) {
          return googleApiError(400, 'Invalid value at "service_ids": a list of service names is required.');
        }
        const refused = setEnabled(ids as string[], true);
        if (refused) return refused;
        return finished("BatchEnableServicesResponse", {
          services: (ids as string[]).map(serviceResource),
        });
      }),
      ...(["enable", "disable"] as const).map((verb) =>
        adminRoute(runtime, `serviceusage.${verb}`, "POST", `${service}:${verb}`, (_request, params) => {
          const name = params.service ?? "";
          const type = verb === "enable" ? "EnableServiceResponse" : "DisableServiceResponse";
          return setEnabled([name], verb === "enable") ?? finished(type, { service: serviceResource(name) });
        }),
      ),
      adminRoute(runtime, "serviceusage.get", "GET", service, (_request, params) =>
        json(200, serviceResource(params.service ?? "")),
      ),
      adminRoute(runtime, "serviceusage.list", "GET", services, (request) => {
        const filter = request.url.searchParams.get("filter")?.replace(/\s+/g, "") ?? "";
        const wanted = /^state:(ENABLED|DISABLED)$/i.exec(filter)?.[1]?.toUpperCase();
        const listed = Object.keys(SERVICE_TITLES)
          .map(serviceResource)
          .filter((candidate) => wanted === undefined || candidate.state === wanted);
        return json(200, { services: listed });
      }),
      {
        name: "serviceusage.operations.get",
        methods: ["GET"],
        path: /^\/v1\/(?<operation>operations\/[^/]+)$/,
        handle: (request, params) => {
          if (!googleCaller(runtime, request)) return unauthenticated();
          const operation = operations.get(params.operation ?? "");
          return operation ? json(200, operation) : googleApiError(404);
        },
      },
    ],
    notFound: (request) =>
      googleApiError(404, `The requested URL ${request.path} was not found on this server.`),
    faultResponse: (status) => googleApiError(status),
  };
}
