import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CST, Lexer, stringify } from 'yaml';
import { awsErrorName, UserError } from '../core/errors.ts';
import { parseTemplate, repoRelative, type Template } from './templates.ts';

/**
 * Packaging, like `aws cloudformation package`: nested stacks reference their children by
 * local path; CloudFormation needs S3 URLs. Children are uploaded under content-hash keys
 * (an unchanged child is never uploaded twice, and an unchanged tree yields a byte-identical
 * root template, which lets deploy detect "no changes" cheaply).
 */

/**
 * CloudFormation's limit for an inline TemplateBody ("TemplateBody ... Maximum length of 51,200",
 * CreateChangeSet in the AWS CloudFormation API Reference); larger roots go through S3 too.
 */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

/**
 * A template as the smallest body CloudFormation accepts: compact JSON (CloudFormation reads
 * JSON and YAML alike), with comments and indentation gone and the short-form tags written as
 * their Fn:: forms. For a template that must go inline, with no bucket to upload it to yet
 * (the bootstrap creates the buckets). Throws, naming the sizes, when even that is too large.
 */
export function inlineTemplateBody(text: string, source: string): string {
  return compactBody(parseTemplate(text, source), source);
}

/** inlineTemplateBody for a template already parsed. */
function compactBody(template: Template, source: string): string {
  const body = JSON.stringify(template);
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_TEMPLATE_BODY_BYTES)
    throw new UserError(
      `${source} is ${bytes.toLocaleString('en-US')} bytes as compact JSON, over CloudFormation's inline TemplateBody limit of ${MAX_TEMPLATE_BODY_BYTES.toLocaleString('en-US')}.`,
      'Shorten it (descriptions, repeated statements), or split it into nested stacks.',
    );
  return body;
}

/**
 * A template that must go inline with no bucket (the bootstrap creates the buckets), packaged
 * as compact JSON (inlineTemplateBody). It may not reference local nested templates: those
 * would need a bucket to be uploaded to.
 * @throws UserError naming the nested stacks, or the sizes when even compact JSON is too large.
 */
export function packageInline(
  path: string,
  text: string = readTemplate(path, undefined, 'Run from a checkout of this repository.'),
): PackagedTemplate {
  const source = repoRelative(resolve(path));
  const template = parseTemplate(text, source);
  const nested = localTemplateReferences(template);
  if (nested.length > 0)
    throw new UserError(
      `${source} has nested stacks with local TemplateURLs (${nested.map((n) => n.logicalId).join(', ')}), which need an artifact bucket to be uploaded to.`,
      'Deploy it with an artifact bucket, or inline the nested stacks into it.',
    );
  return {
    body: compactBody(template, source),
    uploaded: [],
    reused: [],
    capabilities: requiredCapabilities([template]),
  };
}

export interface LocalTemplateReference {
  logicalId: string;
  /** The TemplateURL as written (a relative or absolute local path). */
  path: string;
}

const REMOTE_URL = /^(https?|s3):\/\//i;

/**
 * Whether YAML `text` uses an alias (`*name`). CloudFormation rejects templates with aliases
 * ("YAML aliases are not allowed in CloudFormation templates"); like `aws cloudformation
 * package` (aws-cli pull request 3827), packaging writes such a template out with each alias
 * expanded, so a template can share one block (e.g. a container health check). Pure.
 */
export function usesYamlAliases(text: string): boolean {
  for (const token of new Lexer().lex(text)) if (CST.tokenType(token) === 'alias') return true;
  return false;
}

/** Nested stacks of `template` whose TemplateURL is a local path. Pure. */
export function localTemplateReferences(template: Template): LocalTemplateReference[] {
  const references: LocalTemplateReference[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::CloudFormation::Stack') continue;
    const url = resource.Properties?.TemplateURL;
    if (typeof url === 'string' && !REMOTE_URL.test(url)) references.push({ logicalId, path: url });
  }
  return references;
}

/** A copy of `template` with nested TemplateURLs replaced per `urls` (logical id → URL). Pure. */
export function rewriteTemplateUrls(template: Template, urls: Record<string, string>): Template {
  const resources: Template['Resources'] = {};
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const url = urls[logicalId];
    resources[logicalId] =
      url === undefined
        ? resource
        : { ...resource, Properties: { ...resource.Properties, TemplateURL: url } };
  }
  return { ...template, Resources: resources };
}

/** The virtual-hosted S3 URL CloudFormation (and moto) fetch nested templates from. Pure. */
export function s3TemplateUrl(bucket: string, region: string, key: string): string {
  return `https://${bucket}.s3.${region}.amazonaws.com/${key}`;
}

/** Content-addressed key of a template body. Pure. */
export function templateKey(body: string): string {
  return `templates/${createHash('sha256').update(body, 'utf8').digest('hex')}.yml`;
}

/** Capabilities a template tree needs: IAM always, NAMED_IAM for named IAM resources, AUTO_EXPAND for transforms. Pure. */
export function requiredCapabilities(templates: Template[]): string[] {
  const capabilities = new Set(['CAPABILITY_IAM']);
  const nameProperties = ['RoleName', 'UserName', 'GroupName', 'ManagedPolicyName', 'InstanceProfileName'];
  for (const template of templates) {
    if (template.Transform !== undefined) capabilities.add('CAPABILITY_AUTO_EXPAND');
    for (const resource of Object.values(template.Resources ?? {})) {
      if (!resource.Type.startsWith('AWS::IAM::')) continue;
      if (nameProperties.some((name) => resource.Properties?.[name] !== undefined)) {
        capabilities.add('CAPABILITY_NAMED_IAM');
      }
    }
  }
  return [...capabilities].sort();
}

export interface PackagedTemplate {
  /** The root template's text after rewriting (what CloudFormation will see). */
  body: string;
  /** Set when the root went to S3 (too large for TemplateBody, or `rootToS3`). */
  templateUrl?: string;
  /** S3 keys written by this run. */
  uploaded: string[];
  /** S3 keys that already held the same content. */
  reused: string[];
  capabilities: string[];
}

export interface PackageOptions {
  s3: S3Client;
  /** Artifact bucket; required only when the tree has nested local templates or a large root. */
  bucket: string | undefined;
  region: string;
  /** Also upload the root and return its URL (default: only when over MAX_TEMPLATE_BODY_BYTES). */
  rootToS3?: boolean;
  log?: (message: string) => void;
}

/**
 * Upload every local nested template under `path` (recursively: children may nest further)
 * and return the rewritten root. Siblings upload in parallel; a key that already exists
 * (HeadObject) is not uploaded again.
 */
export async function packageTemplate(path: string, options: PackageOptions): Promise<PackagedTemplate> {
  const uploaded: string[] = [];
  const reused: string[] = [];
  const parsed: Template[] = [];
  const inFlight = new Map<string, Promise<string>>();

  const requireBucket = (why: string): string => {
    if (options.bucket) return options.bucket;
    throw new UserError(
      `${why}, but no artifact bucket is configured.`,
      'Set ARTIFACT_BUCKET (the bootstrap stack output ArtifactBucketName) or pass --artifact-bucket.',
    );
  };

  const upload = async (body: string): Promise<string> => {
    const bucket = requireBucket('Nested templates must be uploaded to S3');
    const key = templateKey(body);
    let pending = inFlight.get(key);
    if (pending === undefined) {
      pending = (async () => {
        if (await objectExists(options.s3, bucket, key)) {
          reused.push(key);
        } else {
          await options.s3.send(
            new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/x-yaml' }),
          );
          uploaded.push(key);
          options.log?.(`uploaded s3://${bucket}/${key}`);
        }
        return s3TemplateUrl(bucket, options.region, key);
      })();
      inFlight.set(key, pending);
    }
    return pending;
  };

  const render = async (file: string, chain: string[]): Promise<string> => {
    if (chain.includes(file)) {
      throw new UserError(`Nested templates form a cycle: ${[...chain, file].join(' → ')}.`);
    }
    const text = readTemplate(file, chain.at(-1));
    const template = parseTemplate(text, repoRelative(file));
    parsed.push(template);
    const references = localTemplateReferences(template);
    if (references.length === 0 && !usesYamlAliases(text)) return text;
    const urls: Record<string, string> = {};
    await Promise.all(
      references.map(async (reference) => {
        const childBody = await render(resolve(dirname(file), reference.path), [...chain, file]);
        urls[reference.logicalId] = await upload(childBody);
      }),
    );
    return stringify(rewriteTemplateUrls(template, urls), { lineWidth: 0, aliasDuplicateObjects: false });
  };

  const body = await render(resolve(path), []);
  const result: PackagedTemplate = { body, uploaded, reused, capabilities: requiredCapabilities(parsed) };
  if (options.rootToS3 || Buffer.byteLength(body, 'utf8') > MAX_TEMPLATE_BODY_BYTES) {
    result.templateUrl = await upload(body);
  }
  return result;
}

function readTemplate(
  file: string,
  referencedBy?: string,
  hint = 'TemplateURL paths are relative to the template that references them.',
): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(
      `Cannot read template ${file}${referencedBy ? ` (referenced by ${referencedBy})` : ''}.`,
      hint,
      { cause: error },
    );
  }
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const name = awsErrorName(error);
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (name === 'NotFound' || name === 'NoSuchKey' || status === 404) return false;
    if (name === 'NoSuchBucket') {
      throw new UserError(
        `Artifact bucket '${bucket}' does not exist.`,
        'Deploy cfn/bootstrap/bootstrap.yml (npm run bootstrap) or fix ARTIFACT_BUCKET.',
        { cause: error },
      );
    }
    throw error;
  }
}
