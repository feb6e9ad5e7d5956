import {
  DeleteParameterCommand,
  GetParameterCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { awsErrorName } from '../core/errors.ts';
import type { VerifyReport } from './verify-report.ts';

/**
 * The last verification result of an environment, kept where `npm run status` can read it
 * from any machine: one Standard-tier SSM parameter per environment, `/<app>/<env>/last-verification`.
 *
 * Why SSM and not a stack tag or an S3 object: a stack tag can only change through a stack
 * update (a verify must not update the stack it verifies); the artifact bucket's name is not
 * known to the verify job, while the parameter name follows from the app and the environment.
 * Standard parameters cost nothing to store ("Standard parameters: No additional charge",
 * AWS Systems Manager pricing) and hold up to 4 KB, so the record is a short summary, not the
 * report (that stays in `.out/<env>/verify.json`). The deploy role needs ssm:PutParameter,
 * ssm:GetParameter and ssm:DeleteParameter on `parameter/<app>/*` only.
 */

export interface VerificationRecord {
  ok: boolean;
  /** When verify finished (ISO 8601). */
  at: string;
  url: string;
  checks: number;
  failed: number;
  /** The first few failed checks, cut to fit the 4 KB limit. */
  failures: string[];
  /** The commit that was verified (GITHUB_SHA), when known. */
  commit?: string;
}

/** `/ipv6demo/pr-12/last-verification`. Pure. */
export function verificationParameterName(app: string, environment: string): string {
  return `/${app}/${environment}/last-verification`;
}

/** The record for a finished report. Pure. */
export function recordFromReport(report: VerifyReport, at: Date, commit?: string): VerificationRecord {
  const failures = report.failures.slice(0, 5).map((f) => (f.length > 300 ? `${f.slice(0, 297)}...` : f));
  return {
    ok: report.ok,
    at: at.toISOString(),
    url: report.url,
    checks: report.checks.length,
    failed: report.failures.length,
    failures,
    ...(commit && /^[0-9a-f]{40}$/.test(commit) ? { commit } : {}),
  };
}

export async function writeVerificationRecord(
  ssm: SSMClient,
  name: string,
  record: VerificationRecord,
): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: JSON.stringify(record),
      Type: 'String',
      Tier: 'Standard',
      Overwrite: true,
      Description: 'Last npm run verify result (written by verify, read by status)',
    }),
  );
}

/** The record, or undefined when verify never recorded one (or it is not a record). */
export async function readVerificationRecord(
  ssm: SSMClient,
  name: string,
): Promise<VerificationRecord | undefined> {
  try {
    const response = await ssm.send(new GetParameterCommand({ Name: name }));
    const value = JSON.parse(response.Parameter?.Value ?? 'null') as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as Partial<VerificationRecord>;
    return typeof record.ok === 'boolean' && typeof record.at === 'string'
      ? (record as VerificationRecord)
      : undefined;
  } catch (error) {
    if (awsErrorName(error) === 'ParameterNotFound') return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Remove the record (teardown); true when there was one. */
export async function deleteVerificationRecord(ssm: SSMClient, name: string): Promise<boolean> {
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    return true;
  } catch (error) {
    if (awsErrorName(error) === 'ParameterNotFound') return false;
    throw error;
  }
}
