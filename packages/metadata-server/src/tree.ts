/**
 * The metadata tree under `/computeMetadata/v1/`, and how GCE renders it: directory listings (one name per
 * line, `/` after directories), `?recursive=true` JSON whose schema keys are camelCase while user keys
 * (service account emails, attribute names) stay verbatim, `?alt=json|text`, and an ETag per body.
 * Everything here is fixed for the life of the server, so each rendering is computed once and kept.
 */
import { createHash } from "node:crypto";
import type { MetadataValues } from "./values.js";

type Leaf =
  | { kind: "text"; value: string }
  | { kind: "number"; value: string }
  | { kind: "list"; value: readonly string[] };
/** Token routes: listed in directories, answered by the request handler, left out of recursive output. */
type Dynamic = { kind: "token" } | { kind: "identity" };
export interface Directory {
  kind: "dir";
  children: ReadonlyMap<string, MetadataNode>;
  /** Children named by users (emails, attribute keys): kept as they are in recursive JSON. */
  verbatim: boolean;
}
export type MetadataNode = Leaf | Dynamic | Directory;
export type StaticNode = Leaf | Directory;

function dir(entries: Record<string, MetadataNode | undefined>, verbatim = false): Directory {
  const children = new Map<string, MetadataNode>();
  for (const name of Object.keys(entries).sort()) {
    const node = entries[name];
    if (node !== undefined) children.set(name, node);
  }
  return { kind: "dir", children, verbatim };
}

/**
 * Builds the tree for `values`, serving `scopes` as the default account's scopes. The service account
 * appears as `default/` and under its email, as on GCE.
 */
export function buildMetadataTree(values: MetadataValues, scopes: readonly string[]): Directory {
  const account = dir({
    aliases: { kind: "list", value: ["default"] },
    email: { kind: "text", value: values.serviceAccountEmail },
    identity: values.identity ? { kind: "identity" } : undefined,
    scopes: { kind: "list", value: scopes },
    token: { kind: "token" },
  });
  const accounts: Record<string, MetadataNode> = { default: account };
  if (values.serviceAccountEmail !== "default") accounts[values.serviceAccountEmail] = account;
  return dir({
    instance: dir({
      attributes: dir({}, true),
      hostname: { kind: "text", value: values.hostname },
      id: { kind: "number", value: values.instanceId },
      name: { kind: "text", value: values.instanceName },
      zone: { kind: "text", value: values.zone },
      "service-accounts": dir(accounts, true),
    }),
    project: dir({
      "project-id": values.projectId === undefined ? undefined : { kind: "text", value: values.projectId },
      "numeric-project-id":
        values.numericProjectId === undefined
          ? undefined
          : { kind: "number", value: values.numericProjectId },
      attributes: dir({}, true),
    }),
    universe: dir({ "universe-domain": { kind: "text", value: values.universeDomain } }),
  });
}

/** Finds the node at `segments` (the path below `/computeMetadata/v1/`, split on `/`). */
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

/** A rendered response: body, ETag and the flat header list `writeHead` takes. */
export interface RenderedResponse {
  body: Buffer;
  etag: string;
  headers: string[];
}

/** What GCE sends as the content type of text values and listings. */
export const TEXT_CONTENT_TYPE = "application/text";
export const JSON_CONTENT_TYPE = "application/json";

/** ETag of a response body: 16 hex digits like the real server's. */
export function etagOf(body: Buffer | string): string {
  return createHash("sha256").update(body).digest("hex").slice(0, 16);
}

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
    parts.push(`${JSON.stringify(node.verbatim ? name : camelCase(name))}:${jsonOf(child)}`);
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
 * Renders a directory or value as GCE does. `recursive` only matters for directories; `alt` defaults to
 * JSON for recursive directories and to text otherwise.
 */
export function renderNode(
  node: StaticNode,
  options: { recursive: boolean; alt: "json" | "text" | undefined },
): RenderedResponse {
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
  return rendered(body, json ? JSON_CONTENT_TYPE : TEXT_CONTENT_TYPE);
}

/** Wraps a body with its content type, ETag and the headers every response carries. */
export function rendered(text: string, contentType: string): RenderedResponse {
  const body = Buffer.from(text);
  const etag = etagOf(body);
  return {
    body,
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
