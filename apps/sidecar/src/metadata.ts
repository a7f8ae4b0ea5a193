/**
 * The metadata tree the sidecar serves under `/computeMetadata/v1/`, and how the real server renders it:
 * directory listings (names, `/` after directories, one per line), `?recursive=true` JSON with camelCase keys,
 * `?alt=json|text`, and an ETag per body. Everything here is fixed for the life of the process, so each
 * rendering is computed once and kept.
 */
import { etagOf } from "./tokens.js";

/** The values the tree is built from (flags, environment, and what the credential config says). */
export interface MetadataValues {
  /** `project/project-id`; the route answers 404 when unknown. */
  projectId?: string | undefined;
  /** `project/numeric-project-id`; the route answers 404 when unknown. */
  numericProjectId?: string | undefined;
  /** `instance/service-accounts/default/email`. */
  serviceAccountEmail: string;
  /** `instance/service-accounts/default/scopes`: the scopes of the default token. */
  scopes: readonly string[];
  /** `universe/universe-domain`. */
  universeDomain: string;
  /** `instance/id`, `instance/name`, `instance/zone` (stand-ins: there is no GCE instance). */
  instanceId: string;
  instanceName: string;
  zone: string;
}

type Leaf =
  | { kind: "text"; value: string }
  | { kind: "number"; value: string }
  | { kind: "list"; value: readonly string[] };
/** Token routes: listed in directories, answered by the request handler, left out of recursive output. */
type Dynamic = { kind: "token" } | { kind: "identity" };
interface Directory {
  kind: "dir";
  children: ReadonlyMap<string, MetadataNode>;
}
export type MetadataNode = Leaf | Dynamic | Directory;

function dir(entries: Record<string, MetadataNode | undefined>): Directory {
  const children = new Map<string, MetadataNode>();
  for (const name of Object.keys(entries).sort()) {
    const node = entries[name];
    if (node !== undefined) children.set(name, node);
  }
  return { kind: "dir", children };
}

/** Builds the tree. The service account appears as `default/` and under its email, as on GCE. */
export function buildMetadataTree(values: MetadataValues): Directory {
  const account = dir({
    aliases: { kind: "list", value: ["default"] },
    email: { kind: "text", value: values.serviceAccountEmail },
    identity: { kind: "identity" },
    scopes: { kind: "list", value: values.scopes },
    token: { kind: "token" },
  });
  const accounts: Record<string, MetadataNode> = { default: account };
  if (values.serviceAccountEmail !== "default") accounts[values.serviceAccountEmail] = account;
  return dir({
    instance: dir({
      id: { kind: "number", value: values.instanceId },
      name: { kind: "text", value: values.instanceName },
      zone: { kind: "text", value: values.zone },
      "service-accounts": dir(accounts),
    }),
    project: dir({
      "project-id": values.projectId === undefined ? undefined : { kind: "text", value: values.projectId },
      "numeric-project-id":
        values.numericProjectId === undefined
          ? undefined
          : { kind: "number", value: values.numericProjectId },
      attributes: dir({}),
    }),
    universe: dir({ "universe-domain": { kind: "text", value: values.universeDomain } }),
  });
}

/** Finds the node at `segments` (path below `/computeMetadata/v1/`, split on `/`). */
export function lookup(root: Directory, segments: readonly string[]): MetadataNode | undefined {
  let node: MetadataNode = root;
  for (const segment of segments) {
    if (node.kind !== "dir") return undefined;
    const child: MetadataNode | undefined = node.children.get(segment);
    if (child === undefined) return undefined;
    node = child;
  }
  return node;
}

/** A rendered static response. */
export interface StaticResponse {
  body: Buffer;
  contentType: string;
  etag: string;
  /** Flat header list for `writeHead` (Metadata-Flavor, Content-Type, ETag, Content-Length). */
  headers: string[];
}

export const TEXT_CONTENT_TYPE = "application/text";
export const JSON_CONTENT_TYPE = "application/json";

function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function jsonOf(node: MetadataNode): string {
  // Numbers stay as written: a 19-digit instance id does not survive a round trip through a JS number.
  if (node.kind === "number") return node.value;
  if (node.kind === "text" || node.kind === "list") return JSON.stringify(node.value);
  if (node.kind !== "dir") return "null";
  const parts: string[] = [];
  for (const [name, child] of node.children) {
    if (child.kind === "token" || child.kind === "identity") continue;
    parts.push(`${JSON.stringify(camelCase(name))}:${jsonOf(child)}`);
  }
  return `{${parts.join(",")}}`;
}

function leafText(leaf: Leaf): string {
  return leaf.kind === "list" ? leaf.value.map((item) => `${item}\n`).join("") : leaf.value;
}

function flattenText(node: MetadataNode, prefix: string, lines: string[]): void {
  if (node.kind === "dir") {
    for (const [name, child] of node.children)
      flattenText(child, prefix === "" ? name : `${prefix}/${name}`, lines);
  } else if (node.kind === "list") {
    for (const item of node.value) lines.push(`${prefix} ${item}`);
  } else if (node.kind === "text" || node.kind === "number") {
    lines.push(`${prefix} ${node.value}`);
  }
}

function listing(node: Directory): string[] {
  return [...node.children].map(([name, child]) => (child.kind === "dir" ? `${name}/` : name));
}

/**
 * Renders a directory or value the way the real server does. `recursive` only matters for directories;
 * `alt` defaults to JSON for recursive directories and to text otherwise.
 */
export function renderNode(
  node: Leaf | Directory,
  options: { recursive: boolean; alt: "json" | "text" | undefined },
): StaticResponse {
  let body: string;
  let json: boolean;
  if (node.kind === "dir") {
    if (options.recursive) {
      json = options.alt !== "text";
      if (json) {
        body = jsonOf(node);
      } else {
        const lines: string[] = [];
        flattenText(node, "", lines);
        body = lines.map((line) => `${line}\n`).join("");
      }
    } else {
      json = options.alt === "json";
      const names = listing(node);
      body = json ? JSON.stringify(names) : names.map((name) => `${name}\n`).join("");
    }
  } else {
    json = options.alt === "json";
    body = json ? jsonOf(node) : leafText(node);
  }
  return staticResponse(body, json ? JSON_CONTENT_TYPE : TEXT_CONTENT_TYPE);
}

/** Wraps a body with its content type, ETag and the headers every response carries. */
export function staticResponse(text: string, contentType: string): StaticResponse {
  const body = Buffer.from(text);
  const etag = etagOf(body);
  return {
    body,
    contentType,
    etag,
    headers: [
      "Metadata-Flavor",
      "Google",
      "Content-Type",
      contentType,
      "ETag",
      etag,
      "Content-Length",
      String(body.length),
    ],
  };
}
