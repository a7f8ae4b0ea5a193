import type { Runtime } from "../runtime.js";
import { json, type ServiceDefinition } from "../server.js";
import { googleCaller, isOwnProject } from "./google-auth.js";
import { googleApiError, unauthenticated } from "./google-errors.js";

/** When the emulated project was created, as Resource Manager reports it. */
const PROJECT_CREATE_TIME = "2024-01-01T00:00:00.000Z";

/**
 * Cloud Resource Manager (`cloudresourcemanager.googleapis.com`): the one emulated project, by id or
 * number, so `gcloud projects describe PROJECT --format='value(projectNumber)'` answers the number every
 * `principal://` member needs. v1 (`gcloud projects describe|list`) and v3 shapes.
 */
export function resourceManagerService(runtime: Runtime): ServiceDefinition {
  const v1Project = () => ({
    projectNumber: runtime.state.projectNumber,
    projectId: runtime.state.projectId,
    lifecycleState: "ACTIVE",
    name: runtime.state.projectId,
    createTime: PROJECT_CREATE_TIME,
  });
  const notFound = (project: string) =>
    googleApiError(403, `The caller does not have permission (or project '${project}' does not exist).`, {
      status: "PERMISSION_DENIED",
    });
  return {
    name: "resourceManager",
    prefix: "crm",
    routes: [
      {
        name: "crm.projects.get",
        methods: ["GET"],
        path: /^\/v(?<version>[13])\/projects\/(?<project>[^/:]+)$/,
        handle: (request, params) => {
          if (!googleCaller(runtime, request)) return unauthenticated();
          const project = params.project ?? "";
          if (!isOwnProject(runtime, project)) return notFound(project);
          if (params.version === "1") return json(200, v1Project());
          return json(200, {
            name: `projects/${runtime.state.projectNumber}`,
            projectId: runtime.state.projectId,
            state: "ACTIVE",
            displayName: runtime.state.projectId,
            createTime: PROJECT_CREATE_TIME,
            etag: `W/"${runtime.state.projectNumber}"`,
          });
        },
      },
      {
        name: "crm.projects.list",
        methods: ["GET"],
        path: /^\/v1\/projects$/,
        handle: (request) => {
          if (!googleCaller(runtime, request)) return unauthenticated();
          return json(200, { projects: [v1Project()] });
        },
      },
    ],
    notFound: (request) =>
      googleApiError(404, `The requested URL ${request.path} was not found on this server.`),
    faultResponse: (status) => googleApiError(status),
  };
}
