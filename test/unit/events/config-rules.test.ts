import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  checkCron,
  closestName,
  configTextProblem,
  configValueProblem,
  cronsOverlap,
  MAX_CONFIG_BYTES,
  MAX_CONFIG_DEPTH,
  MAX_CONFIG_VALUES,
  nodeLabelKeyProblem,
  parseConfigText,
  serverUrlProblem,
  ssmParameterNameProblem,
  timeZoneProblem,
  validateConfig,
} from '../../../lib/events/index.js';

const root = join(import.meta.dirname, '..', '..', '..');
const cluster = {
  name: 'pi-lab',
  region: 'eu-central-1',
  k3sServerUrl: 'https://100.64.5.11:6443',
  k3sVersion: 'v1.32.6+k3s1',
};

function problems(input: unknown): string[] {
  try {
    validateConfig(input, 'cfg');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected the config to be refused');
}

describe('unknown fields', () => {
  it('names the full path of a nested unknown field and the closest known sibling', () => {
    expect(problems({ cluster, nodes: { systemReserved: { cpuMili: 100 } } })).toEqual([
      '$.nodes.systemReserved.cpuMili: unknown field — did you mean "cpuMilli"?',
    ]);
    expect(
      problems({ cluster, schedules: [{ name: 'a', cron: '0 7 * * *', maxNodes: 1, timeZone: 'UTC' }] }),
    ).toEqual(['$.schedules[0].timeZone: unknown field — did you mean "timezone"?']);
    expect(
      problems({ cluster, nodes: { taints: [{ key: 'a', effect: 'NoSchedule', operator: 'Exists' }] } }),
    ).toEqual([
      '$.nodes.taints[0].operator: unknown field: remove it (known fields here: "key", "value", "effect")',
    ]);
  });

  it('lists one problem per unknown field and never prints their values', () => {
    const out = problems({
      cluster: { ...cluster, token: 'hunter2' },
      tailscale: { oauthClientSecret: 'tskey-x' },
    });
    expect(out).toEqual([
      expect.stringMatching(/^\$\.cluster\.token: unknown field/),
      expect.stringMatching(/^\$\.tailscale\.oauthClientSecret: unknown field/),
    ]);
    expect(out.join('\n')).not.toMatch(/hunter2|tskey-x/);
  });

  it('keeps $schema allowed at the top level', () => {
    expect(validateConfig({ $schema: './schemas/config.schema.json', cluster }, 'cfg').cluster.name).toBe(
      'pi-lab',
    );
  });
});

describe('closestName', () => {
  it('suggests near misses, case-only differences and transpositions, and nothing for a far name', () => {
    expect(closestName('schedule', ['schedules', 'scaleIn'])).toBe('schedules');
    expect(closestName('t4g.mediun', ['t4g.medium', 't4g.large'])).toBe('t4g.medium');
    expect(closestName('MaxNodes', ['maxNodes'])).toBe('maxNodes');
    expect(closestName('maxnodse', ['maxNodes', 'minNodes'])).toBe('maxNodes');
    expect(closestName('zzzzzz', ['maxNodes', 'minNodes'])).toBeUndefined();
  });
});

describe('SSM parameter names', () => {
  it.each([
    '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
    '/k3s-burst/ami/arm64',
    'my-ami_id.v2',
  ])('accepts %s', (name) => {
    expect(ssmParameterNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', /1-1011 characters/],
    [`/${'a'.repeat(1011)}`, /1-1011 characters/],
    ['/my ami', /no spaces/],
    ['k3s/ami', /starts with "\/"/],
    ['/k3s//ami', /no empty level/],
    ['/k3s/ami/', /no empty level/],
    [`/${Array.from({ length: 16 }, () => 'a').join('/')}`, /at most 15 levels \(got 16\)/],
    ['/ssm/ami', /reserved for AWS/],
    ['awsami', /reserved for AWS/],
    ['/AWS/other/ami', /reserved for AWS/],
  ])('refuses %j', (name, reason) => {
    expect(ssmParameterNameProblem(name)).toMatch(reason);
  });
});

describe('Kubernetes labels and taints', () => {
  it('accepts a prefixed key and kubelet-settable well-known keys', () => {
    expect(nodeLabelKeyProblem('k3s-burst.io/pool')).toBeUndefined();
    expect(nodeLabelKeyProblem('node.kubernetes.io/exclude-from-external-load-balancers')).toBeUndefined();
  });

  it.each([
    ['Example.COM/pool', /not a DNS subdomain/],
    [`k3s-burst.io/${'a'.repeat(64)}`, /1-63 letters/],
    ['k3s-burst.io/', /1-63 letters/],
    ['k3s-burst.io/managed', /sets k3s-burst.io\/managed itself/],
    ['node-restriction.kubernetes.io/x', /node-restriction/],
    ['node-role.kubernetes.io/worker', /NodeRestriction/],
  ])('refuses the label key %j', (key, reason) => {
    expect(nodeLabelKeyProblem(key)).toMatch(reason);
  });

  it('refuses bad label values, taint keys, values and effects, and duplicate taints', () => {
    const out = problems({
      cluster,
      nodes: {
        labels: { 'k3s-burst.io/pool': '-cloud' },
        taints: [
          { key: 'k3s-burst.io/cloud', value: 'a'.repeat(64), effect: 'NoSchedule' },
          { key: 'k3s-burst.io/cloud', effect: 'NoSchedule' },
          { key: 'x', effect: 'NoWay' },
        ],
      },
    });
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\$\.nodes\.labels\["k3s-burst\.io\/pool"\]: a label value must be/),
        expect.stringMatching(/^\$\.nodes\.taints\[0\]\.value: a label value must be/),
        expect.stringMatching(/^\$\.nodes\.taints\[2\]\.effect: /),
      ]),
    );
    const dup = problems({
      cluster,
      nodes: {
        taints: [
          { key: 'k3s-burst.io/cloud', effect: 'NoSchedule' },
          { key: 'k3s-burst.io/cloud', value: 'x', effect: 'NoSchedule' },
        ],
      },
    });
    expect(dup).toEqual([
      '$.nodes.taints[1]: duplicate taint k3s-burst.io/cloud:NoSchedule (also taints[0]): the kubelet refuses two taints with one key and effect',
    ]);
  });
});

describe('the K3s server URL', () => {
  it.each([
    'https://100.64.5.11:6443',
    'https://pi-server.tail1234.ts.net:6443/',
    'https://[fd7a:115c:a1e0::1]:6443',
  ])('accepts %s', (url) => {
    expect(serverUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ['http://100.64.5.11:6443', /must be https/],
    ['https://100.64.5.11', /explicit port/],
    ['https://100.64.5.11:6443/k3s', /no user, path, query or fragment/],
    ['https://100.64.5.11:6443?a=1', /no user, path, query or fragment/],
    ['https://admin@100.64.5.11:6443', /no user, path, query or fragment/],
    ['https://100.64.5.11:70000', /port 70000 is not 1-65535/],
  ])('refuses %s', (url, reason) => {
    expect(serverUrlProblem(url)).toMatch(reason);
  });
});

describe('time zones', () => {
  it('accepts canonical IANA names', () => {
    expect(timeZoneProblem('Europe/Berlin')).toBeUndefined();
    expect(timeZoneProblem('UTC')).toBeUndefined();
    // IANA-canonical names ICU knows under an older id
    expect(timeZoneProblem('America/Argentina/Buenos_Aires')).toBeUndefined();
    expect(timeZoneProblem('Asia/Kolkata')).toBeUndefined();
  });

  it('names the canonical form of a zone written another way, and the closest zone of a typo', () => {
    expect(timeZoneProblem('europe/berlin')).toMatch(/did you mean "Europe\/Berlin"\?/);
    expect(timeZoneProblem('Etc/UTC')).toMatch(/did you mean "UTC"\?/);
    expect(timeZoneProblem('Europe/BERLIN')).toMatch(/did you mean "Europe\/Berlin"\?/);
    expect(timeZoneProblem('asia/kolkata')).toMatch(
      /canonical form — did you mean "Asia\/(Kolkata|Calcutta)"\?/,
    );
    expect(timeZoneProblem('Europe/Berln')).toMatch(
      /expected an IANA time zone .*did you mean "Europe\/Berlin"\?/,
    );
    expect(timeZoneProblem('Mars/Base')).toMatch(
      /^expected an IANA time zone such as "Europe\/Berlin" or "UTC"$/,
    );
  });
});

describe('cron expressions', () => {
  it.each([
    '0 7 * * 1-5',
    '30 6 * * mon-fri',
    '*/15 0-6 * * *',
    '0 0 1 jan ?',
    '0 0 ? * 0,6',
    '5/10 * * * *',
    '0 0 29 2 *',
  ])('accepts %s', (cron) => {
    expect(checkCron(cron)).toMatchObject({ ok: true });
  });

  it.each([
    ['61 25 * * *', /^minute 61 is out of range 0-59/],
    ['0 24 * * *', /^hour 24 is out of range 0-23/],
    ['0 7 0 * *', /^day-of-month 0 is out of range 1-31/],
    ['0 7 * 13 *', /^month 13 is out of range 1-12/],
    ['0 7 * * 8', /^day-of-week 8 is out of range 0-7/],
    ['0 7 * * MON-XYZ', /^day-of-week "XYZ" is not a number 0-7 or SUN-SAT/],
    ['0 7 * * 5-1', /runs backwards/],
    ['0 7 * * 0,7', /day-of-week "0,7" names 0 more than once/],
    ['0 7,8-9,7 * * *', /hour "7,8-9,7" names 7 more than once/],
    ['*/0 7 * * *', /step "\/0" must be at least 1/],
    ['0 7 L * *', /day-of-month "L" is not a number/],
    ['? 7 * * *', /minute "\?" is not a number/],
    ['0 7 1 * 1', /restricts both day-of-month and day-of-week/],
    ['0 0 31 2 *', /never fires/],
    ['0 7 * *', /expected five fields/],
  ])('refuses %s, naming the field', (cron, reason) => {
    const check = checkCron(cron);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toMatch(reason);
  });

  it('finds policies that fire at the same minute', () => {
    const sets = (cron: string) => {
      const c = checkCron(cron);
      if (!c.ok) throw new Error(c.problem);
      return c.sets;
    };
    expect(cronsOverlap(sets('0 7 * * 1-5'), sets('0 7 * * 5-6'))).toBe(true);
    expect(cronsOverlap(sets('0 7 * * 1-5'), sets('0 7 * * 0,6'))).toBe(false);
    expect(cronsOverlap(sets('0 7 1 * *'), sets('0 7 * * 1'))).toBe(true);
    expect(cronsOverlap(sets('0 7 * * *'), sets('1 7 * * *'))).toBe(false);
    expect(cronsOverlap(sets('0 7 * 1-6 *'), sets('0 7 * 7-12 *'))).toBe(false);
  });

  it('refuses two policies of one time zone firing at the same minute, but not of two zones', () => {
    const policy = (name: string, cron: string, timezone: string) => ({ name, cron, timezone, maxNodes: 1 });
    expect(
      problems({ cluster, schedules: [policy('a', '0 7 * * *', 'UTC'), policy('b', '0 7 * * 1', 'UTC')] }),
    ).toEqual([
      '$.schedules[1].cron: fires at the same minute as schedules[0] ("a", "0 7 * * *") in UTC, so which policy applies is undefined: move one of them by a minute or merge them',
    ]);
    expect(
      validateConfig(
        { cluster, schedules: [policy('a', '0 7 * * *', 'UTC'), policy('b', '0 7 * * *', 'Europe/Berlin')] },
        'cfg',
      ).schedules,
    ).toHaveLength(2);
  });

  it('refuses duplicate schedule names, naming the first', () => {
    const policy = (cron: string) => ({ name: 'night', cron, maxNodes: 0 });
    expect(problems({ cluster, schedules: [policy('0 20 * * *'), policy('0 21 * * *')] })).toEqual([
      '$.schedules[1].name: duplicate schedule name "night" (also schedules[0])',
    ]);
  });
});

describe('agent timings', () => {
  it('requires heartbeat < staleAfter < abandonAfter', () => {
    expect(problems({ cluster, agent: { heartbeatSeconds: 300, staleAfterSeconds: 300 } })).toEqual([
      '$.agent.heartbeatSeconds: heartbeatSeconds must be < staleAfterSeconds (got 300 ≥ 300): a healthy agent would look stale between heartbeats',
    ]);
    expect(problems({ cluster, agent: { staleAfterSeconds: 3600 } })).toEqual([
      '$.agent.abandonAfterSeconds: abandonAfterSeconds must be > staleAfterSeconds (got 3600 ≤ 3600)',
    ]);
  });
});

describe('size and depth guard', () => {
  it('refuses text over the byte limit before parsing it', () => {
    const text = `{"cluster": ${JSON.stringify(cluster)}, "$schema": "${'x'.repeat(MAX_CONFIG_BYTES)}"}`;
    expect(configTextProblem(text)?.message).toMatch(new RegExp(`over the ${MAX_CONFIG_BYTES}-byte limit`));
    expect(() => parseConfigText(text, 'big.json')).toThrow(
      /big\.json is invalid:\n {2}\$: the document is \d+ bytes/,
    );
  });

  it('counts nesting in text outside strings only', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(configTextProblem(deep(MAX_CONFIG_DEPTH))).toBeUndefined();
    expect(configTextProblem(deep(MAX_CONFIG_DEPTH + 1))?.message).toMatch(/nested more than 16 levels/);
    expect(configTextProblem(JSON.stringify({ a: '[[[[[[[[[[[[[[[[[[[[[[[["' }))).toBeUndefined();
    expect(configTextProblem(JSON.stringify({ a: '\\"[[[[[[[[[[[[[[[[[[[[[[' }))).toBeUndefined();
  });

  it('refuses parsed values nested too deep or with too many values, without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(configValueProblem(deep)?.message).toMatch(/nested more than 16 levels/);
    expect(() => validateConfig(deep, 'deep')).toThrow(ConfigError);
    const wide = { cluster, catalog: Array.from({ length: MAX_CONFIG_VALUES }, () => 1) };
    expect(configValueProblem(wide)?.message).toMatch(/more than 20000 values/);
  });
});

describe('exported JSON Schema', () => {
  it('is strict: every object with properties forbids additional ones', () => {
    const schema = JSON.parse(readFileSync(join(root, 'schemas', 'config.schema.json'), 'utf8'));
    const loose: string[] = [];
    let objects = 0;
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.type === 'object' && n.properties) {
        objects++;
        if (n.additionalProperties !== false) loose.push(path);
      }
      for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`);
    };
    walk(schema, '#');
    expect(objects).toBeGreaterThan(10);
    expect(loose).toEqual([]);
  });
});
