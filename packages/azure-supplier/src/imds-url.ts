import { AZURE_IMDS_TOKEN_PATH, DEFAULT_AZURE_IMDS_ENDPOINT } from "./options.js";

/** The `fromAzure` options a credential configuration's Azure IMDS URL source stands for. */
export interface AzureImdsUrlOptions {
  resource: string;
  /** Set only when the URL is not the standard IMDS address (an emulator, a proxy). */
  imdsEndpoint?: string;
  clientId?: string;
  objectId?: string;
  msiResId?: string;
}

/**
 * Recognises the URL `gcloud iam workload-identity-pools create-cred-config --azure` writes
 * (`http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=APP_ID_URI`) and
 * returns the `fromAzure` options it means, or undefined for any other URL. `@wifkit/credentials` uses it to
 * hand such a config to the Azure supplier, which then also works on AKS, App Service and Arc, where that
 * URL answers 404 or nothing. `imdsEndpoint` is left out for the standard address, so
 * `AZURE_IMDS_ENDPOINT` and detection still apply.
 *
 * @example
 * const options = azureOptionsFromImdsUrl(config.credential_source.url);
 * const supplier = options ? fromAzure(options) : fromUrl(config.credential_source);
 */
export function azureOptionsFromImdsUrl(url: string | URL): AzureImdsUrlOptions | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  const pathname = parsed.pathname.replace(/\/+$/, "");
  if (!pathname.toLowerCase().endsWith(AZURE_IMDS_TOKEN_PATH)) return undefined;
  const resource = parsed.searchParams.get("resource");
  if (resource === null || resource.trim() === "") return undefined;
  const options: AzureImdsUrlOptions = { resource };
  const endpoint = `${parsed.protocol}//${parsed.host}${pathname}`;
  if (endpoint !== `${DEFAULT_AZURE_IMDS_ENDPOINT}${AZURE_IMDS_TOKEN_PATH}`) options.imdsEndpoint = endpoint;
  const clientId = parsed.searchParams.get("client_id");
  const objectId = parsed.searchParams.get("object_id");
  const msiResId = parsed.searchParams.get("msi_res_id") ?? parsed.searchParams.get("mi_res_id");
  if (clientId) options.clientId = clientId;
  if (objectId) options.objectId = objectId;
  if (msiResId) options.msiResId = msiResId;
  return options;
}
