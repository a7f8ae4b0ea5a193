/**
 * `@wifkit/credentials-all`: batteries included, for applications that want every cloud. Its `fromConfig`
 * and `subjectTokenSupplierFromConfig` are `@wifkit/credentials`' with both cloud suppliers registered, so
 * any credential config works; everything else comes from `@wifkit/credentials` itself. A package of its
 * own, so that an application for one cloud installs `@wifkit/credentials` and that cloud's supplier only.
 */
import { awsSupplier } from "@wifkit/aws-supplier";
import { azureSupplier } from "@wifkit/azure-supplier";
import type { ExternalAccountConfig } from "@wifkit/config";
import type { SubjectTokenSupplier } from "@wifkit/core";
import {
  type ConfigSourceKind,
  type ConfiguredCredentials,
  type FromConfigOptions,
  fromConfig as fromConfigWith,
  type SupplierRegistration,
  subjectTokenSupplierFromConfig as subjectTokenSupplierFromConfigWith,
} from "@wifkit/credentials";

/** Every cloud supplier: `awsSupplier` and `azureSupplier`. */
export const ALL_SUPPLIERS: readonly SupplierRegistration[] = Object.freeze([awsSupplier, azureSupplier]);

function withAll(options: FromConfigOptions): FromConfigOptions {
  return { ...options, suppliers: options.suppliers ?? ALL_SUPPLIERS };
}

/**
 * `fromConfig` with every cloud supplier registered (unless `suppliers` says otherwise): AWS, Azure, file,
 * URL, executable and certificate configs all work.
 *
 * @example
 * import { fromConfig } from "@wifkit/credentials-all";
 * const credentials = await fromConfig(); // GOOGLE_APPLICATION_CREDENTIALS, whatever its source
 */
export function fromConfig(
  configOrPath?: Parameters<typeof fromConfigWith>[0],
  options: FromConfigOptions = {},
): Promise<ConfiguredCredentials> {
  return fromConfigWith(configOrPath, withAll(options));
}

/** `subjectTokenSupplierFromConfig` with every cloud supplier registered. */
export function subjectTokenSupplierFromConfig(
  config: ExternalAccountConfig,
  options: FromConfigOptions = {},
): Promise<{ supplier: SubjectTokenSupplier; source: ConfigSourceKind }> {
  return subjectTokenSupplierFromConfigWith(config, withAll(options));
}

export { awsSupplier, azureSupplier };
