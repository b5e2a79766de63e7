/**
 * The template on disk, located relative to this module. The renderer does not use it (it
 * uses the generated constant, which survives bundling); the generator and the staleness test
 * do.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of `userdata/bootstrap.sh.tpl` in a source checkout. */
export const BOOTSTRAP_TEMPLATE_PATH = fileURLToPath(
  new URL('../../userdata/bootstrap.sh.tpl', import.meta.url),
);

/** Absolute path of the generated constant module beside this file. */
export const GENERATED_TEMPLATE_PATH = fileURLToPath(new URL('./template.generated.ts', import.meta.url));

export function readBootstrapTemplate(): string {
  return readFileSync(BOOTSTRAP_TEMPLATE_PATH, 'utf8');
}

/** Source text of `template.generated.ts` for a template. */
export function generatedModuleSource(template: string): string {
  return [
    '// Generated from userdata/bootstrap.sh.tpl by lib/userdata/generate-template.ts. Do not edit:',
    '// change the .tpl, then run `npx tsx lib/userdata/generate-template.ts`.',
    '',
    '/** The node bootstrap template, bundled as a string so the launch Lambda needs no file. */',
    'export const BOOTSTRAP_TEMPLATE: string =',
    '  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash source, not a JS template',
    `  ${JSON.stringify(template)};`,
    '',
  ].join('\n');
}
