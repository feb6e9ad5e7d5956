import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { awsErrorName, UserError } from './errors.ts';

/**
 * Packaging for the plan's change-set preview: upload each locally referenced child template
 * under a content-hash key and rewrite its `TemplateURL` to the S3 HTTPS URL, like
 * `aws cloudformation package`. Same layout as the deploy script, so identical templates
 * share objects. Text-level rewrite keeps the YAML short-form tags untouched.
 */

const LOCAL_TEMPLATE_URL = /^(\s*TemplateURL:\s*)(['"]?)(\.{1,2}\/[^'"\s#]+)\2(\s*(?:#.*)?)$/gm;

/** Paths of the local child templates a template references (relative `TemplateURL`). Pure. */
export function localTemplateUrls(text: string): string[] {
  return [...text.matchAll(LOCAL_TEMPLATE_URL)].map((m) => m[3] ?? '');
}

/** Replace local `TemplateURL`s using `urlFor(relativePath)`. Pure. */
export function rewriteTemplateUrls(text: string, urlFor: (relativePath: string) => string): string {
  return text.replace(
    LOCAL_TEMPLATE_URL,
    (_all, head: string, _q: string, path: string, tail: string) => `${head}${urlFor(path)}${tail}`,
  );
}

export function s3HttpsUrl(bucket: string, region: string, key: string): string {
  return `https://${bucket}.s3.${region}.amazonaws.com/${key}`;
}

export interface PackageOptions {
  bucket: string;
  region: string;
  /** Key prefix (default `templates/`). */
  prefix?: string;
  log?: (message: string) => void;
}

/**
 * Upload `templatePath` and its children; return the parent's S3 HTTPS URL for
 * CreateChangeSet. Objects already present (same hash) are not uploaded again.
 */
export async function packageTemplate(
  s3: S3Client,
  templatePath: string,
  options: PackageOptions,
): Promise<string> {
  const prefix = options.prefix ?? 'templates/';
  const upload = async (path: string): Promise<string> => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UserError(
        `Cannot read template ${path}.`,
        'Check the TemplateURL paths in the parent template.',
        {
          cause: error,
        },
      );
    }
    const children = new Map<string, string>();
    for (const relative of localTemplateUrls(text)) {
      children.set(relative, await upload(resolve(dirname(path), relative)));
    }
    const body = rewriteTemplateUrls(text, (relative) => children.get(relative) ?? relative);
    const key = `${prefix}${createHash('sha256').update(body).digest('hex')}.yml`;
    const exists = await s3
      .send(new HeadObjectCommand({ Bucket: options.bucket, Key: key }))
      .then(() => true)
      .catch((error: unknown) => {
        if (awsErrorName(error) === 'NotFound' || awsErrorName(error) === 'NoSuchKey') return false;
        throw error;
      });
    if (!exists) {
      await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: body }));
      options.log?.(`Uploaded ${path} to s3://${options.bucket}/${key}`);
    }
    return s3HttpsUrl(options.bucket, options.region, key);
  };
  return upload(templatePath);
}
