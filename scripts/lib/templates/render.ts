import { UserError } from '../core/errors.ts';
import { renderTemplate } from './render-template.ts';
import type { Template } from './templates.ts';

/**
 * Render a template as CloudFormation would see it for given parameter values: the
 * structural tests, `plan` and `local` reason about ONE network mode at a time, without
 * re-implementing condition logic in each place. Pure. `renderTemplate` (render/template.ts)
 * evaluates conditions and rules; `resolveTemplate` (render/resolve.ts) resolves every
 * intrinsic; `renderTree` renders a parent and its nested stacks.
 */

export {
  type PhysicalNamer,
  type PhysicalResource,
  type PseudoParameters,
  resolveTemplate,
} from './render-resolve.ts';
export { renderTemplate } from './render-template.ts';

/** One nested stack of a rendered tree: its template file and the values the parent passed. */
export interface RenderedChild {
  /** Path of the child template, resolved against the parent's directory. */
  path: string;
  template: Template;
  parameters: Record<string, string>;
}

export interface RenderedTree {
  parent: Template;
  /** By the parent's logical id (`Network`, `Cluster`, `Service`); absent when its condition is false. */
  children: Record<string, RenderedChild>;
}

/**
 * Render a parent and every nested stack it creates for `parameters`. Children receive the
 * values the parent passes; values only known at deploy time (another stack's outputs,
 * `Fn::GetAtt`) come from `deployTimeValues` by child parameter name.
 * @throws UserError naming a child parameter that has neither a literal value nor a deploy-time value.
 */
export function renderTree(
  parent: Template,
  parameters: Record<string, string>,
  readChild: (templateUrl: string) => { path: string; template: Template },
  deployTimeValues: Record<string, string> = {},
): RenderedTree {
  const rendered = renderTemplate(parent, parameters);
  const children: Record<string, RenderedChild> = {};
  for (const [logicalId, resource] of Object.entries(rendered.Resources)) {
    if (resource.Type !== 'AWS::CloudFormation::Stack') continue;
    const url = resource.Properties?.TemplateURL;
    if (typeof url !== 'string') continue;
    const passed = (resource.Properties?.Parameters ?? {}) as Record<string, unknown>;
    const values = Object.fromEntries(
      Object.entries(passed).map(([name, value]) => {
        if (typeof value === 'string' || typeof value === 'number') return [name, String(value)];
        if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [name, value.join(',')];
        const known = deployTimeValues[name];
        if (known === undefined) {
          throw new UserError(
            `Cannot render nested stack ${logicalId}: parameter '${name}' is only known at deploy time.`,
            'Pass a deploy-time value for it.',
          );
        }
        return [name, known];
      }),
    );
    const child = readChild(url);
    children[logicalId] = {
      path: child.path,
      template: renderTemplate(child.template, values),
      parameters: values,
    };
  }
  return { parent: rendered, children };
}
