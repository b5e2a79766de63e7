import { beforeAll, describe, expect, it } from 'vitest';
import { DetailTypes, Sources } from '../../../lib/events/index.js';
import { patternMatches, ROUTES } from '../../../lib/infra/index.js';
import { defaultTemplate, logicalId, type Synthesized } from './support.js';

/** An event as a rule sees it, built from the shared constants (the EventBridge event envelope). */
function event(source: string, detailType: string, detail: unknown = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '4c1d7f0e-93a2-4b6e-b8f1-2e5a90c7d311',
    'detail-type': detailType,
    source,
    account: '210987654321',
    time: '2026-03-14T09:26:53Z',
    region: 'eu-central-1',
    resources: [],
    detail,
  };
}

const ec2Instance = { 'instance-id': 'i-0b7e5c2a91f3d4e68' };

/** For each rule: events the code emits that it must route, and look-alikes it must not. */
const CASES: Record<
  string,
  { matches: Array<Record<string, unknown>>; ignores: Array<Record<string, unknown>> }
> = {
  Snapshot: {
    matches: [event(Sources.agent, DetailTypes.clusterSnapshot, { cluster: 'pi-lab', seq: 1 })],
    ignores: [
      event(Sources.reconcile, DetailTypes.clusterSnapshot),
      event(Sources.agent, DetailTypes.nodeDrained),
    ],
  },
  AgentCommands: {
    matches: [
      event(Sources.reconcile, DetailTypes.drainNode),
      event(Sources.interruption, DetailTypes.drainNode),
      event(Sources.terminate, DetailTypes.deleteNode),
      event(Sources.janitor, DetailTypes.deleteNode),
    ],
    // The agent cannot command itself, and other k3s-burst events never reach the queue here.
    ignores: [
      event(Sources.agent, DetailTypes.drainNode),
      event(Sources.reconcile, DetailTypes.scaleOutRequested),
    ],
  },
  PodNotices: {
    matches: [
      event(Sources.reconcile, DetailTypes.scaleOutRequested),
      event(Sources.interruption, DetailTypes.scaleOutRequested),
      event(Sources.reconcile, DetailTypes.decisionRecorded),
    ],
    ignores: [
      event(Sources.agent, DetailTypes.decisionRecorded),
      event(Sources.reconcile, DetailTypes.instanceLaunched),
      event(Sources.reconcile, DetailTypes.drainNode),
    ],
  },
  ScaleOut: {
    // Reconcile is the one writer of capacity (I11): an interruption asks it, it never launches.
    matches: [event(Sources.reconcile, DetailTypes.scaleOutRequested)],
    ignores: [
      event(Sources.interruption, DetailTypes.scaleOutRequested),
      event(Sources.agent, DetailTypes.scaleOutRequested),
      event(Sources.launch, DetailTypes.instanceLaunched),
    ],
  },
  Terminate: {
    // I12: only the decider asks for terminations; our other functions never emit this type.
    matches: [event(Sources.reconcile, DetailTypes.terminateRequested)],
    ignores: [
      event(Sources.interruption, DetailTypes.terminateRequested),
      event(Sources.janitor, DetailTypes.terminateRequested),
      event(Sources.launch, DetailTypes.terminateRequested),
      event(Sources.agent, DetailTypes.terminateRequested),
      event(Sources.terminate, DetailTypes.instanceTerminated),
    ],
  },
  NodeDrained: {
    matches: [event(Sources.agent, DetailTypes.nodeDrained, { outcome: 'drained' })],
    ignores: [
      event(Sources.reconcile, DetailTypes.nodeDrained),
      event(Sources.agent, DetailTypes.clusterSnapshot),
    ],
  },
  SpotInterruption: {
    matches: [
      event(Sources.ec2, DetailTypes.ec2SpotInterruption, { ...ec2Instance, 'instance-action': 'terminate' }),
      event(Sources.ec2, DetailTypes.ec2Rebalance, ec2Instance),
    ],
    ignores: [
      event(Sources.ec2, DetailTypes.ec2StateChange, { ...ec2Instance, state: 'running' }),
      event('k3s-burst.agent', DetailTypes.ec2SpotInterruption, ec2Instance),
    ],
  },
  ReconcileRequested: {
    matches: [
      event(Sources.interruption, DetailTypes.reconcileRequested, {
        cluster: 'pi-lab',
        instanceId: ec2Instance['instance-id'],
      }),
    ],
    ignores: [
      event(Sources.agent, DetailTypes.reconcileRequested),
      event(Sources.reconcile, DetailTypes.reconcileRequested),
      event(Sources.interruption, DetailTypes.drainNode),
    ],
  },
  InstanceStateChange: {
    matches: [event(Sources.ec2, DetailTypes.ec2StateChange, { ...ec2Instance, state: 'shutting-down' })],
    ignores: [
      event(Sources.ec2, DetailTypes.ec2Rebalance, ec2Instance),
      event(Sources.scheduler, DetailTypes.scheduledEvent, '{}'),
      event('aws.autoscaling', DetailTypes.ec2StateChange),
    ],
  },
};

let s: Pick<Synthesized, 'template'>;
beforeAll(() => {
  s = { template: defaultTemplate() };
});

describe('rule patterns', () => {
  it('has a case for every route', () => {
    expect(Object.keys(CASES).sort()).toEqual(ROUTES.map((r) => r.id).sort());
  });

  for (const route of ROUTES) {
    it(`${route.id}: the synthesized pattern routes what the code emits and nothing else`, () => {
      // Given the pattern as deployed
      const rule =
        s.template.findResources('AWS::Events::Rule')[
          logicalId(s.template, 'AWS::Events::Rule', `Routing${route.id}Rule`)
        ];
      const pattern = rule?.Properties.EventPattern as Record<string, unknown>;
      const cases = CASES[route.id];
      if (!cases) throw new Error(`no case for ${route.id}`);
      // Then
      for (const e of cases.matches) expect(patternMatches(pattern, e), JSON.stringify(e)).toBe(true);
      for (const e of cases.ignores) expect(patternMatches(pattern, e), JSON.stringify(e)).toBe(false);
    });
  }

  it('delivers every emitted k3s-burst event type to exactly one acting target; notices also reach the agent', () => {
    const informational: string[] = [DetailTypes.instanceLaunched, DetailTypes.instanceTerminated];
    // Also delivered to the agent's queue, which records them as pod Events.
    const notices: string[] = [DetailTypes.scaleOutRequested, DetailTypes.decisionRecorded];
    for (const detailType of Object.values(DetailTypes)) {
      if (detailType === DetailTypes.scheduledEvent) continue;
      const source = detailType.startsWith('EC2 ')
        ? Sources.ec2
        : detailType === DetailTypes.clusterSnapshot || detailType === DetailTypes.nodeDrained
          ? Sources.agent
          : detailType === DetailTypes.reconcileRequested
            ? Sources.interruption
            : Sources.reconcile;
      const routed = ROUTES.filter((r) => patternMatches({ ...r.pattern }, event(source, detailType)));
      const acting = routed.filter((r) => r.id !== 'PodNotices');
      expect(acting.length, detailType).toBe(
        informational.includes(detailType) || detailType === DetailTypes.decisionRecorded ? 0 : 1,
      );
      expect(
        routed.some((r) => r.id === 'PodNotices'),
        detailType,
      ).toBe(notices.includes(detailType));
    }
  });
});

describe('patternMatches', () => {
  it('requires every key of the pattern, recursing into objects', () => {
    const pattern = { source: ['a'], detail: { state: ['running'] } };
    expect(patternMatches(pattern, { source: 'a', detail: { state: 'running' } })).toBe(true);
    expect(patternMatches(pattern, { source: 'a', detail: { state: 'stopped' } })).toBe(false);
    expect(patternMatches(pattern, { source: 'a' })).toBe(false);
    expect(patternMatches(pattern, null)).toBe(false);
  });
});
