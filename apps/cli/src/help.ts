/** The help text of every command: a summary, the usage line, the flags and an example. */

export interface CommandHelp {
  summary: string;
  usage: string;
  flags: [flag: string, description: string][];
  examples: string[];
  /** Paragraphs after the flags. */
  notes?: string[];
}

const CONFIG_FLAG: [string, string] = [
  "--config PATH",
  "credential configuration file (default: $GOOGLE_APPLICATION_CREDENTIALS)",
];
const ALLOW_ORIGIN_FLAG: [string, string] = [
  "--allow-origin ORIGIN",
  "also accept this endpoint origin (scheme://host:port) in the configuration, e.g. an emulator's http://127.0.0.1:PORT (repeatable or comma separated; default: $WIF_ALLOW_ORIGINS, same syntax)",
];
const UNIVERSE_DOMAIN_FLAG: [string, string] = [
  "--universe-domain DOMAIN",
  "accept this universe_domain (not googleapis.com) in the configuration; the file cannot approve its own (default: $WIF_UNIVERSE_DOMAIN)",
];
const CACHE_FLAGS: [string, string][] = [
  ["--no-cache", "neither read nor write the token cache"],
  [
    "--cache-dir DIR",
    "token cache directory (default: $WIF_CACHE_DIR, else $XDG_CACHE_HOME/wifkit, else ~/.cache/wifkit)",
  ],
];
const COMMON_FLAGS: [string, string][] = [
  [
    "--proxy URL",
    "send requests to Google, AWS and Azure through this proxy (http://[USER:PASSWORD@]HOST:PORT or https://...; default: $HTTPS_PROXY, $HTTP_PROXY; $NO_PROXY still applies; metadata servers and loopback never go through a proxy)",
  ],
  [
    "--log-http",
    "print each HTTP request and response to stderr, never a token or secret (also: WIF_LOG=debug)",
  ],
  ["--debug", "print stack traces and causes of errors"],
  ["-h, --help", "show this help"],
];

export const COMMANDS: Record<string, CommandHelp> = {
  token: {
    summary: "print a Google access token for a credential configuration",
    usage: "wif token [--config PATH] [--scopes a,b] [--format text|json|env] [--no-cache]",
    flags: [
      CONFIG_FLAG,
      [
        "--scopes a,b",
        "OAuth scopes, comma separated; a bare name means https://www.googleapis.com/auth/NAME (default: cloud-platform)",
      ],
      [
        "--format FORMAT",
        "text (the token), json ({access_token, expires_at, token_type, principal}) or env (export lines)",
      ],
      ...CACHE_FLAGS,
      ALLOW_ORIGIN_FLAG,
      UNIVERSE_DOMAIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: [
      'curl -H "Authorization: Bearer $(wif token)" https://storage.googleapis.com/storage/v1/b/my-bucket/o',
      'eval "$(wif token --config ./wif-config.json --format env)"',
    ],
    notes: [
      "Tokens are cached across runs (0600 files) and reused until a minute before they expire; a cached token is printed without loading anything else.",
    ],
  },
  "id-token": {
    summary: "print a Google-signed ID token (Cloud Run, IAP) through service account impersonation",
    usage: "wif id-token --audience URL [--include-email] [--config PATH] [--format text|json]",
    flags: [
      ["--audience URL", "the token's audience: the Cloud Run URL or the IAP OAuth client id (required)"],
      ["--include-email", "add the email and email_verified claims"],
      CONFIG_FLAG,
      ["--format FORMAT", "text (the token) or json ({id_token, expires_at, principal})"],
      ...CACHE_FLAGS,
      ALLOW_ORIGIN_FLAG,
      UNIVERSE_DOMAIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: [
      'curl -H "Authorization: Bearer $(wif id-token --audience https://hello-abc123-uc.a.run.app)" https://hello-abc123-uc.a.run.app',
    ],
    notes: ["The configuration must impersonate a service account (create-cred-config --service-account)."],
  },
  exec: {
    summary:
      "run a command with CLOUDSDK_AUTH_ACCESS_TOKEN and GOOGLE_OAUTH_ACCESS_TOKEN set, or (--metadata) with a metadata server its Google libraries refresh tokens from",
    usage: "wif exec [--config PATH] [--scopes a,b] [--metadata] -- COMMAND [ARGS...]",
    flags: [
      CONFIG_FLAG,
      ["--scopes a,b", "OAuth scopes (default: cloud-platform)"],
      [
        "--metadata",
        "serve the GCE metadata protocol on 127.0.0.1 while the command runs and set GCE_METADATA_HOST, GCE_METADATA_IP and GCE_METADATA_ROOT instead of the token variables: its Google libraries refresh tokens by themselves",
      ],
      ...CACHE_FLAGS,
      ALLOW_ORIGIN_FLAG,
      UNIVERSE_DOMAIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: [
      "wif exec --config ./wif-config.json -- gcloud storage ls gs://my-bucket",
      "wif exec --metadata --config ./wif-config.json -- node long-running-job.js",
    ],
    notes: [
      "The command's exit code is wif's exit code; signals wif receives (INT, TERM, HUP, QUIT) are passed on to it. 127: command not found, 126: not executable.",
      "With --metadata, GOOGLE_APPLICATION_CREDENTIALS and the token variables are removed from the command's environment (the libraries would use them instead), and the server stops when the command exits.",
    ],
  },
  "create-cred-config": {
    summary:
      "write a credential configuration file, as gcloud iam workload-identity-pools (or workforce-pools) create-cred-config does",
    usage:
      "wif create-cred-config RESOURCE (--aws [--enable-imdsv2] | --azure [--app-id-uri URI] | --credential-source-file FILE | --credential-source-url URL | --executable-command CMD | --credential-cert-path CERT --credential-cert-private-key-path KEY) [--service-account EMAIL] [--sts-location LOCATION] --output-file PATH",
    flags: [
      [
        "RESOURCE",
        "projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER, or a workforce provider: locations/global/workforcePools/POOL/providers/PROVIDER",
      ],
      [
        "--output-file PATH",
        "where to write the configuration (required; replaced atomically, missing directories created)",
      ],
      [
        "--aws",
        "AWS: a signed GetCallerIdentity request from the instance's or environment's AWS credentials",
      ],
      ["--enable-imdsv2", "with --aws: use IMDSv2 session tokens"],
      ["--azure", "Azure: a managed identity token from the instance metadata service"],
      [
        "--app-id-uri URI",
        "with --azure: the application ID URI the token is for (default: https://iam.googleapis.com/RESOURCE)",
      ],
      ["--credential-source-file FILE", "a file holding the subject token (OIDC or SAML)"],
      ["--credential-source-url URL", "a URL returning the subject token"],
      ["--credential-source-headers k=v,...", "with --credential-source-url: request headers"],
      [
        "--credential-source-type text|json",
        "with a file or URL source: how the token is stored (default text)",
      ],
      [
        "--credential-source-field-name NAME",
        "with --credential-source-type json: the field holding the token",
      ],
      ["--executable-command CMD", "a program printing the subject token (absolute path and arguments)"],
      [
        "--executable-timeout-millis N",
        "with --executable-command: 5000 to 120000, or a duration such as 60s (default 30000)",
      ],
      ["--executable-output-file FILE", "with --executable-command: where the program caches its output"],
      [
        "--executable-interactive-timeout-millis N",
        "workforce, with --executable-command and --executable-output-file: 30000 to 1800000 for interactive sign-in",
      ],
      [
        "--credential-cert-path CERT",
        "X.509: the workload's client certificate (PEM), presented to STS over mTLS",
      ],
      ["--credential-cert-private-key-path KEY", "with --credential-cert-path: its private key (required)"],
      [
        "--credential-cert-trust-chain-path FILE",
        "with --credential-cert-path: PEM intermediates between the certificate and the pool's trust anchor",
      ],
      [
        "--credential-cert-configuration-output-file PATH",
        "with --credential-cert-path: where to write the certificate configuration (default: certificate_config.json in $CLOUDSDK_CONFIG, else ~/.config/gcloud)",
      ],
      [
        "--subject-token-type TYPE",
        "file, URL and executable sources: the token type (default urn:ietf:params:oauth:token-type:jwt; id_token for workforce)",
      ],
      ["--service-account EMAIL", "impersonate this service account"],
      [
        "--service-account-token-lifetime-seconds N",
        "with --service-account: 600 to 43200, or a duration such as 2h (default 3600)",
      ],
      [
        "--workforce-pool-user-project PROJECT",
        "workforce providers (required for them): the project that pays for the API calls",
      ],
      [
        "--sts-location LOCATION",
        "exchange at the locational STS endpoint https://sts.LOCATION.rep.googleapis.com (default global; not with --credential-cert-path)",
      ],
      ["--universe-domain DOMAIN", "a universe other than googleapis.com"],
      [
        "--sts-url URL",
        "wifkit only: STS base URL to write instead of Google's, e.g. http://127.0.0.1:8080 (token URL .../v1/token; a full token URL is accepted too)",
      ],
      [
        "--iam-credentials-url URL",
        "wifkit only: IAM Credentials base URL to write instead of Google's, e.g. http://127.0.0.1:8080",
      ],
      [
        "--metadata-url URL",
        "wifkit only: AWS/Azure metadata base URL to write instead of http://169.254.169.254",
      ],
      ALLOW_ORIGIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: [
      "wif create-cred-config projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-aws --aws --enable-imdsv2 --service-account app@my-project.iam.gserviceaccount.com --output-file wif-config.json",
      "wif create-cred-config projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-azure --azure --app-id-uri api://my-app --sts-location europe-west3 --output-file wif-config.json",
      "wif create-cred-config projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-x509 --credential-cert-path /etc/wif/cert.pem --credential-cert-private-key-path /etc/wif/key.pem --output-file wif-config.json",
      "wif create-cred-config locations/global/workforcePools/my-pool/providers/my-oidc --credential-source-file /var/run/oidc/token --workforce-pool-user-project my-project --output-file wif-config.json",
    ],
    notes: [
      "The flags and the file are gcloud's (a test compares them with the installed gcloud): a file written by either is accepted by Google's client libraries and by wifkit.",
      "With --credential-cert-path, a second file, the certificate configuration (where the certificate and key are; mode 0600), is written too, and the credential configuration points at it.",
      "The wifkit-only URL flags take base URLs; their origins are trusted when the written file is checked.",
    ],
  },
  validate: {
    summary:
      "check a credential configuration offline: the schema, the endpoint policy and what it needs from this machine (variables, files, a token file's content); never uses the network",
    usage: "wif validate [--config PATH] [--offline]",
    flags: [
      CONFIG_FLAG,
      ["--offline", "only the schema and the endpoint policy, not this machine's variables and files"],
      ALLOW_ORIGIN_FLAG,
      UNIVERSE_DOMAIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: ["wif validate --config ./wif-config.json"],
    notes: [
      "Exit code 0 when every check passes, 1 when one fails (each failure says how to fix it).",
      "Nothing is sent: `wif doctor` checks the live setup (the subject token, STS, the provider, the APIs, the bindings).",
    ],
  },
  doctor: {
    summary:
      "check a live setup step by step (subject token, STS, introspection, provider, APIs, impersonation, project number) and say which step fails and the command that fixes it",
    usage: "wif doctor [--config PATH] [--format text|json]",
    flags: [
      CONFIG_FLAG,
      [
        "--format FORMAT",
        "text (one line per step on stderr) or json ({ok, steps: [{id, status, summary, details, fix}]} on stdout)",
      ],
      ALLOW_ORIGIN_FLAG,
      UNIVERSE_DOMAIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: [
      "wif doctor --config ./wif-config.json",
      "CLOUDSDK_AUTH_ACCESS_TOKEN=$(gcloud auth print-access-token) wif doctor --config ./wif-config.json --format json",
    ],
    notes: [
      "Steps: the subject token (its claims; for AWS the caller identity AWS reports), the STS exchange, introspection at token_info_url (the real principal), the pool and the provider (issuer, allowed audiences, mapping, and the condition evaluated on this subject token), API enablement (SERVICE_DISABLED is told apart from a missing binding), the impersonation permission, and the project number.",
      "The pool, provider, services and project are read with CLOUDSDK_AUTH_ACCESS_TOKEN when it is set (an administrator's token), else with the federated token; a step that cannot be read is skipped, saying so. The admin APIs are reached where gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM, _SERVICEUSAGE and _CLOUDRESOURCEMANAGER point.",
      "Exit code 0 when no step fails, 1 when one does.",
    ],
  },
  plan: {
    summary:
      "print the administrator's half for a workload: the gcloud commands (or Terraform) that enable the APIs, create the pool and the AWS or Azure provider, and grant access",
    usage:
      "wif plan --project ID [--project-number N] (--aws-role ROLE [--aws-account ID] | --azure-tenant ID --app-id-uri URI --managed-identity-object-id ID) (--service-account EMAIL | --direct --bucket NAME) [--bucket NAME] [--format gcloud|terraform]",
    flags: [
      [
        "--project ID",
        "the project of the pool (its id; the plan reads the number with gcloud projects describe)",
      ],
      ["--project-number N", "the project number, when known (then no describe step)"],
      ["--pool ID", "the workload identity pool (default wif-pool)"],
      ["--provider ID", "the provider (default aws-provider or azure-provider)"],
      [
        "--pool-exists",
        "the pool and provider exist (another workload's): only grant this workload's access",
      ],
      ["--aws-role ROLE", "AWS: the IAM role the workload runs as, a name or arn:aws:iam::ACCOUNT:role/NAME"],
      ["--aws-account ID", "AWS: the 12-digit account id (default: from the role ARN)"],
      ["--azure-tenant ID", "Azure: the Entra ID tenant id"],
      ["--app-id-uri URI", "Azure: the Application ID URI of the Entra application (the allowed audience)"],
      ["--managed-identity-object-id ID", "Azure: the object id of the managed identity (the token's sub)"],
      ["--issuer-uri URL", "Azure: the issuer (default https://sts.windows.net/TENANT)"],
      [
        "--service-account EMAIL",
        "impersonation: the service account the workload impersonates (created by the plan)",
      ],
      ["--service-account-exists", "with --service-account: do not create it"],
      ["--direct", "direct resource access: grant the workload's federated principal on the resource"],
      [
        "--bucket NAME",
        "the Cloud Storage bucket to grant --role on (to the principal, or to the service account)",
      ],
      ["--role ROLE", "the role on the bucket (default roles/storage.objectViewer)"],
      [
        "--attribute-mapping M",
        "replaces the guide's mapping (AWS: subject arn, attributes account, aws_role, aws_ec2_instance; Azure: subject sub)",
      ],
      [
        "--attribute-condition C",
        'replaces the guide\'s condition (AWS: only assumed roles of the account); "" for none',
      ],
      ["--output-file PATH", "where the printed create-cred-config writes (default wif-config.json)"],
      [
        "--sts-url, --iam-credentials-url, --metadata-url URL",
        "wifkit only: passed on to the printed create-cred-config (an emulator's base URLs)",
      ],
      ["--format FORMAT", "gcloud (a bash script, default) or terraform (google provider resources)"],
      ...COMMON_FLAGS,
    ],
    examples: [
      "wif plan --project my-project --aws-role arn:aws:iam::111122223333:role/app --service-account app-runner@my-project.iam.gserviceaccount.com --bucket my-bucket",
      "wif plan --project my-project --azure-tenant 00000000-1111-2222-3333-444444444444 --app-id-uri api://my-app --managed-identity-object-id 4d7c6b2a-1e3f-4a5b-9c8d-0f1e2d3c4b5a --direct --bucket my-bucket --format terraform",
    ],
    notes: [
      "Follows Google's guide \"Configure Workload Identity Federation with AWS or Azure VMs\". Nothing is changed: the plan is printed (stdout), to read, edit and run (`wif plan ... > setup.sh && bash setup.sh`). The script's last step prints the workload's create-cred-config command with the project number filled in.",
      "Ids, accounts, mappings and conditions are checked with Google's rules before anything is printed.",
    ],
  },
  inspect: {
    summary: "show what the identity provider will see: the subject token this environment produces",
    usage: "wif inspect [--config PATH] [--show-token] [--format text|json]",
    flags: [
      CONFIG_FLAG,
      ["--show-token", "also print the raw subject token (to stdout)"],
      ["--format FORMAT", "text (a report on stderr) or json (on stdout)"],
      ALLOW_ORIGIN_FLAG,
      UNIVERSE_DOMAIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: ["wif inspect --config ./wif-config.json"],
    notes: [
      "AWS: the signed GetCallerIdentity request (signature and session token elided) and the ARN form Google will see. OIDC and Azure: the token's decoded header and claims.",
    ],
  },
  "mapping eval": {
    summary: "dry-run an attribute mapping and condition on an assertion",
    usage:
      "wif mapping eval --mapping M [--condition C] (--assertion FILE|- | --config PATH) [--project-number N --pool P] [--format text|json]",
    flags: [
      [
        "--mapping M",
        "the provider's attribute mapping: google.subject=assertion.sub,attribute.x=... (default for AWS: Google's AWS mapping)",
      ],
      ["--condition C", "the provider's attribute condition (CEL)"],
      [
        "--assertion FILE|-",
        "the assertion as JSON (AWS: {arn, account, userid}; OIDC: the token's claims); - reads stdin",
      ],
      [
        "--config PATH",
        "take the assertion from this environment instead: the subject token of this configuration",
      ],
      [
        "--project-number N",
        "with --pool: print the principal identifiers (default: from --config's audience)",
      ],
      ["--pool P", "the workload identity pool id"],
      ["--format FORMAT", "text (a report on stderr) or json (on stdout)"],
      ALLOW_ORIGIN_FLAG,
      UNIVERSE_DOMAIN_FLAG,
      ...COMMON_FLAGS,
    ],
    examples: [
      'wif mapping eval --mapping "google.subject=assertion.sub,attribute.tid=assertion.tid" --condition "assertion.tid == \'7e1c2b3a\'" --assertion claims.json --project-number 123456789012 --pool my-pool',
    ],
    notes: ["Exit code 1 when STS would refuse the credential (the condition is false or a mapping fails)."],
  },
  // The flags, the usage line and the help text are wif-emulator's (commands/emulator.ts renders them).
  emulator: {
    summary: "start the local emulator of Google STS, IAM Credentials, AWS and Azure (same as wif-emulator)",
    usage: "wif emulator [FLAGS]",
    flags: COMMON_FLAGS,
    examples: [
      "wif emulator --write-config ./emulator-configs",
      "wif emulator --config ./emulator.json --quiet",
    ],
  },
  demo: {
    summary: "run the AWS and Azure flows and a refused request against an in-process emulator",
    usage: "wif demo",
    flags: COMMON_FLAGS,
    examples: ["wif demo"],
    notes: ["Exit code 0 when every step behaved as expected."],
  },
};

export const COMMAND_ORDER = [
  "token",
  "id-token",
  "exec",
  "create-cred-config",
  "plan",
  "validate",
  "doctor",
  "inspect",
  "mapping eval",
  "emulator",
  "demo",
] as const;

/** `wif --help`. */
export function mainHelp(version: string): string {
  const width = Math.max(...COMMAND_ORDER.map((name) => name.length));
  const lines = COMMAND_ORDER.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name]?.summary ?? ""}`);
  return [
    `wif ${version}: Google Cloud credentials through Workload Identity Federation, without service account keys`,
    "",
    "Usage: wif COMMAND [FLAGS]",
    "",
    "Commands:",
    ...lines,
    "",
    "Global flags:",
    "  -h, --help     help for wif or a command (wif COMMAND --help)",
    "  -V, --version  print the version",
    "  --proxy URL    send requests through this proxy (default: $HTTPS_PROXY; $NO_PROXY applies)",
    "  --log-http     print each HTTP request and response to stderr, tokens and secrets never",
    "  --debug        print stack traces and causes of errors",
    "",
    "Example:",
    "  $ wif create-cred-config projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-aws \\",
    "      --aws --service-account app@my-project.iam.gserviceaccount.com --output-file wif-config.json",
    "  $ wif token --config wif-config.json",
    "",
    "Environment: GOOGLE_APPLICATION_CREDENTIALS, WIF_CACHE_DIR, WIF_ALLOW_ORIGINS, HTTPS_PROXY, NO_PROXY,",
    "WIF_LOG=debug (as --log-http), NO_COLOR.",
    "Exit codes: 0 success, 1 failure (the error says what and how to fix it), 2 usage error.",
    "",
  ].join("\n");
}

/** `wif COMMAND --help`. */
export function commandHelp(name: string): string {
  const help = COMMANDS[name];
  if (!help) return "";
  const width = Math.min(36, Math.max(...help.flags.map(([flag]) => flag.length)));
  const flags = help.flags.map(([flag, description]) =>
    flag.length > width
      ? `  ${flag}\n  ${" ".repeat(width)}  ${description}`
      : `  ${flag.padEnd(width)}  ${description}`,
  );
  return [
    `wif ${name}: ${help.summary}`,
    "",
    `Usage: ${help.usage}`,
    "",
    "Flags:",
    ...flags,
    ...(help.notes ? ["", ...help.notes] : []),
    "",
    help.examples.length > 1 ? "Examples:" : "Example:",
    ...help.examples.map((example) => `  $ ${example}`),
    "",
  ].join("\n");
}

/** The usage lines printed after a usage error; `usage` replaces the command's usage line from COMMANDS. */
export function usageOf(name: string | undefined, usage?: string): string {
  if (name === undefined || !COMMANDS[name]) {
    return "Usage: wif COMMAND [FLAGS]   (wif --help lists the commands)\n";
  }
  return `Usage: ${usage ?? COMMANDS[name]?.usage}\nRun 'wif ${name} --help' for the flags and an example.\n`;
}
