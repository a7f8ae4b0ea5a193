import manifest from "../package.json" with { type: "json" };

/** This package's version, sent in the `x-goog-api-client` metrics header. */
export const WIFKIT_VERSION: string = manifest.version;
