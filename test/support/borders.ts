/**
 * The folder borders of the code base as data: which folder may import which, and which
 * packages. `test/unit/architecture/borders.test.ts` checks the real import graph against it
 * (and docs/architecture.md's table against it), so a border is enforced, not documented.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** A folder with one rule. Files are assigned to the most specific zone that contains them. */
export type Zone =
  | 'lib/events'
  | 'lib/core'
  | 'lib/system'
  | 'lib/control'
  | 'lib/aws'
  | 'lib/tailscale'
  | 'lib/userdata'
  | 'lib/agent'
  | 'lib/sim'
  | 'lib/sim/world'
  | 'lib/infra'
  | 'lib/ops'
  | 'lib/cli'
  | 'lambdas'
  | 'bin';

export interface Border {
  /** Other zones this zone may import (its own zone is always allowed). */
  zones: Zone[];
  /** Packages it may import: exact names, or a prefix ending in `*` (`@aws-sdk/*`, `node:*`). */
  packages: string[];
  /** Single files of other zones it may import although their zone is not allowed, with why. */
  files?: Record<string, string>;
}

/** Why each border exists is in docs/architecture.md ("Layout and borders"). */
export const BORDERS: Record<Zone, Border> = {
  // Pure leaves: no I/O, no SDKs. zlib is computation (the snapshot wire codec).
  'lib/events': { zones: [], packages: ['zod', 'node:zlib'] },
  'lib/core': { zones: ['lib/events'], packages: ['zod', 'cron-parser'] },
  // The real clock behind lib/core's Clock: the one shared module that reads the wall clock.
  'lib/system': { zones: ['lib/core'], packages: [] },
  // Orchestration over ports: never an adapter, an SDK or the environment.
  'lib/control': { zones: ['lib/core', 'lib/events', 'lib/userdata'], packages: ['zod'] },
  'lib/aws': { zones: ['lib/core', 'lib/events', 'lib/system'], packages: ['@aws-sdk/*', 'zod', 'node:*'] },
  'lib/tailscale': { zones: ['lib/core', 'lib/system'], packages: ['zod'] },
  'lib/userdata': { zones: ['lib/core', 'lib/events'], packages: ['node:*'] },
  'lib/agent': {
    zones: ['lib/core', 'lib/events', 'lib/aws', 'lib/system'],
    packages: ['@kubernetes/client-node', 'zod', 'node:*'],
  },
  'lib/sim': {
    zones: ['lib/core', 'lib/events', 'lib/control', 'lib/agent', 'lib/sim/world'],
    packages: ['zod', 'node:*'],
  },
  // The agent's port types: world models of its AWS ports implement them.
  'lib/sim/world': {
    zones: ['lib/core', 'lib/events', 'lib/agent', 'lib/system'],
    packages: ['zod'],
    files: {
      'lib/aws/offerings.ts': 'the fleet model orders offerings exactly as the EC2 adapter does (pure)',
      'lib/infra/event-patterns.ts': 'the bus model routes with the rules the stack synthesizes (pure data)',
    },
  },
  // The user-data size check of synth renders with the launch's renderer (lib/userdata, pure).
  'lib/infra': {
    zones: ['lib/events', 'lib/userdata'],
    packages: ['aws-cdk-lib', 'constructs', 'cdk-nag', 'node:*'],
  },
  'lib/ops': {
    zones: ['lib/aws', 'lib/core', 'lib/events', 'lib/system', 'lib/tailscale'],
    packages: ['@aws-sdk/*', 'node:*'],
    files: { 'lib/cli/io.ts': 'the CliIo type the checks write to' },
  },
  'lib/cli': {
    zones: ['lib/agent', 'lib/aws', 'lib/core', 'lib/events', 'lib/ops', 'lib/sim', 'lib/userdata'],
    packages: ['node:*'],
  },
  // Thin handlers: parse, one use-case call, result. Never the simulator, the CLI or CDK.
  lambdas: {
    zones: ['lib/aws', 'lib/control', 'lib/core', 'lib/events', 'lib/system', 'lib/tailscale'],
    packages: ['@aws-lambda-powertools/*', '@aws-sdk/*', '@middy/*', 'aws-lambda', 'zod', 'node:*'],
  },
  bin: {
    zones: ['lib/cli', 'lib/infra', 'lib/agent', 'lib/events'],
    packages: ['aws-cdk-lib', 'cdk-nag', 'tsx', 'node:*'],
  },
};

/** Files that are build scripts, not code that ships: they may also read and write files. */
export const SCRIPT_FILES: Record<string, string[]> = {
  'lib/events/export-schemas.ts': ['node:fs', 'node:path', 'node:url'],
};

/** The zone of a repo-relative path, or undefined when it is outside every zone. */
export function zoneOf(path: string): Zone | undefined {
  const zones = Object.keys(BORDERS) as Zone[];
  let best: Zone | undefined;
  for (const z of zones) {
    if ((path === z || path.startsWith(`${z}/`)) && (!best || z.length > best.length)) best = z;
  }
  return best;
}

export interface ImportEdge {
  /** Repo-relative file that imports. */
  from: string;
  /** Repo-relative file imported (`.ts`), or the package name (`@scope/name`, `name`, `node:x`). */
  to: string;
  kind: 'file' | 'package';
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Package name of a bare specifier: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(spec: string): string {
  if (spec.startsWith('node:')) return spec.split('/')[0] as string;
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

/** Every static and dynamic import of one source file. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const out: ImportEdge[] = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    const spec = (m[1] ?? m[2]) as string;
    if (spec.startsWith('.')) {
      const to = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
      out.push({ from: file, to, kind: 'file' });
    } else out.push({ from: file, to: packageOf(spec), kind: 'package' });
  }
  return out;
}

function allowsPackage(patterns: string[], pkg: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? pkg.startsWith(p.slice(0, -1)) : p === pkg));
}

/** Every import that crosses a border, as `from → to: why`. Empty when the graph respects them. */
export function borderViolations(edges: ImportEdge[], borders: Record<Zone, Border> = BORDERS): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const zone = zoneOf(e.from);
    if (!zone) continue;
    const b = borders[zone];
    if (e.kind === 'package') {
      if (allowsPackage(b.packages, e.to) || SCRIPT_FILES[e.from]?.includes(e.to)) continue;
      out.push(
        `${e.from} → package ${e.to}: ${zone} may import only ${b.packages.join(', ') || 'no package'}`,
      );
      continue;
    }
    const target = zoneOf(e.to);
    if (!target || target === zone || b.zones.includes(target) || b.files?.[e.to] !== undefined) continue;
    out.push(
      `${e.from} → ${e.to}: ${zone} may not import ${target} (allowed: ${b.zones.join(', ') || 'none'})`,
    );
  }
  return out;
}

/** Fakes belong in test/support, or in lib/sim/world when the simulator's world needs them. */
export function misplacedFakes(files: Array<{ path: string; source: string }>): string[] {
  return files
    .filter((f) => zoneOf(f.path) !== 'lib/sim/world' && /\bexport class Fake[A-Z]\w*/.test(f.source))
    .map((f) => `${f.path} exports a Fake class: move it to test/support or lib/sim/world`);
}

/** The TypeScript sources under the zones' roots (lib, lambdas, bin), repo-relative. */
export function sourceFiles(repo: string): Array<{ path: string; source: string }> {
  const out: Array<{ path: string; source: string }> = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        out.push({ path: relative(repo, full), source: readFileSync(full, 'utf8') });
      }
    }
  };
  for (const root of ['lib', 'lambdas', 'bin']) walk(join(repo, root));
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}
