import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderJsonSchemas } from '../../../lib/events/json-schemas.js';

const root = join(import.meta.dirname, '..', '..', '..');

describe('exported JSON Schemas', () => {
  it.each(Object.keys(renderJsonSchemas()))(
    'schemas/%s matches the zod schema (run `npm run schemas` when this fails)',
    (file) => {
      // Prepare
      const expected = renderJsonSchemas()[file];
      // Act
      const onDisk = readFileSync(join(root, 'schemas', file), 'utf8');
      // Assess
      expect(onDisk).toBe(expected);
    },
  );

  it('describes the config with its defaults so editors can complete it', () => {
    const schema = JSON.parse(renderJsonSchemas()['config.schema.json'] as string);
    expect(schema.required).toEqual(['cluster']);
    expect(schema.properties.limits.properties.maxNodes.default).toBe(5);
    expect(schema.properties.scaleIn.properties.emptyAfterSeconds.default).toBe(600);
  });
});
