import type { CommandSpec, OptionTable } from './cli.ts';

/**
 * The option table of every `npm run <command>`: the entry points parse with these, `--help`
 * prints them, and docs/cli.md is generated from them (a test fails when it drifts).
 */

/** Which environment: exactly one of these (see environment-flags.ts). */
export const environmentOptions = {
  environment: {
    type: 'string',
    valueName: 'key',
    description: 'Environment key: production, br-<slug> or pr-<number>.',
  },
  branch: {
    type: 'string',
    valueName: 'name',
    description: 'The environment a push to this branch deploys.',
  },
  pr: { type: 'string', valueName: 'number', description: 'The preview environment of this pull request.' },
} as const satisfies OptionTable;

/** The flags deploy and teardown share (see pipeline-cli.ts). */
export const commonOptions = {
  ...environmentOptions,
  'event-name': {
    type: 'string',
    valueName: 'name',
    description: 'Resolve the environment from a GitHub event of this name (needs --event-path).',
  },
  'event-path': {
    type: 'string',
    valueName: 'file',
    description: 'The GitHub event payload (GITHUB_EVENT_PATH).',
  },
  region: {
    type: 'string',
    valueName: 'region',
    description: 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then cfn/project.yml).',
  },
  repository: {
    type: 'string',
    valueName: 'owner/name',
    description: 'Repository for the ownership tags (default: GITHUB_REPOSITORY, then the origin remote).',
  },
  'role-arn': {
    type: 'string',
    valueName: 'arn',
    description: "The tier's deploy role (default: AWS_PRODUCTION_ROLE_ARN or AWS_NONPRODUCTION_ROLE_ARN).",
  },
  'cfn-role-arn': {
    type: 'string',
    valueName: 'arn',
    description:
      "The tier's CloudFormation service role for every stack operation (default: PRODUCTION_ or NONPRODUCTION_CFN_EXECUTION_ROLE_ARN).",
  },
  'artifact-bucket': {
    type: 'string',
    valueName: 'bucket',
    description:
      "The tier's bucket for packaged nested templates (default: PRODUCTION_ or NONPRODUCTION_ARTIFACT_BUCKET).",
  },
  'ecr-repository': {
    type: 'string',
    valueName: 'name',
    description:
      "The tier's ECR repository (default: PRODUCTION_ or NONPRODUCTION_ECR_REPOSITORY, then the bootstrap's name).",
  },
  'permissions-boundary-arn': {
    type: 'string',
    valueName: 'arn',
    description: 'Permissions boundary of every stack-created IAM role (default: PERMISSIONS_BOUNDARY_ARN).',
  },
  'run-id': {
    type: 'string',
    valueName: 'id',
    description:
      'Part of the change-set name (default: GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT, else local-<time>).',
  },
  'timeout-minutes': {
    type: 'string',
    valueName: 'minutes',
    description: 'Give up waiting after this long; a timeout is a failure (default 60).',
  },
} as const satisfies OptionTable;

export const deployCommand = {
  name: 'deploy',
  summary: "Deploy an environment's stacks: package, change set, execute, watch, outputs.",
  description:
    'Previews and branch environments first deploy the shared network. Writes .out/<env>/outputs.json, changes.md and changes.json.',
  options: {
    ...commonOptions,
    'image-uri': {
      type: 'string',
      valueName: 'uri',
      description: 'The image to run (build-push prints it).',
    },
    'image-uri-dualstack': {
      type: 'string',
      valueName: 'uri',
      description: "The same image by ECR's dual-stack registry name (what IPv6-only tasks pull).",
    },
    'no-execute': {
      type: 'boolean',
      default: false,
      description: 'Create the change set and stop (status change-set-created).',
    },
    template: {
      type: 'string',
      valueName: 'path',
      description: 'Deploy another root template (tests, rehearsals).',
    },
    'parameters-file': {
      type: 'string',
      valueName: 'path',
      description: 'Use this parameter file instead of cfn/environments/<kind>.yml.',
    },
    sha: {
      type: 'string',
      valueName: 'commit',
      description:
        'The commit deployed (stack tag gitops:sha; an older one than the deployed commit is superseded). Default: the checked-out commit, then GITHUB_SHA.',
    },
    adopt: {
      type: 'boolean',
      default: false,
      description:
        'Take over a stack whose ownership tags name another repository or app (or none). Never used by the workflows.',
    },
    'shared-network': {
      type: 'string',
      valueName: 'mode',
      default: 'deploy',
      description:
        'deploy: the shared network, then the environment; only: just the shared network; use: read it, never change it.',
    },
  },
  examples: [
    'npm run deploy -- --environment pr-12 --image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo@sha256:...',
    'npm run deploy -- --branch staging --image-uri URI --image-uri-dualstack URI2 --no-execute',
  ],
} as const satisfies CommandSpec;

export const teardownCommand = {
  name: 'teardown',
  summary: "Delete an environment's stack and its preview image tags; a missing stack is nothing to do.",
  description:
    'Refuses a stack whose ownership tags do not name this repository. Writes .out/<env>/teardown.json.',
  options: {
    ...commonOptions,
    confirm: {
      type: 'string',
      valueName: 'production',
      description: 'Required to tear down production: --confirm production.',
    },
    'include-shared-network': {
      type: 'boolean',
      default: false,
      description: 'Also delete the shared network (refused while another stack uses it).',
    },
    'include-preview-edge': {
      type: 'boolean',
      default: false,
      description:
        'Also delete the shared preview edge (its ALB), refused while any environment still has a route on it.',
    },
    'keep-images': { type: 'boolean', default: false, description: "Keep the preview's image tags in ECR." },
    'dry-run': {
      type: 'boolean',
      default: false,
      description:
        'List exactly what would be deleted (stacks, nested stacks, resources, retained resources, image tags) and delete nothing.',
    },
  },
  examples: [
    'npm run teardown -- --environment pr-12 --dry-run',
    'npm run teardown -- --environment pr-12',
    'npm run teardown -- --environment production --confirm production',
  ],
} as const satisfies CommandSpec;

export const buildPushCommand = {
  name: 'build-push',
  summary: 'Build and push the app image for one commit, or reuse the image that commit already has.',
  description:
    'Prints the image by digest in both registry forms and writes .out/<env>/image.json. --dry-run reads ECR and prints the docker commands.',
  options: {
    ...environmentOptions,
    sha: { type: 'string', valueName: 'sha', description: 'The commit to build (default: GITHUB_SHA).' },
    platform: {
      type: 'string',
      valueName: 'os/arch',
      description: "linux/amd64 or linux/arm64 (default: the environment's CpuArchitecture).",
    },
    'dry-run': { type: 'boolean', default: false, description: 'Change nothing; print what would run.' },
    region: {
      type: 'string',
      valueName: 'region',
      description: 'AWS region (default: AWS_REGION, then cfn/project.yml).',
    },
    'ecr-repository': {
      type: 'string',
      valueName: 'name',
      description:
        "The tier's ECR repository (default: PRODUCTION_ or NONPRODUCTION_ECR_REPOSITORY, then the bootstrap's name).",
    },
  },
  examples: ['npm run build-push -- --environment pr-12 --sha "$(git rev-parse HEAD)" --dry-run'],
} as const satisfies CommandSpec;

export const verifyCommand = {
  name: 'verify',
  summary:
    'Prove the deployed service over IPv4 and IPv6: DNS A/AAAA, HTTP per address, dual-stack AWS APIs.',
  description:
    'Where this machine has no IPv6 egress, the IPv6 checks run inside the VPC as a one-off ECS task. Writes .out/<env>/verify.json and verify.md; exits 1 when a check fails.',
  options: {
    ...environmentOptions,
    outputs: {
      type: 'string',
      valueName: 'file',
      description: "The deploy's outputs (default: .out/<env>/outputs.json).",
    },
    url: { type: 'string', valueName: 'url', description: 'Check this URL (overrides ServiceUrl).' },
    resolver: { type: 'string', valueName: 'host:port', description: 'DNS resolver ([v6]:port for IPv6).' },
    'deadline-seconds': {
      type: 'string',
      valueName: 'seconds',
      default: '180',
      description: 'One deadline for every retried check (5 to 3600).',
    },
    'in-vpc': {
      type: 'string',
      valueName: 'auto|always|never',
      default: 'auto',
      description: 'Where the IPv6 checks run: detect egress, always in the VPC, or never.',
    },
    region: { type: 'string', valueName: 'region', description: 'AWS region for the in-VPC probe.' },
  },
  examples: [
    'npm run verify -- --environment pr-12',
    'npm run verify -- --environment pr-12 --url http://app.example.com --in-vpc never',
  ],
} as const satisfies CommandSpec;

export const bootstrapCommand = {
  name: 'bootstrap',
  summary:
    'Deploy <app>-bootstrap once per account and region (admin credentials), then print the repository variables.',
  description:
    'Checks the ECS dualStackIPv6 account setting, creates or reuses the GitHub OIDC provider, and per tier a deploy role, an execution role, an artifact bucket and an ECR repository, plus the permissions boundary (docs/security.md). Explains the upgrade from the single-role stack. Sets the variables with gh when it is logged in.',
  options: {
    repository: {
      type: 'string',
      valueName: 'owner/name',
      description: 'The GitHub repository to trust (default: GITHUB_REPOSITORY, then the origin remote).',
    },
    region: {
      type: 'string',
      valueName: 'region',
      description: 'AWS region (default: AWS_REGION, then cfn/project.yml).',
    },
    'dry-run': {
      type: 'boolean',
      default: false,
      description: 'Read only: print the parameters and what would change.',
    },
    'oidc-subject-repository': {
      type: 'string',
      valueName: 'owner@id/name@id',
      description:
        "The repository in the tokens' immutable-id subject form (default: from gh when cfn/project.yml says oidcSubjectFormat: immutable).",
    },
    'timeout-minutes': {
      type: 'string',
      valueName: 'minutes',
      default: '30',
      description: 'Give up waiting for the stack after this long.',
    },
  },
  examples: [
    'npm run bootstrap -- --dry-run',
    'npm run bootstrap -- --repository octo-org/ecs-ipv6-gitops --region us-east-1',
  ],
} as const satisfies CommandSpec;

/** `npm run doctor`: the read-only preflight (scripts/lib/doctor/doctor.ts, docs/doctor.md). */
export const doctorCommand = {
  name: 'doctor',
  summary: 'Read-only preflight against the real AWS account: is it ready for the first deploy?',
  description:
    "Asks AWS, with the credentials in use: whose they are (region, tier); whether the bootstrap stack is present and current, with the OIDC provider and the roles' trust; whether each tier's deploy role allows every call the pipeline makes (iam:SimulatePrincipalPolicy, every denied action named); the ECS dualStackIPv6 account setting, the region's support for the network mode and the app's dual-stack endpoints, and the quotas a deploy would hit with their usage; the ECR repositories and artifact buckets; and, with --environment, the environment's stacks (status and gitops:* ownership tags). One line per check (✔ pass, ⚠ warning, ✖ failure with what to do); exits 1 when any check fails. Read-only, except --detect-drift: CloudFormation's DetectStackDrift starts a drift detection operation on the stacks (it changes nothing in them, but it is not a read call).",
  options: {
    environment: {
      type: 'string',
      valueName: 'key',
      description: 'Also check this environment (pr-<n>, br-<slug>, production): its tier only, its stacks.',
    },
    region: { type: 'string', description: 'AWS region (default: AWS_REGION, else cfn/project.yml).' },
    repository: {
      type: 'string',
      valueName: 'owner/name',
      description:
        'GitHub repository for the trust subjects and ownership tags (default: GITHUB_REPOSITORY, else the git remote).',
    },
    json: {
      type: 'boolean',
      default: false,
      description: 'Print the checks as one JSON document instead of lines.',
    },
    'only-before-first-deploy': {
      type: 'boolean',
      default: false,
      description:
        "With --environment: when the environment's stack exists already, say so and exit 0 without the checks (the workflows' step before every deploy).",
    },
    'detect-drift': {
      type: 'boolean',
      default: false,
      description:
        'Run CloudFormation drift detection on the environment stacks (DetectStackDrift: not read-only).',
    },
  },
  examples: [
    'npm run doctor',
    'npm run doctor -- --environment production',
    'npm run doctor -- --environment pr-12 --json',
    'npm run doctor -- --environment br-staging --detect-drift',
    'npm run doctor -- --environment pr-12 --only-before-first-deploy',
  ],
} as const satisfies CommandSpec;

export const resolveCommand = {
  name: 'resolve',
  summary: 'Map a GitHub event to an environment and an action (deploy, teardown or skip).',
  description:
    'Sets the step outputs action, environment, stack-name, kind, reason, notice, pr-number, ref and sha. Exits non-zero only for an invalid manual dispatch.',
  options: {
    'event-name': {
      type: 'string',
      valueName: 'name',
      description: 'The event name (default: GITHUB_EVENT_NAME).',
    },
    'event-path': {
      type: 'string',
      valueName: 'file',
      description: 'The event payload (default: GITHUB_EVENT_PATH).',
    },
  },
  examples: ['npm run resolve -- --event-name push --event-path event.json'],
} as const satisfies CommandSpec;

export const prCommentCommand = {
  name: 'pr-comment',
  summary: 'Write the job summary and, on previews, the sticky PR comment and the GitHub deployment.',
  description:
    'Reads .out/<env>/verify.md, changes.md and cost.md (each optional). Needs GITHUB_TOKEN unless --summary-only.',
  options: {
    environment: { type: 'string', valueName: 'key', description: 'Environment key.' },
    status: {
      type: 'string',
      valueName: 'status',
      description: 'deployed, torn-down, failed, teardown-failed or fork.',
    },
    url: { type: 'string', valueName: 'url', description: 'The service URL.' },
    sha: {
      type: 'string',
      valueName: 'sha',
      description: 'The commit (default: the PR head, then GITHUB_SHA).',
    },
    repository: { type: 'string', valueName: 'owner/name', description: 'Default: GITHUB_REPOSITORY.' },
    'summary-only': {
      type: 'boolean',
      default: false,
      description: 'Only the job summary; no GitHub API calls.',
    },
  },
  examples: ['npm run pr-comment -- --environment pr-12 --status deployed --url http://pr-12.example.com'],
} as const satisfies CommandSpec;

export const localCommand = {
  name: 'local',
  summary:
    'Rehearse the whole system on this machine: emulator, network namespaces, the real image, DNS, verify.',
  description:
    'Needs no AWS account. Stops everything it started at the end or on Ctrl-C. Writes .out/<env>/local-report.md.',
  options: {
    mode: {
      type: 'string',
      valueName: 'dualstack|ipv6-only',
      description: "Network mode (default: the environment file's).",
    },
    environment: {
      type: 'string',
      valueName: 'key',
      description: 'Environment key (default: what a push of this branch resolves to, else a preview).',
    },
    alb: {
      type: 'string',
      valueName: 'type',
      description: 'ALB address type: dualstack or dualstack-without-public-ipv4.',
    },
    loopback: { type: 'boolean', default: false, description: 'Skip network namespaces; use loopback.' },
    'no-image': {
      type: 'boolean',
      default: false,
      description: 'Run the app from its bundle, not the image.',
    },
    'app-env': {
      type: 'string',
      valueName: 'KEY=VALUE',
      multiple: true,
      description: 'Extra environment for the app, e.g. HOST=0.0.0.0 to try an IPv4-only app.',
    },
    'deadline-seconds': {
      type: 'string',
      valueName: 'seconds',
      default: '60',
      description: "Verify's deadline.",
    },
    'out-dir': { type: 'string', valueName: 'dir', description: 'Where the report goes (default .out).' },
    keep: { type: 'boolean', default: false, description: 'Stay up after the report until Ctrl-C.' },
    'ipv6-only-percent': {
      type: 'string',
      valueName: '0-100',
      description:
        'Rehearse the migration to IPv6-only at this Ipv6OnlyTrafficPercent: a second app in an IPv6-only namespace, the front door splitting by the weight, verify checking each side and the split.',
    },
    previews: {
      type: 'string',
      valueName: '2-10',
      description:
        'Rehearse this many previews (pr-1 … pr-N) at once behind one front door standing in for the shared preview edge, each verified over IPv4 and IPv6 through it.',
    },
    'preview-domain': {
      type: 'string',
      valueName: 'domain',
      description:
        'With --previews: route by host name (pr-1.<domain>); "" routes by listener port (default: cfn/environments/preview-edge.yml PreviewDomain).',
    },
  },
  examples: [
    'npm run local',
    'npm run local -- --previews 2 --preview-domain previews.example.com',
    'npm run local -- --mode ipv6-only --alb dualstack-without-public-ipv4',
    'npm run local -- --ipv6-only-percent 25 --environment br-demo',
  ],
} as const satisfies CommandSpec;

export const planCommand = {
  name: 'plan',
  summary:
    'What a deploy would do, and what it costs: environment, parameters, region check, cfn-lint, cost.',
  description:
    "Works offline. With AWS credentials it also previews a change set through the deploy's own code and deletes it, never executing it.",
  options: {
    ...environmentOptions,
    event: {
      type: 'string',
      valueName: 'push|pull_request|delete',
      description: 'Build a GitHub-like event and resolve it like the workflows do.',
    },
    ref: {
      type: 'string',
      valueName: 'ref',
      description: 'With --event push/delete: the ref, e.g. refs/heads/main.',
    },
    action: {
      type: 'string',
      valueName: 'action',
      description: 'With --event pull_request: opened, synchronize, ...',
    },
    sha: { type: 'string', valueName: 'sha', description: 'With --event: the commit.' },
    'event-name': {
      type: 'string',
      valueName: 'name',
      description: 'Resolve a real event payload (needs --event-path).',
    },
    'event-path': { type: 'string', valueName: 'file', description: 'The event payload.' },
    region: {
      type: 'string',
      valueName: 'region',
      description: 'AWS region (default: AWS_REGION, then cfn/project.yml).',
    },
    repository: {
      type: 'string',
      valueName: 'owner/name',
      description: 'For the change-set preview (default: GITHUB_REPOSITORY).',
    },
    'cfn-dir': {
      type: 'string',
      valueName: 'dir',
      description: 'Read project.yml, templates and environments/ from another directory.',
    },
    'out-dir': {
      type: 'string',
      valueName: 'dir',
      description: 'Where <key>/plan.json and <key>/cost.md go (default .out).',
    },
    json: { type: 'boolean', description: 'Print the report as JSON on stdout (progress goes to stderr).' },
    'cost-markdown': { type: 'string', valueName: 'file', description: 'Also write the cost section here.' },
    'with-aws': { type: 'boolean', description: 'Require AWS credentials for the change-set preview.' },
    offline: { type: 'boolean', description: 'Never touch AWS.' },
    'artifact-bucket': {
      type: 'string',
      valueName: 'bucket',
      description: "For the preview (default: the tier's PRODUCTION_ or NONPRODUCTION_ARTIFACT_BUCKET).",
    },
    'cfn-role-arn': {
      type: 'string',
      valueName: 'arn',
      description:
        "For the preview (default: the tier's PRODUCTION_ or NONPRODUCTION_CFN_EXECUTION_ROLE_ARN).",
    },
    'permissions-boundary-arn': {
      type: 'string',
      valueName: 'arn',
      description: 'For the preview (default: PERMISSIONS_BOUNDARY_ARN).',
    },
    'run-id': {
      type: 'string',
      valueName: 'id',
      description: 'For the change-set name (default: GITHUB_RUN_ID).',
    },
    deployed: {
      type: 'string',
      valueName: 'file',
      description:
        "Static diff against this deployed state (the deploy's .out/<env>/deployed.json); default: the stack with credentials, else .out/<env>/deployed.json.",
    },
    'image-uri': {
      type: 'string',
      valueName: 'uri',
      description: 'The image a deploy would use, for the static diff (default: the deployed image).',
    },
  },
  examples: [
    'npm run plan -- --environment pr-12',
    'npm run plan -- --event push --ref refs/heads/main',
    'npm run plan -- --environment pr-12 --cost-markdown .out/pr-12/cost.md --offline',
  ],
} as const satisfies CommandSpec;

/** Day-2 operations (docs/operations.md). */
const environmentFlag = {
  environment: {
    type: 'string',
    valueName: 'key',
    description: 'Environment key: production, br-<slug> or pr-<number>.',
  },
} as const satisfies OptionTable;

const contextFlags = {
  region: {
    type: 'string',
    valueName: 'region',
    description: 'AWS region (default: AWS_REGION, then cfn/project.yml).',
  },
  repository: {
    type: 'string',
    valueName: 'owner/name',
    description: 'GitHub repository that owns the stacks (default: GITHUB_REPOSITORY, then the git remote).',
  },
} as const satisfies OptionTable;

const text = (description: string, valueName = 'value') =>
  ({ type: 'string', description, valueName }) as const;

export const statusCommand = {
  name: 'status',
  summary:
    'Show every environment of this repository: stack, commit, tasks, target health, verification, cost.',
  description:
    'Environments are the root stacks whose ownership tags name this repository (as teardown checks them). With --environment, one environment in detail, including the ECS service events of its last deployment.',
  options: {
    ...environmentFlag,
    json: {
      type: 'boolean',
      default: false,
      description: 'Print the report as JSON on stdout (progress goes to stderr).',
    },
    ...contextFlags,
    resolve: {
      type: 'boolean',
      default: false,
      description:
        'Only check the inputs (no AWS) and set the step outputs action=status and environment, for the workflow.',
    },
  },
  examples: ['npm run status', 'npm run status -- --environment pr-12', 'npm run status -- --json'],
} as const satisfies CommandSpec;

export const logsCommand = {
  name: 'logs',
  summary: "Print the service's CloudWatch Logs; --follow keeps printing new lines until Ctrl-C.",
  description:
    'The app\'s JSON lines print as "time LEVEL [task] message key=value"; other lines as they are. --filter TEXT keeps lines containing TEXT; a value starting with {, [ or " is passed on as a CloudWatch Logs filter pattern.',
  options: {
    ...environmentFlag,
    follow: {
      type: 'boolean',
      short: 'f',
      default: false,
      description: 'Keep printing new lines until Ctrl-C.',
    },
    since: {
      type: 'string',
      valueName: 'duration',
      default: '10m',
      description: 'How far back: 30s, 10m, 2h, 1d or an ISO time.',
    },
    filter: {
      type: 'string',
      valueName: 'text',
      description: 'Only lines containing this text (or a filter pattern).',
    },
    ...contextFlags,
  },
  examples: [
    'npm run logs -- --environment pr-12',
    'npm run logs -- --environment production --follow --filter error',
    'npm run logs -- --environment br-staging --since 2h --filter \'{ $.level = "error" }\'',
  ],
} as const satisfies CommandSpec;

export const rollbackCommand = {
  name: 'rollback',
  summary: 'Redeploy an environment with the image of an earlier deployment, then verify it.',
  description:
    "The image is the previous task definition revision with another image (--to previous) or the ECR image of a commit (--to <sha>). The templates and parameters are this checkout's; only the image goes back. The stack is tagged gitops:pinned=<sha> until the next deploy; revert the commit on the branch for a lasting fix.",
  options: {
    environment: text('Environment key: production, br-<slug> or pr-<number>.', 'key'),
    to: text("'previous' or a full 40-character commit SHA.", 'sha|previous'),
    confirm: text("Must be 'production' to roll production back.", 'production'),
    'deadline-seconds': text('Verification deadline (default 180).', 'seconds'),
    'in-vpc': text('Where the IPv6 checks run: auto, always or never (default auto).', 'mode'),
    region: commonOptions.region,
    repository: commonOptions.repository,
    'role-arn': commonOptions['role-arn'],
    'cfn-role-arn': commonOptions['cfn-role-arn'],
    'artifact-bucket': commonOptions['artifact-bucket'],
    'ecr-repository': commonOptions['ecr-repository'],
    'permissions-boundary-arn': commonOptions['permissions-boundary-arn'],
    'run-id': commonOptions['run-id'],
    'timeout-minutes': commonOptions['timeout-minutes'],
    resolve: {
      type: 'boolean',
      default: false,
      description:
        'Only check the inputs (no AWS) and set the step outputs action=rollback and environment, for the workflow.',
    },
  },
  examples: [
    'npm run rollback -- --environment pr-12',
    'npm run rollback -- --environment production --to previous --confirm production',
    'npm run rollback -- --environment br-staging --to 0123456789abcdef0123456789abcdef01234567',
  ],
} as const satisfies CommandSpec;

export const cfnLintCommand = {
  name: 'cfn-lint',
  summary: 'Lint CloudFormation templates with cfn-lint: no errors and no warnings.',
  options: {},
  positionals: { name: 'TEMPLATE', description: 'Templates to lint (default: every template in cfn/).' },
  examples: ['npm run cfn-lint', 'npm run cfn-lint -- cfn/service.yml'],
} as const satisfies CommandSpec;

export const testCommand = {
  name: 'test',
  summary: 'Type-check, lint, cfn-lint and every node:test suite, ending with the summary.',
  options: {},
  positionals: { name: 'FILE', description: 'Run only these suites (the earlier stages are skipped then).' },
  examples: ['npm test', 'npm test -- tests/project/environment.test.ts'],
} as const satisfies CommandSpec;

export const sweepCommand = {
  name: 'sweep',
  summary: 'Tear down orphaned previews and branch environments; remove unused non-production image tags.',
  description:
    "Lists this repository's pr-* and br-* stacks (by their ownership tags), asks GitHub (GITHUB_TOKEN) which pull requests are open and which branches exist, and tears the rest down with the normal teardown. Production is never swept; a preview whose pull request is open is never touched; a stack this repository does not own is listed as 'not ours' and left alone. Then removes the image tags in the non-production ECR repository that no environment uses. Prints a table (environment, age, commit, status, estimated monthly cost, action) and writes the job summary. See docs/lifecycle.md.",
  options: {
    'dry-run': {
      type: 'boolean',
      default: false,
      description: 'List what would be removed; change nothing.',
    },
    region: {
      type: 'string',
      valueName: 'region',
      description: 'AWS region (default: AWS_REGION, then cfn/project.yml).',
    },
    repository: {
      type: 'string',
      valueName: 'owner/name',
      description: 'GitHub repository (default: GITHUB_REPOSITORY, then the git remote).',
    },
    'ecr-repository': {
      type: 'string',
      valueName: 'name',
      description:
        'The non-production ECR repository to clean (default: NONPRODUCTION_ECR_REPOSITORY, then cfn/project.yml).',
    },
    'cfn-role-arn': {
      type: 'string',
      valueName: 'arn',
      description:
        'CloudFormation service role for the deletes (default: NONPRODUCTION_CFN_EXECUTION_ROLE_ARN).',
    },
    'timeout-minutes': {
      type: 'string',
      valueName: 'minutes',
      default: '50',
      description: 'Deadline of each teardown.',
    },
    'image-grace-hours': {
      type: 'string',
      valueName: 'hours',
      default: '24',
      description: 'Keep unused images pushed more recently than this (a build pushes before its deploy).',
    },
  },
  examples: ['npm run sweep -- --dry-run', 'GITHUB_TOKEN=$(gh auth token) npm run sweep'],
} as const satisfies CommandSpec;

export const cliReferenceCommand = {
  name: 'cli-reference',
  summary: 'Regenerate docs/cli.md from these option tables.',
  options: {},
  examples: ['npm run cli-reference'],
} as const satisfies CommandSpec;

/** Every command, in the order docs/cli.md lists them. */
export const commands: readonly CommandSpec[] = [
  deployCommand,
  teardownCommand,
  buildPushCommand,
  verifyCommand,
  planCommand,
  statusCommand,
  logsCommand,
  rollbackCommand,
  localCommand,
  bootstrapCommand,
  doctorCommand,
  resolveCommand,
  prCommentCommand,
  cfnLintCommand,
  testCommand,
  sweepCommand,
  cliReferenceCommand,
];
