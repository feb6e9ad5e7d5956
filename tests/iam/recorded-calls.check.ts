import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tier } from '../../scripts/lib/project/environment.ts';
import { deployRolePermissions } from '../../scripts/lib/project/permissions.ts';
import type { RecordedCall } from '../support/aws-calls.ts';
import { proofModels } from './support/bootstrap-model.ts';
import { decide, describeRequest, type IamRequest } from './support/engine.ts';
import { matchesPattern } from './support/oidc-trust.ts';
import { contextFor, type Mapped, requestsOf, sampleOf, TIERS, tierSignal } from './support/requests.ts';

// Run by `npm test` after every suite has finished (scripts/test.ts), on the calls the
// suites' processes recorded (tests/support/aws-calls.ts). Each call the pipeline made must be
// (a) in deployRolePermissions for the tier that makes it and (b) allowed by the engine for
// that tier's deploy role in the bootstrap under proof.

/**
 * `npm run bootstrap` is run by an administrator with their own credentials. Its stack deploys
 * through stack-deploy.ts like every other: a call counts as the bootstrap's when bootstrap.ts
 * is anywhere on its stack, not only the nearest frame.
 */
const ADMIN_ONLY = ['scripts/lib/deploy/bootstrap.ts'];
const isAdminOnly = (call: RecordedCall) =>
  [call.caller, ...(call.via ?? [])].some((frame) => ADMIN_ONLY.some((file) => frame.startsWith(file)));

function loadCalls(directory: string): RecordedCall[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) =>
      readFileSync(join(directory, name), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RecordedCall),
    );
}

describe('recorded AWS calls of the pipeline', () => {
  const directory = process.env.IAM_PROOF_RECORDINGS;

  it('were recorded by this run of npm test', () => {
    assert.ok(
      directory && existsSync(directory),
      'IAM_PROOF_RECORDINGS is not set: run this check through npm test, which records the calls of every suite first.',
    );
  });
  if (!directory || !existsSync(directory)) return;

  const all = loadCalls(directory);
  const calls = all.filter((call) => !isAdminOnly(call));

  for (const model of proofModels()) {
    it(`are each listed for and allowed to their tier's deploy role in ${model.label}`, async (t) => {
      const listedIn = (tier: Tier, action: string, resource: string) =>
        deployRolePermissions(tier, model.scope).some(
          (e) => e.action === action && (e.resource === '*' || matchesPattern(e.resource, resource)),
        );
      const problems = new Set<string>();
      const checked = new Set<string>();
      let synthetic = 0;
      for (const call of calls) {
        const where = `${call.service} ${call.operation} from ${call.caller} (${call.file})`;
        const perTier = TIERS.map((tier) => ({ tier, mapped: requestsOf(call, model, tier) }));
        if (perTier.some(({ mapped }) => mapped.kind === 'no-permission')) continue;
        // A call that names its environment is checked for that tier; one that does not (an
        // artifact upload, an ECR login) for every tier whose list covers it: at least one must.
        const covers = (tier: Tier, mapped: Mapped) =>
          mapped.kind === 'synthetic'
            ? deployRolePermissions(tier, model.scope).some((e) => e.action === mapped.action)
            : mapped.kind === 'requests' && mapped.requests.some((r) => listedIn(tier, r.action, r.resource));
        const signal = tierSignal(call);
        const chosen = signal
          ? perTier.filter(({ tier }) => tier === signal)
          : perTier.filter(({ tier, mapped }) => covers(tier, mapped));
        if (chosen.length === 0) {
          const first = perTier[0]?.mapped;
          const name =
            first?.kind === 'synthetic'
              ? first.action
              : first?.kind === 'requests'
                ? first.requests[0]?.action
                : '?';
          problems.add(
            `${where}: ${name} is not in deployRolePermissions for any tier (scripts/lib/project/permissions.ts)`,
          );
          continue;
        }
        for (const { tier, mapped } of chosen) {
          let requests: IamRequest[] = [];
          if (mapped.kind === 'synthetic') {
            // A made-up name (a unit test's 's', 'app:3'): check the action on the list's own resources.
            synthetic++;
            const entries = deployRolePermissions(tier, model.scope).filter(
              (e) => e.action === mapped.action,
            );
            if (entries.length === 0) {
              problems.add(
                `${where}: ${mapped.action} is not in deployRolePermissions('${tier}') (${mapped.reason})`,
              );
            }
            requests = entries.map((e) =>
              contextFor(model, tier, { action: e.action, resource: sampleOf(model, tier, e.resource) }),
            );
          } else if (mapped.kind === 'requests') {
            requests = mapped.requests;
          }
          for (const request of requests) {
            const key = `${tier} ${request.action} ${request.resource} ${JSON.stringify(request.context ?? {})}`;
            if (checked.has(key)) continue;
            checked.add(key);
            if (!listedIn(tier, request.action, request.resource)) {
              problems.add(
                `${where}: ${request.action} on ${request.resource} is not in deployRolePermissions('${tier}') (scripts/lib/project/permissions.ts)`,
              );
            }
            const role = model.tiers[tier].deployRole;
            const decision = await decide(model, role, request);
            if (decision !== 'Allowed') {
              problems.add(`${where}: ${decision} for ${tier} — ${describeRequest(role, request)}`);
            }
          }
        }
      }
      const distinct = new Set(calls.map((c) => `${c.service}:${c.operation}`));
      t.diagnostic(
        `recorded AWS calls: ${all.length} in total (${all.length - calls.length} by the admin-only bootstrap, left out); ${calls.length} pipeline calls, ${distinct.size} distinct operations; ${checked.size} distinct IAM requests checked; ${synthetic} calls on made-up names checked by action`,
      );
      assert.deepEqual([...problems].sort(), []);
    });
  }
});
