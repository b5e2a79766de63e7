import { AGENT_COMMAND_DETAIL_TYPES, DECIDING_SOURCES, DetailTypes, Sources } from '../events/index.js';

/** The subset of an EventBridge event pattern this stack uses: exact-match lists only. */
export interface SimpleEventPattern {
  source: string[];
  'detail-type': string[];
}

/** Sources of the k3s-burst Lambdas: the only producers of Lambda-to-Lambda events and commands. */
export const LAMBDA_SOURCES: readonly string[] = [
  Sources.reconcile,
  Sources.launch,
  Sources.terminate,
  Sources.janitor,
  Sources.interruption,
];

/** Where a rule listens and which function (or the command queue) it feeds. */
export interface RouteSpec {
  /** Construct id and rule-name suffix. */
  id: string;
  description: string;
  bus: 'cluster' | 'default';
  pattern: SimpleEventPattern;
  target: 'reconcile' | 'launch' | 'terminate' | 'interruption' | 'command-queue';
}

/**
 * Every rule of the stack, built from the `lib/events` constants so a renamed source or
 * detail-type moves producers, consumers and routing together. Pure data: the rule-pattern
 * test evaluates these against sample events.
 *
 * EC2 events arrive on the default bus and cannot be filtered by tag; the consuming
 * Lambda ignores instances without this cluster's tag.
 */
export const ROUTES: readonly RouteSpec[] = [
  {
    id: 'Snapshot',
    description: 'Agent snapshots and heartbeats → reconcile',
    bus: 'cluster',
    pattern: { source: [Sources.agent], 'detail-type': [DetailTypes.clusterSnapshot] },
    target: 'reconcile',
  },
  {
    id: 'AgentCommands',
    description: 'DrainNode / DeleteNode → the agent command queue',
    bus: 'cluster',
    pattern: { source: [...LAMBDA_SOURCES], 'detail-type': [...AGENT_COMMAND_DETAIL_TYPES] },
    target: 'command-queue',
  },
  {
    id: 'PodNotices',
    description:
      'ScaleOutRequested / DecisionRecorded → the agent command queue: it records them as pod Events (TriggeredScaleUp, NotHelpable) so kubectl describe pod explains the decision',
    bus: 'cluster',
    pattern: {
      source: [...LAMBDA_SOURCES],
      'detail-type': [DetailTypes.scaleOutRequested, DetailTypes.decisionRecorded],
    },
    target: 'command-queue',
  },
  {
    id: 'ScaleOut',
    description: 'ScaleOutRequested → launch',
    bus: 'cluster',
    // I12: only the deciding functions' requests reach launch (which checks them again).
    pattern: { source: [...DECIDING_SOURCES], 'detail-type': [DetailTypes.scaleOutRequested] },
    target: 'launch',
  },
  {
    id: 'Terminate',
    description: 'TerminateRequested → terminate',
    bus: 'cluster',
    // I12: only the decider's requests reach terminate (which checks the source again).
    pattern: { source: [...DECIDING_SOURCES], 'detail-type': [DetailTypes.terminateRequested] },
    target: 'terminate',
  },
  {
    id: 'NodeDrained',
    description: 'The agent reports a finished drain → terminate',
    bus: 'cluster',
    pattern: { source: [Sources.agent], 'detail-type': [DetailTypes.nodeDrained] },
    target: 'terminate',
  },
  {
    id: 'SpotInterruption',
    description: 'EC2 spot interruption warnings and rebalance recommendations → interruption',
    bus: 'default',
    pattern: {
      source: [Sources.ec2],
      'detail-type': [DetailTypes.ec2SpotInterruption, DetailTypes.ec2Rebalance],
    },
    target: 'interruption',
  },
  {
    id: 'ReconcileRequested',
    description:
      'An interruption was recorded → reconcile: the replacement is decided under the reconcile lease (one writer of capacity)',
    bus: 'cluster',
    pattern: { source: [Sources.interruption], 'detail-type': [DetailTypes.reconcileRequested] },
    target: 'reconcile',
  },
  {
    id: 'InstanceStateChange',
    description: 'EC2 instance state changes → reconcile (foreign instances are ignored there)',
    bus: 'default',
    pattern: { source: [Sources.ec2], 'detail-type': [DetailTypes.ec2StateChange] },
    target: 'reconcile',
  },
];

/**
 * Does an exact-match pattern match an event? Implements EventBridge semantics for the
 * subset used here: every pattern key must be present and its value one of the listed
 * strings. Used by tests and by `k3s-burst` tooling to explain routing offline.
 */
export function patternMatches(pattern: Readonly<Record<string, unknown>>, event: unknown): boolean {
  if (event === null || typeof event !== 'object') return false;
  const record = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = record[key];
    if (Array.isArray(expected)) return expected.some((e) => e === actual);
    if (expected !== null && typeof expected === 'object') {
      return patternMatches(expected as Record<string, unknown>, actual);
    }
    return false;
  });
}
