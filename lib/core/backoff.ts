/**
 * Launch backoff (I10): a launch setup whose instances never register, or an EC2 quota that
 * refuses launches, is retried only after a growing delay — Cluster Autoscaler's node-group
 * backoff is the reference (5 min doubling to 30 min, forgotten 3 h after the last failure,
 * reset by a success). Pure: time is a parameter; the state port stores the entries.
 *
 * Two kinds of entry:
 * - `launch-setup`: (instance type, image, capacity type) whose instances were terminated for
 *   not registering within `repairs.registrationTimeoutSeconds`. Reset when an instance of the
 *   same setup launched after the last failure registers (its node turns Ready).
 * - `quota`: (capacity type, EC2 quota class) refused with `VcpuLimitExceeded` /
 *   `InstanceLimitExceeded`. Reset when a launch of that capacity type and class succeeds.
 */
import type {
  CapacityType,
  Config,
  LaunchBackoff,
  ManagedInstance,
  PlannedTermination,
} from '../events/index.js';

/** The backoff policy, from `launch.backoff` in the config. */
export interface BackoffPolicy {
  initialSeconds: number;
  maxSeconds: number;
  resetAfterSeconds: number;
}

export function backoffPolicy(config: Config): BackoffPolicy {
  return config.launch.backoff;
}

/**
 * The EC2 vCPU quota class of an instance type: standard (A, C, D, H, I, M, R, T, Z families)
 * or the family letters of a separate quota (F, G/VT, Inf, P, X, DL, Trn, HPC). On-demand and
 * spot have separate quotas per class, so a quota entry is keyed by (capacity type, class).
 */
export function quotaClassOf(instanceType: string): string {
  const family = (instanceType.split('.')[0] ?? '').toLowerCase();
  const letters = /^[a-z]+/.exec(family)?.[0] ?? '';
  if (letters.startsWith('inf')) return 'inf';
  if (letters.startsWith('trn')) return 'trn';
  if (letters.startsWith('dl')) return 'dl';
  if (letters.startsWith('hpc')) return 'hpc';
  if (letters.startsWith('vt') || letters.startsWith('g')) return 'g';
  if (letters.startsWith('p')) return 'p';
  if (letters.startsWith('x')) return 'x';
  if (letters.startsWith('f')) return 'f';
  return 'standard';
}

/** Stable identity of an entry (one stored item per key). */
export function backoffKey(
  b: Pick<LaunchBackoff, 'kind' | 'instanceType' | 'capacityType' | 'imageId' | 'quotaClass'>,
): string {
  return b.kind === 'quota'
    ? `quota#${b.capacityType}#${b.quotaClass}`
    : `launch-setup#${b.instanceType}#${b.imageId}#${b.capacityType}`;
}

/** A failure to count. */
export interface BackoffFailure {
  kind: LaunchBackoff['kind'];
  instanceType: string;
  capacityType: CapacityType;
  imageId?: string;
  reason: string;
  /** The instance the failure is about (counted once per instance). */
  instanceId?: string;
}

/** How many recent instance ids an entry remembers, so one instance is never counted twice. */
const REMEMBERED_INSTANCES = 10;

/**
 * The entry after one more failure: the count grows unless the previous failure is older than
 * `resetAfterSeconds`; the delay is `initialSeconds · 2^(failures−1)`, at most `maxSeconds`.
 * Returns `prev` unchanged when the failure's instance was counted already.
 */
export function nextBackoff(
  prev: LaunchBackoff | undefined,
  failure: BackoffFailure,
  now: Date,
  policy: BackoffPolicy,
): LaunchBackoff {
  if (prev && failure.instanceId && prev.instanceIds.includes(failure.instanceId)) return prev;
  const nowMs = now.getTime();
  const fresh = !prev || nowMs - Date.parse(prev.lastFailureAt) >= policy.resetAfterSeconds * 1000;
  const failures = fresh ? 1 : (prev?.failures ?? 0) + 1;
  const delaySeconds = Math.min(policy.maxSeconds, policy.initialSeconds * 2 ** Math.min(failures - 1, 20));
  const quotaClass = failure.kind === 'quota' ? quotaClassOf(failure.instanceType) : '';
  const ids = fresh ? [] : [...(prev?.instanceIds ?? [])];
  if (failure.instanceId) ids.push(failure.instanceId);
  return {
    kind: failure.kind,
    instanceType: failure.kind === 'quota' ? '*' : failure.instanceType,
    capacityType: failure.capacityType,
    imageId: failure.kind === 'quota' ? '' : (failure.imageId ?? ''),
    quotaClass,
    failures,
    lastFailureAt: now.toISOString(),
    until: new Date(nowMs + delaySeconds * 1000).toISOString(),
    forgetAt: new Date(nowMs + Math.max(policy.resetAfterSeconds, delaySeconds) * 1000).toISOString(),
    reason: failure.reason.slice(0, 256),
    instanceIds: ids.slice(-REMEMBERED_INSTANCES),
  };
}

/**
 * True when `b` holds back launches of `instanceType` as `capacityType` at `nowMs`. A
 * launch-setup entry matches its image only when `imageId` is given (the planner does not know
 * the AMI launch will resolve, so it treats the setup's type and capacity type as backed off).
 */
export function backoffBlocks(
  b: LaunchBackoff,
  instanceType: string,
  capacityType: CapacityType,
  nowMs: number,
  imageId?: string,
): boolean {
  if (Date.parse(b.until) <= nowMs || b.capacityType !== capacityType) return false;
  if (b.kind === 'quota') return quotaClassOf(instanceType) === b.quotaClass;
  return b.instanceType === instanceType && (imageId === undefined || imageId === b.imageId);
}

/** A one-line description: `launch setup m7g.large/ami-…/spot: 2 instances did not register; backed off until …`. */
export function describeBackoff(b: LaunchBackoff): string {
  const what =
    b.kind === 'quota'
      ? `${b.capacityType} quota (${b.quotaClass} types)`
      : `launch setup ${b.instanceType} ${b.capacityType}${b.imageId ? ` on ${b.imageId}` : ''}`;
  return `${what}: ${b.reason} (${b.failures} ${b.failures === 1 ? 'failure' : 'failures'} in a row)`;
}

/** What reconcile writes after a decision: setups to back off (more), setups to forget. */
export interface LaunchHealthUpdates {
  put: LaunchBackoff[];
  clear: string[];
}

/**
 * Registration failures to count (I10, pure): each instance ended for never registering —
 * reconcile's registration-timeout terminations and the janitor's orphans alike — counts once
 * against its (type, image, capacity type). Returns the entries to store; an instance an entry
 * counted already changes nothing, so two use-cases ending the same instance count it once.
 */
export function registrationFailureBackoffs(args: {
  failed: readonly ManagedInstance[];
  backoffs: readonly LaunchBackoff[];
  now: Date;
  policy: BackoffPolicy;
  registrationTimeoutSeconds: number;
}): LaunchBackoff[] {
  const current = new Map(args.backoffs.map((b) => [backoffKey(b), b]));
  const put = new Map<string, LaunchBackoff>();
  for (const inst of args.failed) {
    const key = backoffKey({
      kind: 'launch-setup',
      instanceType: inst.instanceType,
      capacityType: inst.capacityType,
      imageId: inst.imageId ?? '',
      quotaClass: '',
    });
    const prev = put.get(key) ?? current.get(key);
    const next = nextBackoff(
      prev,
      {
        kind: 'launch-setup',
        instanceType: inst.instanceType,
        capacityType: inst.capacityType,
        imageId: inst.imageId ?? '',
        instanceId: inst.instanceId,
        reason: `instances did not register within registrationTimeoutSeconds=${args.registrationTimeoutSeconds} (last: ${inst.instanceId})`,
      },
      args.now,
      args.policy,
    );
    if (next !== prev) put.set(key, next);
  }
  return [...put.values()];
}

/**
 * Launch-setup health from one decision (pure): every termination the plan made because the
 * instance never registered counts against its (type, image, capacity type); a setup whose
 * instance launched after its last failure has registered (`registered` is true) is forgotten.
 */
export function launchHealthUpdates(args: {
  terminations: readonly PlannedTermination[];
  instances: readonly ManagedInstance[];
  registered: (instance: ManagedInstance) => boolean;
  backoffs: readonly LaunchBackoff[];
  now: Date;
  policy: BackoffPolicy;
  registrationTimeoutSeconds: number;
}): LaunchHealthUpdates {
  const byId = new Map(args.instances.map((i) => [i.instanceId, i]));
  const failed: ManagedInstance[] = [];
  for (const t of args.terminations) {
    if (t.cause !== 'registration-timeout') continue;
    const inst = byId.get(t.instanceId);
    if (inst) failed.push(inst);
  }
  const put = new Map(
    registrationFailureBackoffs({
      failed,
      backoffs: args.backoffs,
      now: args.now,
      policy: args.policy,
      registrationTimeoutSeconds: args.registrationTimeoutSeconds,
    }).map((b) => [backoffKey(b), b]),
  );
  const current = new Map(args.backoffs.map((b) => [backoffKey(b), b]));
  const clear: string[] = [];
  for (const [key, b] of current) {
    if (b.kind !== 'launch-setup' || put.has(key)) continue;
    const healed = args.instances.some(
      (i) =>
        i.instanceType === b.instanceType &&
        i.capacityType === b.capacityType &&
        (b.imageId === '' || i.imageId === b.imageId) &&
        Date.parse(i.launchedAt) > Date.parse(b.lastFailureAt) &&
        args.registered(i),
    );
    if (healed) clear.push(key);
  }
  return { put: [...put.values()], clear };
}
