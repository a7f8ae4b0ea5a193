/**
 * `wif demo`: the whole flow on one machine. Starts the emulator in this process and narrates, step by step,
 * the AWS flow (IMDSv2 -> signed GetCallerIdentity -> STS -> impersonation -> the guarded object), the Azure
 * flow (managed identity -> STS -> direct resource access), a credential the provider's attribute
 * condition refuses, and the administrator's half: an empty project set up with `wif plan`'s commands.
 * Exit code 0 when every step behaved as expected.
 */

import { compileProviderRules } from "@wifkit/attribute-mapping";
import {
  fromInstanceMetadata,
  getCallerIdentity,
  resolveRegion,
  serializeSubjectToken,
  signGetCallerIdentity,
} from "@wifkit/aws-supplier";
import { decodeTokenClaims, fromAzure } from "@wifkit/azure-supplier";
import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { fromConfig } from "@wifkit/credentials-all";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { httpRequest } from "@wifkit/http";
import { generateAccessToken } from "@wifkit/impersonation";
import { applySetupPlan, gcloudArgs, planSetup, shellQuote } from "@wifkit/setup";
import { DEFAULT_SCOPES, exchangeToken, STS_ERROR_CODES } from "@wifkit/sts-client";
import { parseFlags } from "../args.js";
import type { CommandContext } from "../context.js";
import { CLI_ERROR_CODES } from "../errors.js";
import type { Io } from "../io.js";
import { GLOBAL_FLAGS } from "../specs.js";

/** A provider the demo adds, whose condition admits only a CI role the instance does not have. */
const STRICT_PROVIDER = "aws-ci-only";
const STRICT_CONDITION = "attribute.aws_role.endsWith('/ci-deployer')";
const BUCKET = "wifkit-bucket";
const OBJECT = "hello.txt";
const TIMEOUT_MS = 10_000;

class Narrator {
  failures = 0;
  constructor(private readonly io: Io) {}

  heading(text: string): void {
    this.io.err(`\n${this.io.styles.bold(text)}\n`);
  }

  /** Runs one step; prints ✔ with what it returned, or ✖ with the error. */
  async step<T>(
    title: string,
    action: () => Promise<T>,
    describe: (value: T) => string,
  ): Promise<T | undefined> {
    const spinner = this.io.spinner(title);
    try {
      const value = await action();
      spinner.stop();
      this.io.check(true, title, describe(value));
      return value;
    } catch (error) {
      spinner.stop();
      this.failures += 1;
      const e = error as { message?: string; code?: string };
      this.io.check(false, title, `${e.code ? `[${e.code}] ` : ""}${e.message ?? String(error)}`);
      return undefined;
    }
  }

  /** A step that must fail: ✔ when it does with `code`, ✖ when it succeeds or fails otherwise. */
  async refusal(title: string, code: string, action: () => Promise<unknown>): Promise<void> {
    const spinner = this.io.spinner(title);
    try {
      await action();
      spinner.stop();
      this.failures += 1;
      this.io.check(false, title, "expected a refusal, but the request succeeded");
    } catch (error) {
      spinner.stop();
      const e = error as { message?: string; code?: string };
      const expected = e.code === code;
      if (!expected) this.failures += 1;
      this.io.check(expected, title, `refused as expected: [${e.code}] ${e.message ?? String(error)}`);
    }
  }
}

function expiresIn(date: Date): string {
  return `expires in ${Math.round((date.getTime() - Date.now()) / 60_000)} min`;
}

async function readObject(emulator: Emulator, bearer: string): Promise<string> {
  const response = await httpRequest({
    url: `${emulator.urls.storage}/storage/v1/b/${BUCKET}/o/${OBJECT}?alt=media`,
    headers: { authorization: `Bearer ${bearer}` },
    timeoutMs: TIMEOUT_MS,
    operation: "Cloud Storage objects.get",
  });
  const body = response.body.toString("utf8");
  if (response.status !== 200) {
    throw Object.assign(new Error(`Cloud Storage answered ${response.status}: ${body.slice(0, 200)}`), {
      code: CLI_ERROR_CODES.demoStorageDenied,
    });
  }
  return body;
}

function mustEqual(actual: string, expected: string, what: string): string {
  if (actual !== expected) {
    throw Object.assign(
      new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`),
      {
        code: CLI_ERROR_CODES.demoUnexpected,
      },
    );
  }
  return actual;
}

async function awsFlow(emulator: Emulator, narrator: Narrator): Promise<void> {
  const env = emulator.awsEnv();
  const config = emulator.credentialConfig({ source: "aws", imdsv2: true });
  const source = config.credential_source as {
    url: string;
    region_url: string;
    imdsv2_session_token_url: string;
    regional_cred_verification_url: string;
  };
  const imds = {
    credentialsUrl: source.url,
    regionUrl: source.region_url,
    sessionTokenUrl: source.imdsv2_session_token_url,
  };
  narrator.heading(`AWS: an EC2 instance with role ${emulator.state.aws.instance.roleName}`);

  const credentials = await narrator.step(
    "IMDSv2: session token, then the instance role's temporary credentials",
    async () => {
      const before = emulator.counters.get("aws.imds.token");
      const keys = await fromInstanceMetadata({ env, ...imds, timeoutMs: TIMEOUT_MS })();
      const region = await resolveRegion({ env, imds, timeoutMs: TIMEOUT_MS });
      if (emulator.counters.get("aws.imds.token") <= before)
        throw new Error("no IMDSv2 session token was requested");
      return { keys, region };
    },
    ({ keys, region }) =>
      `PUT /latest/api/token, then GET .../security-credentials/ROLE: access key ${keys.accessKeyId}, region ${region}`,
  );
  if (!credentials) return;

  const subjectToken = await narrator.step(
    "Signed GetCallerIdentity request: the subject token",
    async () => {
      const signed = await signGetCallerIdentity({
        credentials: credentials.keys,
        region: credentials.region,
        url: source.regional_cred_verification_url,
        audience: config.audience,
        date: new Date(),
      });
      const token = serializeSubjectToken(signed);
      const identity = await getCallerIdentity({
        request: signed,
        timeoutMs: TIMEOUT_MS,
        endpoint: emulator.urls.awsSts,
      });
      return { token, arn: identity.arn };
    },
    ({ token, arn }) =>
      `SigV4 for sts.${credentials.region}.amazonaws.com (${token.length} characters); AWS says the caller is ${arn}`,
  );
  if (!subjectToken) return;

  const federated = await narrator.step(
    "Google STS token exchange",
    () =>
      exchangeToken({
        tokenUrl: config.token_url,
        audience: config.audience,
        subjectToken: subjectToken.token,
        subjectTokenType: SUBJECT_TOKEN_TYPES.aws4Request,
        scopes: DEFAULT_SCOPES,
        timeoutMs: TIMEOUT_MS,
      }),
    (result) =>
      `federated access token for ${config.audience.replace(/^\/\/iam\.googleapis\.com\//, "")}, ${expiresIn(result.expiresAt)}`,
  );
  if (!federated) return;

  const serviceAccount = emulator.serviceAccountEmail("wifkit-reader");
  const impersonated = await narrator.step(
    "Impersonation: IAM Credentials generateAccessToken",
    () =>
      generateAccessToken({
        serviceAccount,
        bearer: federated.accessToken,
        scopes: DEFAULT_SCOPES,
        baseUrl: emulator.urls.iamCredentials,
        timeoutMs: TIMEOUT_MS,
      }),
    (result) => `access token of ${serviceAccount}, ${expiresIn(result.expiresAt)}`,
  );
  if (!impersonated) return;

  const expected = emulator.state.storage.buckets[BUCKET]?.objects[OBJECT]?.content ?? "";
  await narrator.step(
    `Read gs://${BUCKET}/${OBJECT} as the service account`,
    async () => mustEqual(await readObject(emulator, impersonated.accessToken), expected, "object content"),
    (content) => `200 OK: ${JSON.stringify(content)}`,
  );
}

async function azureFlow(emulator: Emulator, narrator: Narrator): Promise<void> {
  const env = emulator.azureEnv();
  const config = emulator.credentialConfig({ source: "azure" });
  const source = config.credential_source as { url: string };
  const resource = new URL(source.url).searchParams.get("resource") ?? "";
  narrator.heading("Azure: a VM with a system-assigned managed identity");

  const subject = await narrator.step(
    "Managed identity token from Azure IMDS",
    () => fromAzure({ resource, env, timeoutMs: TIMEOUT_MS })(),
    (token) => {
      const claims = decodeTokenClaims(token.token);
      return `Entra token for ${resource}: iss ${claims.iss}, sub ${claims.sub}`;
    },
  );
  if (!subject) return;

  const federated = await narrator.step(
    "Google STS token exchange",
    () =>
      exchangeToken({
        tokenUrl: config.token_url,
        audience: config.audience,
        subjectToken: subject.token,
        subjectTokenType: SUBJECT_TOKEN_TYPES.jwt,
        scopes: DEFAULT_SCOPES,
        timeoutMs: TIMEOUT_MS,
      }),
    (result) => `federated access token, ${expiresIn(result.expiresAt)} (no service account involved)`,
  );
  if (!federated) return;

  const expected = emulator.state.storage.buckets[BUCKET]?.objects[OBJECT]?.content ?? "";
  await narrator.step(
    `Read gs://${BUCKET}/${OBJECT} directly as the federated principal`,
    async () => mustEqual(await readObject(emulator, federated.accessToken), expected, "object content"),
    (content) => `200 OK: ${JSON.stringify(content)} (the bucket grants the principal:// of the identity)`,
  );
}

async function refusedFlow(emulator: Emulator, narrator: Narrator): Promise<void> {
  const audience = emulator.providerAudience(STRICT_PROVIDER);
  narrator.heading(`Refused: provider ${STRICT_PROVIDER} with the condition ${STRICT_CONDITION}`);
  const identity = emulator.awsCredentials("instance");
  await narrator.step(
    "Dry run (wif mapping eval): the condition on this instance's identity",
    async () => {
      const decision = compileProviderRules({ providerType: "aws", condition: STRICT_CONDITION }).decide({
        arn: identity.arn,
        account: emulator.state.aws.accountId,
        userid: `AROA:${emulator.state.aws.instance.id}`,
      });
      if (decision.accepted) throw new Error("the condition accepted the instance role");
      return decision;
    },
    (decision) =>
      `attribute.aws_role = ${String(decision.mapped.attributes.aws_role)}: the condition is false`,
  );
  await narrator.refusal(
    "Google STS token exchange with that provider",
    STS_ERROR_CODES.rejectedByCondition,
    () =>
      exchangeToken({
        tokenUrl: `${emulator.urls.sts}/v1/token`,
        audience,
        subjectToken: emulator.awsSubjectToken({ audience }),
        subjectTokenType: SUBJECT_TOKEN_TYPES.aws4Request,
        scopes: DEFAULT_SCOPES,
        timeoutMs: TIMEOUT_MS,
        retry: false,
      }),
  );
}

/**
 * The administrator's half on a new, empty project: `wif plan` for the EC2 role with impersonation, carried
 * out through the admin API calls its gcloud commands make (gcloud takes about a second per command; the
 * calls are the same), then the workload reads the object through the setup it made.
 */
async function setupFlow(io: Io, narrator: Narrator): Promise<void> {
  const emulator = await startEmulator({ empty: true });
  try {
    const { projectId, aws } = emulator.state;
    const serviceAccount = `wif-demo-reader@${projectId}.iam.gserviceaccount.com`;
    const flags = [
      `--project=${projectId}`,
      `--aws-account=${aws.accountId}`,
      `--aws-role=${aws.instance.roleName}`,
      `--service-account=${serviceAccount}`,
      `--bucket=${BUCKET}`,
    ];
    narrator.heading("Setup: a new, empty project, set up with wif plan's commands");
    io.err(
      `${io.styles.dim(`wif plan ${flags.join(" ")} prints these gcloud commands; the demo makes the API calls they make:`)}\n`,
    );
    const plan = planSetup({
      projectId,
      source: { kind: "aws", accountId: aws.accountId, role: aws.instance.roleName },
      access: { kind: "impersonation", serviceAccount },
      bucket: BUCKET,
    });
    const applied = await narrator.step(
      "Apply the plan: APIs, project number, pool, AWS provider, service account, bindings",
      () =>
        applySetupPlan(plan, {
          accessToken: emulator.gcloudEnv().CLOUDSDK_AUTH_ACCESS_TOKEN as string,
          // The emulator's URLs carry the admin APIs under the same names.
          endpoints: emulator.urls,
          timeoutMs: TIMEOUT_MS,
          onStep: (step) =>
            io.err(`    ${io.styles.dim(`$ ${gcloudArgs(step.action).map(shellQuote).join(" ")}`)}\n`),
        }),
      ({ projectNumber }) =>
        `${plan.steps.length} steps; pool ${plan.poolId} in project ${projectNumber}; ${serviceAccount} may be impersonated by role ${aws.instance.roleName}`,
    );
    if (!applied) return;
    const expected = emulator.state.storage.buckets[BUCKET]?.objects[OBJECT]?.content ?? "";
    await narrator.step(
      `The workload: the configuration ${plan.credentialConfigCommand.slice(0, 2).join(" ")} writes, then read gs://${BUCKET}/${OBJECT}`,
      async () => {
        const config = emulator.credentialConfig({
          source: "aws",
          pool: plan.poolId,
          imdsv2: true,
          serviceAccount,
        });
        const credentials = await fromConfig(config, {
          allow: { origins: emulator.allowOrigins },
          env: emulator.awsEnv(),
          timeoutMs: TIMEOUT_MS,
        });
        const token = await credentials.getAccessToken();
        return mustEqual(await readObject(emulator, token.value), expected, "object content");
      },
      (content) => `200 OK: ${JSON.stringify(content)} (as ${serviceAccount})`,
    );
  } finally {
    await emulator.stop();
  }
}

export async function run(args: readonly string[], { io }: CommandContext): Promise<number> {
  parseFlags("demo", args, GLOBAL_FLAGS);
  const narrator = new Narrator(io);
  const spinner = io.spinner("Starting the emulator…");
  const emulator = await startEmulator({
    config: {
      pools: {
        "wifkit-pool": {
          providers: {
            [STRICT_PROVIDER]: {
              type: "aws",
              awsAccountId: "{awsAccountId}",
              attributeCondition: STRICT_CONDITION,
            },
          },
        },
      },
    },
  });
  spinner.stop();
  try {
    io.err(
      `wif demo: Google STS, IAM Credentials, Cloud Storage, AWS and Azure emulated on 127.0.0.1 (project ${emulator.state.projectNumber}, pool wifkit-pool)\n`,
    );
    await awsFlow(emulator, narrator);
    await azureFlow(emulator, narrator);
    await refusedFlow(emulator, narrator);
  } finally {
    await emulator.stop();
  }
  await setupFlow(io, narrator);
  io.err(
    narrator.failures === 0
      ? `\n${io.styles.green("Every step behaved as expected.")}\n`
      : `\n${io.styles.red(`${narrator.failures} step${narrator.failures === 1 ? "" : "s"} did not behave as expected.`)}\n`,
  );
  return narrator.failures === 0 ? 0 : 1;
}
