import type { Runtime } from "../runtime.js";
import { json, type ServiceDefinition, type ServiceRequest, type ServiceResponse } from "../server.js";
import { bearerToken, googleApiError } from "./google-errors.js";
import { CLOUD_PLATFORM_SCOPE } from "./google-sts.js";
import { callerMatcher, holdsRole } from "./iam-credentials.js";

/** Roles that grant storage.objects.get. */
const READ_ROLES = [
  "roles/storage.objectViewer",
  "roles/storage.objectUser",
  "roles/storage.objectAdmin",
  "roles/storage.admin",
  "roles/storage.legacyObjectReader",
];
const STORAGE_SCOPES = new Set([
  CLOUD_PLATFORM_SCOPE,
  "https://www.googleapis.com/auth/cloud-platform.read-only",
  "https://www.googleapis.com/auth/devstorage.read_only",
  "https://www.googleapis.com/auth/devstorage.read_write",
  "https://www.googleapis.com/auth/devstorage.full_control",
]);

/**
 * A guarded Cloud Storage object, for direct resource access: `GET /storage/v1/b/BUCKET/o/OBJECT` (metadata,
 * or the content with `alt=media`), also under `/download/`. Only a caller holding a read role on the bucket
 * gets it: a federated principal by `principal://` / `principalSet://` member, or `serviceAccount:EMAIL`.
 */
export function storageService(runtime: Runtime): ServiceDefinition {
  return {
    name: "storage",
    prefix: "storage",
    routes: [
      {
        name: "storage.get",
        methods: ["GET"],
        path: /^(?:\/download)?\/storage\/v1\/b\/(?<bucket>[^/]+)\/o\/(?<object>.+)$/,
        handle: (request, params) => getObject(runtime, request, params.bucket ?? "", params.object ?? ""),
      },
    ],
    notFound: () => googleApiError(404, "Not Found"),
    faultResponse: (status) => googleApiError(status),
  };
}

function storageError(
  code: number,
  message: string,
  reason: string,
  headers?: Record<string, string>,
): ServiceResponse {
  return json(code, { error: { code, message, errors: [{ message, domain: "global", reason }] } }, headers);
}

function getObject(
  runtime: Runtime,
  request: ServiceRequest,
  bucketName: string,
  objectName: string,
): ServiceResponse {
  const token = bearerToken(request.header("authorization"));
  const caller = token === undefined ? undefined : runtime.googleTokens.lookup(token);
  if (!caller) {
    return token === undefined
      ? storageError(
          401,
          `Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).`,
          "required",
          { "www-authenticate": 'Bearer realm="https://accounts.google.com/"' },
        )
      : storageError(401, "Invalid Credentials", "authError", {
          "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
        });
  }
  if (!caller.scopes.some((scope) => STORAGE_SCOPES.has(scope))) {
    return storageError(403, "Provided scope(s) are not authorized", "forbidden");
  }
  const bucket = runtime.state.storage.buckets[bucketName];
  const callerName =
    caller.kind === "serviceAccount"
      ? caller.email
      : `principal://iam.googleapis.com/projects/${caller.identity.projectNumber}/locations/global/workloadIdentityPools/${caller.identity.poolId}/subject/${caller.identity.subject}`;
  if (!bucket || !holdsRole(bucket.bindings, READ_ROLES, callerMatcher(caller))) {
    return storageError(
      403,
      `${callerName} does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).`,
      "forbidden",
    );
  }
  const object = bucket.objects[objectName];
  if (!object) return storageError(404, `No such object: ${bucketName}/${objectName}`, "notFound");
  if (request.url.searchParams.get("alt") === "media") {
    return { status: 200, headers: { "content-type": object.contentType }, body: object.content };
  }
  const size = Buffer.byteLength(object.content);
  return json(200, {
    kind: "storage#object",
    id: `${bucketName}/${objectName}/1`,
    selfLink: `${runtime.urls.storage}/storage/v1/b/${bucketName}/o/${encodeURIComponent(objectName)}`,
    mediaLink: `${runtime.urls.storage}/download/storage/v1/b/${bucketName}/o/${encodeURIComponent(objectName)}?generation=1&alt=media`,
    name: objectName,
    bucket: bucketName,
    generation: "1",
    metageneration: "1",
    contentType: object.contentType,
    storageClass: "STANDARD",
    size: String(size),
  });
}
