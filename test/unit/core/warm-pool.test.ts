/**
 * The warm pool's decisions (lib/core/warm-pool.ts): starts instead of launches, how members
 * count toward the limits, fill, park, Node deletion, age-out, excess and abandonment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCluster } from '../../../lib/core/index.js';
import {
  GP3_USD_PER_GIB_MONTH,
  HOURS_PER_MONTH,
  parkedMemberHourlyUsd,
} from '../../../lib/core/warm-pool.js';
import { Config } from '../../../lib/events/index.js';
import {
  cloudNode,
  fleet,
  instance,
  isoAgo,
  makeConfig,
  NOW,
  plan,
  said,
  shape,
  snapshot,
} from './fixtures.js';

const WARMING_TAINT = { key: 'k3s-burst.io/warming', value: 'true', effect: 'NoSchedule' as const };

/** A stopped warm-pool member (parked an hour ago, launched two hours ago). */
const parked = (id: string, p: Parameters<typeof instance>[1] = {}) =>
  instance(id, {
    state: 'stopped',
    capacityType: 'on-demand',
    instanceType: 't4g.medium',
    launchedAt: isoAgo(2 * 3600),
    warmPool: 'member',
    decisionId: 'pi-lab-fill',
    ...p,
  });

const warmConfig = (over: Record<string, unknown> = {}) =>
  makeConfig({ warmPool: { size: 2, instanceTypes: ['t4g.medium'] }, ...over });

describe('warm pool: starts instead of launches', () => {
  it('starts a stopped member of an allowed type for a launch that allows on-demand', () => {
    // Given one pending pod and one parked t4g.medium member
    const s = snapshot({ pendingShapes: [shape({ count: 1, cpuMilli: 500, memoryMiB: 512 })] });
    const m = parked('i-0aaaaaaaaaaaaaaa1');
    // When planned
    const p = plan({ config: warmConfig(), snapshot: s, fleet: fleet({ instances: [m] }) });
    // Then the launch starts the member for index 0 and explains it
    const launch = p.launches.find((l) => !l.warmPool);
    expect(launch?.instanceTypes).toEqual(['t4g.medium']);
    expect(launch?.warmStarts).toEqual([m.instanceId]);
    expect(launch).toMatchObject({ count: 1, capacityTypes: ['on-demand'], zones: [m.zone], podsCovered: 1 });
    expect(
      said(p, 'warm-pool').some((x) =>
        x.includes(`start 1 stopped warm-pool member of t4g.medium in ${m.zone} (${m.instanceId}) for 1 pod`),
      ),
    ).toBe(true);
    expect(p.podAnswers?.map((a) => [a.kind, a.code])).toEqual([
      ['launched-for', `launch:${launch?.launchId}`],
    ]);
  });

  it('packs pods onto a stopped member of a bigger type than a launch would pick, before any new node', () => {
    // Given three 1-CPU pods (a launch would pick the cheapest type that holds them) and one
    // parked t4g.xlarge that holds all three
    const s = snapshot({ pendingShapes: [shape({ count: 3, cpuMilli: 1000, memoryMiB: 2048 })] });
    const m = parked('i-0aaaaaaaaaaaaaaa1', { instanceType: 't4g.xlarge' });
    const config = warmConfig({ warmPool: { size: 1, instanceTypes: ['t4g.xlarge'] } });
    const without = plan({ config, snapshot: s });
    expect(without.launches.filter((l) => !l.warmPool).flatMap((l) => l.warmStarts ?? [])).toEqual([]);
    // When planned with the member
    const p = plan({ config, snapshot: s, fleet: fleet({ instances: [m] }) });
    // Then the member is started for all three pods and nothing is launched
    const forPods = p.launches.filter((l) => !l.warmPool);
    expect(forPods).toEqual([
      expect.objectContaining({
        instanceTypes: ['t4g.xlarge'],
        count: 1,
        warmStarts: [m.instanceId],
        podsCovered: 3,
      }),
    ]);
  });

  it('launches instead when starting members would leave pods without capacity under the limits', () => {
    // Given maxNodes 1, a parked t4g.medium (room for one 1-CPU pod) and three such pods
    const config = warmConfig({
      limits: { maxNodes: 1 },
      warmPool: { size: 1, instanceTypes: ['t4g.medium'] },
    });
    const s = snapshot({ pendingShapes: [shape({ count: 3, cpuMilli: 1000, memoryMiB: 2048 })] });
    const p = plan({ config, snapshot: s, fleet: fleet({ instances: [parked('i-0aaaaaaaaaaaaaaa1')] }) });
    // Then one bigger node is launched for all three; the member stays parked, and why is said
    const forPods = p.launches.filter((l) => !l.warmPool);
    expect(forPods).toHaveLength(1);
    expect(forPods[0]?.warmStarts).toBeUndefined();
    expect(forPods[0]?.podsCovered).toBe(3);
    expect(
      said(p, 'warm-pool').some((x) =>
        x.includes(
          'stopped warm-pool members are not started for these pods: starting them would leave 2 pods',
        ),
      ),
    ).toBe(true);
  });

  it('does not start a member whose Node object still exists (its kubelet would keep the warming taint)', () => {
    const m = parked('i-0aaaaaaaaaaaaaaa1');
    const node = cloudNode(m.instanceId, { type: 't4g.medium', ready: false, taints: [WARMING_TAINT] });
    const s = snapshot({
      nodes: [...snapshot().nodes, node],
      pendingShapes: [shape({ count: 1, cpuMilli: 500, memoryMiB: 512 })],
    });
    const p = plan({
      config: warmConfig({ warmPool: { size: 1 } }),
      snapshot: s,
      fleet: fleet({ instances: [m] }),
    });
    expect(p.launches.flatMap((l) => l.warmStarts ?? [])).toEqual([]);
    expect(p.launches.filter((l) => !l.warmPool)).toHaveLength(1);
    expect(p.nodeDeletions.map((d) => d.nodeName)).toEqual([node.name]);
  });

  it('refills the pool only once capacity for pending pods is no longer on the way', () => {
    // Given a pool short of its target and a pending pod the decision launches for
    const s = snapshot({ pendingShapes: [shape({ count: 1, cpuMilli: 3000, memoryMiB: 10_000 })] });
    const p = plan({ config: warmConfig(), snapshot: s });
    expect(p.launches.filter((l) => !l.warmPool)).toHaveLength(1);
    // Then no fill takes headroom the burst may still need, and the plan says so
    expect(p.launches.filter((l) => l.warmPool)).toEqual([]);
    expect(
      said(p, 'warm-pool').some((x) => x.includes('the warm pool is refilled later (2 members short of 2)')),
    ).toBe(true);
    // And an instance launched for pods that is not Ready yet holds the fill back too
    const booting = instance('i-0bbbbbbbbbbbbbbb1', { instanceType: 'm7g.large', launchedAt: isoAgo(30) });
    const p2 = plan({ config: warmConfig(), fleet: fleet({ instances: [booting] }) });
    expect(p2.launches.filter((l) => l.warmPool)).toEqual([]);
    const p3 = plan({ config: warmConfig() });
    expect(p3.launches.filter((l) => l.warmPool).reduce((a, l) => a + l.count, 0)).toBe(2);
  });

  it('starts nothing for pods that require spot, nor a member of a type the launch does not allow', () => {
    const spotOnly = shape({
      count: 1,
      cpuMilli: 500,
      memoryMiB: 512,
      nodeSelector: { 'k3s-burst.io/capacity-type': 'spot' },
    });
    const p = plan({
      config: warmConfig(),
      snapshot: snapshot({ pendingShapes: [spotOnly] }),
      fleet: fleet({ instances: [parked('i-0aaaaaaaaaaaaaaa1')] }),
    });
    const launch = p.launches.find((l) => !l.warmPool);
    expect(launch?.capacityTypes).toEqual(['spot']);
    expect(launch?.warmStarts).toBeUndefined();

    const big = shape({ count: 1, cpuMilli: 3000, memoryMiB: 10_000 });
    const p2 = plan({
      config: warmConfig(),
      snapshot: snapshot({ pendingShapes: [big] }),
      fleet: fleet({ instances: [parked('i-0aaaaaaaaaaaaaaa1')] }),
    });
    const launch2 = p2.launches.find((l) => !l.warmPool);
    expect(launch2?.instanceTypes).not.toContain('t4g.medium');
    expect(launch2?.warmStarts).toBeUndefined();
  });

  it('takes the oldest of equally priced members and never one older than maxAgeHours', () => {
    const s = snapshot({ pendingShapes: [shape({ count: 1, cpuMilli: 500, memoryMiB: 512 })] });
    const older = parked('i-0aaaaaaaaaaaaaaa2', { launchedAt: isoAgo(5 * 3600) });
    const newer = parked('i-0aaaaaaaaaaaaaaa1');
    const tooOld = parked('i-0aaaaaaaaaaaaaaa3', { launchedAt: isoAgo(200 * 3600) });
    const p = plan({
      config: warmConfig(),
      snapshot: s,
      fleet: fleet({ instances: [newer, older, tooOld] }),
    });
    expect(p.launches.find((l) => !l.warmPool)?.warmStarts).toEqual([older.instanceId]);
    expect(p.terminations.map((t) => t.instanceId)).toContain(tooOld.instanceId);
  });
});

describe('warm pool: how members count toward the limits', () => {
  it('does not count stopped members toward maxNodes, and counts warming ones', () => {
    // Given maxNodes 1 and one pending pod
    const config = warmConfig({ limits: { maxNodes: 1 }, warmPool: { size: 0 } });
    const s = snapshot({ pendingShapes: [shape({ count: 1, cpuMilli: 500, memoryMiB: 512 })] });
    // When a member is stopped: the pod's node is planned (a start of that member)
    const p = plan({ config, snapshot: s, fleet: fleet({ instances: [parked('i-0aaaaaaaaaaaaaaa1')] }) });
    expect(p.launches.reduce((a, l) => a + l.count, 0)).toBe(1);
    // When the member is warming (running): it holds the only slot under maxNodes (I1)
    const warming = instance('i-0aaaaaaaaaaaaaaa1', {
      warmPool: 'member',
      capacityType: 'on-demand',
      launchedAt: isoAgo(60),
    });
    const p2 = plan({ config, snapshot: s, fleet: fleet({ instances: [warming] }) });
    expect(p2.launches).toEqual([]);
    expect(p2.podAnswers?.map((a) => a.kind)).toEqual(['held-by-limit']);
  });

  it('never takes a warming member for pending pods, nor scales in or repairs it', () => {
    const m = instance('i-0aaaaaaaaaaaaaaa1', {
      warmPool: 'member',
      capacityType: 'on-demand',
      instanceType: 't4g.medium',
      launchedAt: isoAgo(3 * 3600),
    });
    // Its node is Ready with the warming taint and no pods, empty for hours
    const node = cloudNode(m.instanceId, {
      type: 't4g.medium',
      taints: [WARMING_TAINT],
      workloadPodCount: 0,
      workloadPods: [],
      requested: { cpuMilli: 0, memoryMiB: 0, pods: 0 },
    });
    const s = snapshot({
      nodes: [...snapshot().nodes, node],
      pendingShapes: [shape({ count: 1, cpuMilli: 500, memoryMiB: 512 })],
    });
    const p = plan({
      config: warmConfig({ warmPool: { size: 1, instanceTypes: ['t4g.medium'] } }),
      snapshot: s,
      fleet: fleet({ instances: [m] }),
    });
    // Then the pod gets a launch, the member is parked (not drained, not scaled in)
    expect(p.launches.filter((l) => !l.warmPool).reduce((a, l) => a + l.count, 0)).toBe(1);
    expect(p.drains).toEqual([]);
    expect(p.parks).toEqual([expect.objectContaining({ instanceId: m.instanceId, nodeName: node.name })]);
    expect(p.terminations).toEqual([]);
  });
});

describe('warm pool: fill, park, delete Node, excess, abandonment', () => {
  it('fills the pool to its target with on-demand warm launches, within the limits', () => {
    const p = plan({ config: warmConfig(), fleet: fleet({ instances: [parked('i-0aaaaaaaaaaaaaaa1')] }) });
    const fill = p.launches.find((l) => l.warmPool);
    expect(fill).toMatchObject({ count: 1, capacityTypes: ['on-demand'], instanceTypes: ['t4g.medium'] });
    // maxNodes 0: nothing may run, so no member may warm either
    const p2 = plan({ config: warmConfig({ limits: { maxNodes: 0 } }) });
    expect(p2.launches).toEqual([]);
    expect(said(p2, 'clamp').some((x) => x.includes('the warm pool wants 2 more members'))).toBe(true);
  });

  it('counts fills in flight, so a second reconcile does not fill again', () => {
    const inFlight = [
      {
        decisionId: 'pi-lab-fill',
        launchId: 'pi-lab-fill-0',
        decidedAt: isoAgo(30),
        expiresAt: isoAgo(-600),
        instanceType: 't4g.medium',
        count: 2,
        capacityType: 'on-demand' as const,
        shapeIds: [],
        warmPool: true,
      },
    ];
    const s = snapshot({ pendingShapes: [shape({ count: 1, cpuMilli: 500, memoryMiB: 512 })] });
    const p = plan({ config: warmConfig(), snapshot: s, fleet: fleet({ inFlight }) });
    expect(p.launches.filter((l) => l.warmPool)).toEqual([]);
    // and the fill is no capacity for the pending pod: it gets its own launch
    expect(p.launches.filter((l) => !l.warmPool)).toHaveLength(1);
  });

  it('deletes the Node of a stopped member, never the Node of one still running', () => {
    const stopped = parked('i-0aaaaaaaaaaaaaaa1');
    const node = cloudNode(stopped.instanceId, { type: 't4g.medium', ready: false, taints: [WARMING_TAINT] });
    const s = snapshot({ nodes: [...snapshot().nodes, node] });
    const p = plan({
      config: warmConfig({ warmPool: { size: 1 } }),
      snapshot: s,
      fleet: fleet({ instances: [stopped] }),
    });
    expect(p.nodeDeletions.map((d) => d.nodeName)).toEqual([node.name]);
    expect(p.terminations).toEqual([]);

    const stopping = { ...stopped, state: 'stopping' as const };
    const p2 = plan({
      config: warmConfig({ warmPool: { size: 1 } }),
      snapshot: s,
      fleet: fleet({ instances: [stopping] }),
    });
    expect(p2.nodeDeletions).toEqual([]);
  });

  it('terminates members over the target of the active schedule (warm by day, none at night)', () => {
    const config = warmConfig({
      schedules: [
        { name: 'day', cron: '0 7 * * *', timezone: 'UTC', minNodes: 0, maxNodes: 5, warmPoolSize: 2 },
        { name: 'night', cron: '0 20 * * *', timezone: 'UTC', minNodes: 0, maxNodes: 5, warmPoolSize: 0 },
      ],
    });
    const members = [parked('i-0aaaaaaaaaaaaaaa1'), parked('i-0aaaaaaaaaaaaaaa2')];
    const day = plan({ config, fleet: fleet({ instances: members }) });
    expect(day.terminations).toEqual([]);
    const nightTime = new Date('2026-03-16T21:00:00Z');
    const night = planCluster({
      config,
      snapshot: snapshot({ observedAt: isoAgo(5, nightTime) }),
      fleet: fleet({ instances: members }),
      now: nightTime,
      decisionId: 'pi-lab-night',
    });
    expect(night.terminations.map((t) => t.instanceId).sort()).toEqual(
      members.map((m) => m.instanceId).sort(),
    );
    expect(night.launches).toEqual([]);
  });

  it('does nothing with the pool while the agent is stale, and terminates members on abandonment', () => {
    const members = [parked('i-0aaaaaaaaaaaaaaa1')];
    const stale = plan({
      config: warmConfig(),
      snapshot: snapshot({ observedAt: isoAgo(400) }),
      fleet: fleet({ instances: members }),
    });
    expect(stale.launches).toEqual([]);
    expect(stale.terminations).toEqual([]);
    const gone = plan({
      config: warmConfig(),
      snapshot: snapshot({ observedAt: isoAgo(2 * 3600) }),
      fleet: fleet({ instances: members }),
    });
    expect(gone.terminations.map((t) => t.instanceId)).toEqual([members[0]?.instanceId]);
  });

  it('terminates a warming member that never registered, as a registration timeout', () => {
    const m = instance('i-0aaaaaaaaaaaaaaa1', {
      warmPool: 'member',
      capacityType: 'on-demand',
      launchedAt: isoAgo(1000),
    });
    const p = plan({ config: warmConfig({ warmPool: { size: 1 } }), fleet: fleet({ instances: [m] }) });
    expect(p.terminations).toEqual([
      expect.objectContaining({ instanceId: m.instanceId, cause: 'registration-timeout' }),
    ]);
    expect(NOW.getTime()).toBeGreaterThan(Date.parse(m.launchedAt));
  });
});

describe('docs/operations.md "Warm pool"', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Warm pool'), doc.indexOf('## Pausing bursting'));

  it('states the defaults the schema applies', () => {
    const c = makeConfig();
    expect(c.warmPool).toMatchObject({ size: 0, maxAgeHours: 168 });
    expect(doc).toContain(`\`maxAgeHours\` (${c.warmPool.maxAgeHours})`);
    expect(section).toContain(`"maxAgeHours": ${c.warmPool.maxAgeHours}`);
  });

  it('gives an example the config accepts with the default limits', () => {
    const block = section.slice(
      section.indexOf('```json') + 7,
      section.indexOf('```', section.indexOf('```json') + 7),
    );
    const example = JSON.parse(`{${block.trim()}}`) as Record<string, unknown>;
    const base = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', '..', 'examples', 'k3s-burst.config.json'), 'utf8'),
    );
    const { limits: _defaultLimits, ...rest } = base;
    const r = Config.safeParse({ ...rest, ...example });
    expect(r.error?.issues ?? []).toEqual([]);
    expect(r.data?.warmPool.size).toBe(2);
  });

  it('states the parked cost the code computes', () => {
    const rootGiB = makeConfig().nodes.rootVolumeGiB;
    expect(section).toContain(`${rootGiB} GiB ×\n$${GP3_USD_PER_GIB_MONTH} per GiB-month`);
    const monthly = parkedMemberHourlyUsd(rootGiB) * HOURS_PER_MONTH;
    expect(section).toContain(`≈ $${monthly.toFixed(2)} a month`);
  });

  it('refuses a pool when on-demand is not allowed, as the section says', () => {
    const r = Config.safeParse({
      ...makeConfig(),
      nodes: { ...makeConfig().nodes, capacityTypes: ['spot'] },
      warmPool: { size: 1 },
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('a warm pool needs nodes.capacityTypes to include');
    expect(section).toContain(
      'The config is refused when\na pool is asked for and `nodes.capacityTypes` does not include `on-demand`.',
    );
  });
});
