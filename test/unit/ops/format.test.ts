import { describe, expect, it } from 'vitest';
import { formatDoctor } from '../../../lib/cli/doctor.js';
import { fmtStageSeconds, formatStatus } from '../../../lib/cli/status.js';
import { type StageSample, summarizeStages } from '../../../lib/core/stage-timings.js';
import type { Deployment } from '../../../lib/ops/deployment.js';
import { archesInUse, stackCheck } from '../../../lib/ops/doctor.js';
import type { StatusReport } from '../../../lib/ops/status.js';
import { makeConfig } from '../core/fixtures.js';

const deployment = (stackStatus: string, reason?: string): Deployment => ({
  stackName: 'K3sBurst-pi-lab',
  region: 'eu-central-1',
  stackStatus,
  ...(reason ? { stackStatusReason: reason } : {}),
  deadLetterQueueUrls: [],
  nodeSubnetIds: [],
  notes: [],
});

describe('stackCheck', () => {
  it('ok for usable states, warn while a deployment runs, fail with the right command otherwise', () => {
    expect(stackCheck(deployment('UPDATE_COMPLETE')).status).toBe('ok');
    expect(stackCheck(deployment('UPDATE_ROLLBACK_COMPLETE')).status).toBe('ok');
    const running = stackCheck(deployment('UPDATE_IN_PROGRESS'));
    expect(running).toMatchObject({ status: 'warn' });
    expect(running.fix).toContain('describe-stacks');
    const rolledBack = stackCheck(deployment('ROLLBACK_COMPLETE', 'Resource creation cancelled'));
    expect(rolledBack.status).toBe('fail');
    expect(rolledBack.message).toContain('(Resource creation cancelled)');
    expect(rolledBack.fix).toContain('aws cloudformation delete-stack --stack-name K3sBurst-pi-lab');
    const stuck = stackCheck(deployment('UPDATE_ROLLBACK_FAILED'));
    expect(stuck.fix).toContain('continue-update-rollback');
    expect(stackCheck(deployment('DELETE_COMPLETE')).fix).toContain('npx cdk deploy');
  });
});

describe('archesInUse', () => {
  it('is the set of architectures of the candidate types the catalog knows', () => {
    expect(archesInUse(makeConfig())).toEqual(['arm64']);
    expect(archesInUse(makeConfig({ nodes: { candidateTypes: ['t4g.medium', 't3.medium'] } }))).toEqual([
      'amd64',
      'arm64',
    ]);
  });
});

describe('formatDoctor', () => {
  it('one line per check, the fix on the same line, and a summary', () => {
    const text = formatDoctor({
      cluster: 'pi-lab',
      region: 'eu-central-1',
      checks: [
        { id: 'config', status: 'ok', message: 'valid' },
        { id: 'agent.heartbeat', status: 'fail', message: 'stale', fix: 'restart the agent' },
        { id: 'tailscale.routes', status: 'skip', message: 'not applicable' },
      ],
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('k3s-burst doctor: cluster pi-lab, region eu-central-1');
    expect(lines[1]).toBe('ok    config            valid');
    expect(lines[2]).toBe('fail  agent.heartbeat   stale — fix: restart the agent');
    expect(text).toContain('1 failed, 0 warning(s), 1 ok, 1 skipped');
  });
});

describe('formatStatus', () => {
  const base: StatusReport = {
    cluster: 'pi-lab',
    region: 'eu-central-1',
    stack: { name: 'K3sBurst-pi-lab', status: 'UPDATE_COMPLETE' },
    generatedAt: '2026-03-16T09:30:00.000Z',
    instances: [],
    snapshot: null,
    decisions: [],
    pause: null,
    holdbacks: { unavailableOfferings: [], backoffs: [] },
    tailscale: { available: true },
    warmPool: {
      configured: false,
      target: 0,
      targetFrom: 'warmPool.size',
      maxAgeHours: 168,
      members: [],
      parked: 0,
      stopping: 0,
      warming: 0,
      rootVolumeGiB: 20,
      perParkedHourlyUsd: 0.002608,
      parkedHourlyUsd: 0,
      parkedMonthlyUsd: 0,
    },
    costAtRest: {
      monthlyUsd: 8.6512,
      perRunningNodeMonthlyUsd: 3.65,
      runningNodes: 0,
      warmPoolMembers: 0,
      pricesRegion: 'eu-central-1',
      pricesAsOf: '2026-12-06',
    },
    stages: summarizeStages([]),
    stagesUnavailable: null,
    notes: [],
  };

  it('prints p50/p95 per burst stage, or says none are recorded yet', () => {
    expect(formatStatus(base)).toContain('Last bursts (p50 / p95');
    expect(formatStatus(base)).toContain('  (none recorded yet)');
    const samples: StageSample[] = [3.2, 4, 5, 6.5, 90].map((seconds, i) => ({
      stage: 'pod-wait',
      subject: `uid-${i}`,
      at: `2026-03-16T09:0${i}:00.000Z`,
      seconds,
    }));
    samples.push({ stage: 'running-to-ready', subject: 'i-1', at: '2026-03-16T09:00:00.000Z', seconds: 185 });
    const text = formatStatus({ ...base, stages: summarizeStages(samples) });
    const lines = text.split('\n');
    const row = (stage: string) =>
      lines
        .find((l) => l.trim().startsWith(stage))
        ?.trim()
        .split(/\s{2,}/);
    expect(row('STAGE')).toEqual(['STAGE', 'SAMPLES', 'P50', 'P95', 'MAX']);
    expect(row('pod-wait')).toEqual(['pod-wait', '5', '5.0 s', '90 s', '90 s']);
    expect(row('running-to-ready')).toEqual([
      'running-to-ready',
      '1',
      fmtStageSeconds(185),
      fmtStageSeconds(185),
      fmtStageSeconds(185),
    ]);
    expect(row('pending-to-decision')).toEqual(['pending-to-decision', '0', '-', '-', '-']);
    expect(text).not.toContain('(none recorded yet)');
    expect([3.24, 42.4, 120, 185, 599.6, 3_600].map(fmtStageSeconds)).toEqual([
      '3.2 s',
      '42 s',
      '2 min',
      '3 min 5 s',
      '10 min',
      '60 min',
    ]);
  });

  it('prints the cost at rest with the price date, and what the running nodes add', () => {
    expect(formatStatus(base)).toContain(
      'Cost at rest: about $8.65/month for this config (eu-central-1 list prices of 2026-12-06; docs/operations.md "Cost at rest"). Each running node adds $3.65/month of public IPv4 plus its instance price.',
    );
    expect(formatStatus({ ...base, costAtRest: { ...base.costAtRest, runningNodes: 2 } })).toContain(
      'plus its instance price (2 running: +$7.30/month).',
    );
  });

  it('the warm pool: one line when off; else the target, the members and the parked cost', () => {
    expect(formatStatus(base)).toContain(
      "\n\nWarm pool: off (warmPool.size and every schedule's warmPoolSize are 0)\n\nLast snapshot",
    );
    const empty = formatStatus({ ...base, warmPool: { ...base.warmPool, configured: true, target: 2 } });
    expect(empty).toContain(
      'Warm pool (0): target 2 now (warmPool.size); 0 parked, 0 warming, 0 stopping\n' +
        '  Parked: 0 × $0.0026/h (a 20 GiB gp3 root volume each; no compute, no public IPv4) = $0.0000/h, $0.00/month\n',
    );
    const member = {
      instanceId: 'i-0aaaaaaaaaaaaaaa1',
      role: 'member' as const,
      state: 'stopped' as const,
      ec2State: 'stopped',
      instanceType: 't4g.medium',
      zone: 'eu-central-1a',
      launchedAt: '2026-03-14T09:30:00.000Z',
      firstLaunchedAt: '2026-03-14T09:30:00.000Z',
      ageSeconds: 2 * 86_400,
      ageFrom: 'first-launch' as const,
      overMaxAge: false,
      nodeName: 'burst-i-0aaaaaaaaaaaaaaa1',
      tailscale: 'offline' as const,
    };
    const text = formatStatus({
      ...base,
      warmPool: {
        ...base.warmPool,
        configured: true,
        target: 2,
        members: [
          member,
          { ...member, instanceId: 'i-0aaaaaaaaaaaaaaa2', overMaxAge: true, ageSeconds: 8 * 86_400 },
          {
            ...member,
            instanceId: 'i-0aaaaaaaaaaaaaaa3',
            firstLaunchedAt: null,
            ageFrom: 'last-start' as const,
          },
        ],
        parked: 2,
        parkedHourlyUsd: 2 * 0.002608,
        parkedMonthlyUsd: 2 * 0.002608 * 730,
      },
      costAtRest: { ...base.costAtRest, warmPoolMembers: 2 },
    });
    const lines = text.split('\n');
    const row = (id: string) =>
      lines
        .find((l) => l.includes(id))
        ?.trim()
        .split(/\s{2,}/);
    expect(row('MAX AGE')).toEqual([
      'INSTANCE',
      'STATE',
      'TYPE',
      'ZONE',
      'AGE',
      'MAX AGE 168 h',
      'TAILSCALE',
    ]);
    expect(row('i-0aaaaaaaaaaaaaaa1')).toEqual([
      'i-0aaaaaaaaaaaaaaa1',
      'stopped',
      't4g.medium',
      'eu-central-1a',
      '2 d',
      'ok',
      'offline',
    ]);
    expect(row('i-0aaaaaaaaaaaaaaa2')?.[5]).toBe('OVER: replaced');
    // Without a first-launch time from EC2 the age is since the last start, and says so.
    expect(row('i-0aaaaaaaaaaaaaaa3')?.[4]).toBe('2 d since start');
    expect(text).toContain('= $0.0052/h, $3.81/month');
    expect(text).toContain(
      'about $8.65/month for this config, the volumes of 2 parked warm-pool members included (',
    );
    // Members are not fleet instances.
    expect(text).toContain('Instances (0)\n  (none)');
  });

  it('an unusable STAGES item: the stages section says why instead of a table', () => {
    const text = formatStatus({
      ...base,
      stages: [],
      stagesUnavailable: 'the STAGES item … cannot be parsed (x)',
    });
    expect(text).toContain(
      'docs/operations.md "Stage timings")\n  unavailable: the STAGES item … cannot be parsed (x)\n',
    );
    expect(text).not.toContain('(none recorded yet)');
  });

  it('a pause is the second line, with who, why and how to undo it', () => {
    const text = formatStatus({
      ...base,
      pause: { since: '2026-03-16T09:00:00.000Z', drain: true, by: 'ana@laptop', reason: 'bill spike' },
    });
    expect(text.split('\n')[1]).toBe(
      'PAUSED since 09:00:00 UTC by ana@laptop (bill spike): no launches, every cloud node is being drained. Undo with: npx k3s-burst resume',
    );
    expect(formatStatus(base)).not.toContain('PAUSED');
  });

  it('an empty cluster says so instead of printing an empty table', () => {
    const text = formatStatus({ ...base, notes: ['No snapshot stored yet.'] });
    expect(text).toContain('Instances (0)\n  (none)');
    expect(text).toContain('Last snapshot: none');
    expect(text).toContain('Recent decisions (0)\n  (none)');
    expect(text).toContain('* No snapshot stored yet.');
    expect(text).not.toContain('INSTANCE');
  });

  it('a stale snapshot is flagged', () => {
    const text = formatStatus({
      ...base,
      snapshot: {
        seq: 7,
        observedAt: '2026-03-16T09:10:00.000Z',
        storedAt: '2026-03-16T09:10:01.000Z',
        ageSeconds: 1200,
        stale: true,
        nodes: 3,
        pendingPods: 0,
      },
    });
    expect(text).toContain(
      'Last snapshot: seq 7, 20 min ago (observed 09:10:00 UTC), 3 nodes, 0 pending pods',
    );
    expect(text).toContain('STALE: the agent is not reporting');
  });
});
