/**
 * The subject token supplier a credential configuration describes, for `inspect`, `validate` and
 * `mapping eval --config`, which look at the subject token itself rather than at a Google token.
 *
 * This mirrors what @wifkit/credentials' fromConfig composes internally; that package does not export its
 * supplier selection, so the CLI repeats the (short) dispatch here.
 */

import type { ExternalAccountConfig, SubjectTokenFormat } from "@wifkit/config";
import type { SubjectTokenSupplier, SubjectTokenType } from "@wifkit/core";

export type SubjectSourceKind = "aws" | "azure" | "file" | "url" | "executable" | "certificate";

export interface SubjectSource {
  kind: SubjectSourceKind;
  supplier: SubjectTokenSupplier;
}

type Env = Readonly<Record<string, string | undefined>>;

function formatOf(format: SubjectTokenFormat | undefined) {
  if (!format) return undefined;
  return format.subject_token_field_name
    ? { type: format.type, subjectTokenFieldName: format.subject_token_field_name }
    : { type: format.type };
}

/** The fields that are set: the AWS supplier's options take no explicit `undefined`s. */
function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** Builds the supplier of `config.credential_source`, loading only the package that source needs. */
export async function subjectSourceOf(
  config: ExternalAccountConfig,
  env: Env,
  timeoutMs: number,
): Promise<SubjectSource> {
  const source = config.credential_source;
  const type = config.subject_token_type as SubjectTokenType;
  if ("environment_id" in source) {
    const { fromAws } = await import("@wifkit/aws-supplier");
    return {
      kind: "aws",
      supplier: fromAws({
        audience: config.audience,
        credentialSource: defined({ ...source }),
        env,
        timeoutMs,
      }),
    };
  }
  if ("url" in source) {
    const { azureOptionsFromImdsUrl, fromAzure } = await import("@wifkit/azure-supplier");
    const azure = azureOptionsFromImdsUrl(source.url);
    if (azure) return { kind: "azure", supplier: fromAzure({ ...azure, env, timeoutMs }) };
    const { fromUrl } = await import("@wifkit/credentials");
    return {
      kind: "url",
      supplier: fromUrl({
        url: source.url,
        headers: source.headers,
        format: formatOf(source.format),
        type,
        timeoutMs,
      }),
    };
  }
  const credentials = await import("@wifkit/credentials");
  if ("file" in source) {
    return {
      kind: "file",
      supplier: credentials.fromFile({ path: source.file, format: formatOf(source.format), type }),
    };
  }
  if ("executable" in source) {
    return {
      kind: "executable",
      supplier: credentials.fromExecutable({
        command: source.executable.command,
        timeoutMs: source.executable.timeout_millis,
        outputFile: source.executable.output_file,
        audience: config.audience,
        subjectTokenType: type,
        env,
      }),
    };
  }
  return {
    kind: "certificate",
    supplier: credentials.fromCertificate({
      useDefaultCertificateConfig: source.certificate.use_default_certificate_config,
      certificateConfigLocation: source.certificate.certificate_config_location,
      trustChainPath: source.certificate.trust_chain_path,
      env,
    }),
  };
}
