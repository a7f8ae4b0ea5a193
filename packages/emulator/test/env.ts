/**
 * google-auth-library reads AWS credentials and region from process.env, and gaxios honours proxy
 * variables; tests that drive it set exactly the variables a workload would see and put the rest back.
 */
const MANAGED =
  /^(AWS_|AZURE_|IDENTITY_|IMDS_ENDPOINT$|GOOGLE_|HTTPS?_PROXY$|https?_proxy$|NO_PROXY$|no_proxy$)/;

export function withProcessEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.entries(process.env).filter(([name]) => MANAGED.test(name)));
  for (const name of Object.keys(saved)) delete process.env[name];
  Object.assign(process.env, vars);
  return () => {
    for (const name of Object.keys(process.env)) if (MANAGED.test(name)) delete process.env[name];
    Object.assign(process.env, saved);
  };
}
