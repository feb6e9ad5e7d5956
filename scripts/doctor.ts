/**
 * `npm run doctor -- [--environment K] [--json] [--detect-drift]`: a read-only preflight
 * against the real account; see docs/doctor.md.
 */
import { type CommandSpec, main } from './lib/cli.ts';
import { doctorCommand } from './lib/doctor.ts';

export const spec = {
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
} satisfies CommandSpec;

await main(spec, (values, { ui, signal }) => doctorCommand(values, { ui, signal }));
