import * as z from 'zod';
import { Config } from './config.js';
import { FleetState } from './fleet.js';
import { Plan } from './plan.js';
import { ClusterSnapshot } from './snapshot.js';

/** The schemas exported to `schemas/` for users and other tools, by file name. */
export const EXPORTED_SCHEMAS = {
  'config.schema.json': { schema: Config, io: 'input', title: 'k3s-burst config (k3s-burst.config.json)' },
  'snapshot.schema.json': {
    schema: ClusterSnapshot,
    io: 'input',
    title: 'k3s-burst ClusterSnapshot event detail',
  },
  'fleet.schema.json': {
    schema: FleetState,
    io: 'input',
    title: 'k3s-burst fleet state (plan --fleet file)',
  },
  'plan.schema.json': { schema: Plan, io: 'output', title: 'k3s-burst plan (output of k3s-burst plan)' },
} as const;

/** Render every exported schema as pretty JSON text, keyed by file name. Deterministic. */
export function renderJsonSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, { schema, io, title }] of Object.entries(EXPORTED_SCHEMAS)) {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
      string,
      unknown
    >;
    out[file] =
      `${JSON.stringify({ ...json, $id: `https://k3s-burst.dev/schemas/${file}`, title }, null, 2)}\n`;
  }
  return out;
}
