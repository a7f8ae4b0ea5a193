import type { BucketState } from "../config.js";
import type { Runtime } from "../runtime.js";
import {
  json,
  jsonObjectBody,
  type ServiceDefinition,
  type ServiceRequest,
  type ServiceResponse,
} from "../server.js";
import type { GoogleTokenRecord } from "../stores.js";
import { applyChange } from "./admin-api.js";
import { bearerToken, callerMatcher, callerName, holdsRole } from "./google-auth.js";
import { googleApiError, serviceDisabledParts } from "./google-errors.js";
import { CLOUD_PLATFORM_SCOPE } from "./google-sts.js";
import { isStale, policyBindings, policyEtag, readPolicy } from "./iam-policy.js";
import { SERVICE_TITLES } from "./service-usage.js";

/** Roles that grant storage.objects.get. */
const READ_ROLES = [
  "roles/storage.objectViewer",
  "roles/storage.objectUser",
  "roles/storage.objectAdmin",
  "roles/storage.admin",
  "roles/storage.legacyObjectReader",
];
/** Roles that grant storage.buckets.getIamPolicy / setIamPolicy. */
const BUCKET_ADMIN_ROLES = ["roles/storage.admin", "roles/owner", "roles/storage.legacyBucketOwner"];
const STORAGE_SERVICE = "storage.googleapis.com";
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
      {
        name: "storage.getIamPolicy",
        methods: ["GET"],
        path: /^\/storage\/v1\/b\/(?<bucket>[^/]+)\/iam$/,
        handle: (request, params) => bucketPolicy(runtime, request, params.bucket ?? "", undefined),
      },
      {
        name: "storage.setIamPolicy",
        methods: ["PUT"],
        path: /^\/storage\/v1\/b\/(?<bucket>[^/]+)\/iam$/,
        handle: (request, params) =>
          bucketPolicy(runtime, request, params.bucket ?? "", jsonObjectBody(request) ?? null),
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

/**
 * The caller of a Storage request, or the answer that refuses it: 401 without a live token, 403
 * SERVICE_DISABLED while the Cloud Storage API is disabled, 403 for a token without a storage scope.
 */
function storageCaller(
  runtime: Runtime,
  request: ServiceRequest,
  permission: string,
): GoogleTokenRecord | ServiceResponse {
  const token = bearerToken(request.header("authorization"));
  const caller = token === undefined ? undefined : runtime.googleTokens.lookup(token);
  if (!caller) {
    return token === undefined
      ? storageError(
          401,
          `Anonymous caller does not have ${permission} access to the Google Cloud Storage object. Permission '${permission}' denied on resource (or it may not exist).`,
          "required",
          { "www-authenticate": 'Bearer realm="https://accounts.google.com/"' },
        )
      : storageError(401, "Invalid Credentials", "authError", {
          "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
        });
  }
  if (runtime.state.services[STORAGE_SERVICE] !== true) {
    // Storage's JSON API keeps its legacy `errors` list next to Google's details.
    const { message, details } = serviceDisabledParts(
      STORAGE_SERVICE,
      SERVICE_TITLES[STORAGE_SERVICE]!,
      runtime.state.projectNumber,
    );
    return json(403, {
      error: {
        code: 403,
        message,
        errors: [
          {
            message,
            domain: "usageLimits",
            reason: "accessNotConfigured",
            extendedHelp: "https://console.developers.google.com",
          },
        ],
        status: "PERMISSION_DENIED",
        details,
      },
    });
  }
  if (!caller.scopes.some((scope) => STORAGE_SCOPES.has(scope))) {
    return storageError(403, "Provided scope(s) are not authorized", "forbidden");
  }
  return caller;
}

function denied(caller: GoogleTokenRecord, permission: string, what: string): ServiceResponse {
  return storageError(
    403,
    `${callerName(caller)} does not have ${permission} access to the Google Cloud Storage ${what}. Permission '${permission}' denied on resource (or it may not exist).`,
    "forbidden",
  );
}

function getObject(
  runtime: Runtime,
  request: ServiceRequest,
  bucketName: string,
  objectName: string,
): ServiceResponse {
  const caller = storageCaller(runtime, request, "storage.objects.get");
  if ("status" in caller) return caller;
  const bucket = runtime.state.storage.buckets[bucketName];
  if (!bucket || !holdsRole(bucket.bindings, READ_ROLES, callerMatcher(caller))) {
    return denied(caller, "storage.objects.get", "object");
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

function bucketPolicyJson(bucket: BucketState) {
  return {
    kind: "storage#policy",
    resourceId: `projects/_/buckets/${bucket.name}`,
    version: 1,
    etag: policyEtag(bucket.bindings),
    bindings: policyBindings(bucket.bindings),
  };
}

/** Roles a bucket policy may hold. */
function bucketRole(role: string): boolean {
  return (
    role.startsWith("roles/storage.") ||
    ["roles/owner", "roles/editor", "roles/viewer"].includes(role) ||
    !role.startsWith("roles/")
  );
}

/**
 * Bucket IAM (`GET|PUT /storage/v1/b/BUCKET/iam`), what `gcloud storage buckets add-iam-policy-binding`
 * calls to grant a federated principal direct access. `update` is the PUT body (`null` when it is not
 * JSON), undefined for a read. A stale etag answers 412, like Storage's other preconditions.
 */
function bucketPolicy(
  runtime: Runtime,
  request: ServiceRequest,
  bucketName: string,
  update: Record<string, unknown> | null | undefined,
): ServiceResponse {
  const permission = update === undefined ? "storage.buckets.getIamPolicy" : "storage.buckets.setIamPolicy";
  const caller = storageCaller(runtime, request, permission);
  if ("status" in caller) return caller;
  const bucket = runtime.state.storage.buckets[bucketName];
  if (!bucket) return storageError(404, "The specified bucket does not exist.", "notFound");
  // The project's administrator (a user token) owns its buckets; others need an admin role on the bucket.
  if (caller.kind !== "user" && !holdsRole(bucket.bindings, BUCKET_ADMIN_ROLES, callerMatcher(caller))) {
    return denied(caller, permission, "bucket");
  }
  if (update === undefined) return json(200, bucketPolicyJson(bucket));
  const policy = readPolicy(update, bucketRole);
  if (!policy.ok) return storageError(400, policy.problem, "invalid");
  if (isStale(policy, bucket.bindings)) {
    return storageError(412, "Precondition Failed", "conditionNotMet");
  }
  const refused = applyChange(runtime, (config) => {
    const buckets = { ...config.storage?.buckets };
    buckets[bucketName] = { ...buckets[bucketName], bindings: policy.bindings };
    config.storage = { ...config.storage, buckets };
  });
  if (refused) return refused;
  return json(200, bucketPolicyJson(runtime.state.storage.buckets[bucketName]!));
}
