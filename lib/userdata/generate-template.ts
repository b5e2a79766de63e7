/**
 * Regenerates `lib/userdata/template.generated.ts` from `userdata/bootstrap.sh.tpl`.
 * Run: `npx tsx lib/userdata/generate-template.ts`. A unit test fails when they differ.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { GENERATED_TEMPLATE_PATH, generatedModuleSource, readBootstrapTemplate } from './template-file.js';

writeFileSync(GENERATED_TEMPLATE_PATH, generatedModuleSource(readBootstrapTemplate()));
// Keep the file as Biome would format it, so `npm run lint` stays clean after regenerating.
execFileSync('npx', ['biome', 'format', '--write', GENERATED_TEMPLATE_PATH], { stdio: 'inherit' });
console.log(`wrote ${GENERATED_TEMPLATE_PATH}`);
