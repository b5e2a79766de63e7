/**
 * `k3s-burst verify`: prove a deployment end to end with one pod, and time every stage (issue 17).
 *
 * It creates a small pod that only a cloud node can take, follows it — Unschedulable, an
 * instance launched for it, running, its tailnet device online, the Node registered and Ready,
 * the pod Running — then deletes it and follows scale-in (Node cordoned for the drain,
 * instance terminated, device removed, Node deleted). Each stage gets the time it was first
 * seen; a stage that does not arrive in time ends the run with the stage's name and the likely
 * fix (docs/troubleshooting.md).
 *
 * What it creates is one pod, and it always removes it: on success, on failure, on Ctrl-C
 * (the CLI aborts the signal). If the process is killed outright, the pod's
 * `activeDeadlineSeconds` ends it anyway, so the node it got becomes empty and is scaled in
 * as usual; and every run first deletes test pods an earlier run left behind. Nothing else is
 * created: the instance, device and Node are the autoscaler's own, and scale-in removes them.
 */
import type { Clock } from '../core/clock.js';
import type { Config } from '../events/index.js';
import { Labels } from '../events/index.js';
import type { OpsInstance } from './instances.js';

/** The Kubernetes API as verify uses it (lib/agent's KubeClient satisfies it). */
export interface VerifyKube {
  request<T = unknown>(
    method: string,
    path: string,
    opts?: { query?: Record<string, string | number | boolean | undefined>; body?: unknown },
  ): Promise<{ status: number; body: T }>;
}

/** The cluster's EC2 instances, terminated ones included. */
export type ListInstances = () => Promise<OpsInstance[]>;

/** A tailnet device by hostname; undefined when there is none. */
export type FindDevice = (hostname: string) => Promise<{ online: boolean } | undefined>;

export interface VerifyDeps {
  kube: VerifyKube;
  instances: ListInstances;
  /** Absent when the Tailscale API cannot be used from here: the device stages are skipped, with the reason. */
  devices?: FindDevice;
  devicesSkippedBecause?: string;
  /** Wall time and the abortable wait between polls (the environment's clock; tests advance a fake). */
  clock: Pick<Clock, 'now' | 'sleep'>;
  /** Called when a stage is reached or given up, for live output. */
  onStage?: (s: StageResult) => void;
}

export interface VerifyOptions {
  config: Config;
  namespace: string;
  /** Unique per run; part of the pod name. */
  runId: string;
  image: string;
  /** How long scale-out may take, pod created → pod Running. */
  scaleOutTimeoutMs: number;
  /** How long scale-in may take, pod deleted → Node deleted; 0 skips scale-in. */
  scaleInTimeoutMs: number;
  pollMs: number;
  signal: AbortSignal;
}

export const STAGES = [
  { id: 'pod-created', phase: 'scale-out', label: 'test pod created' },
  { id: 'pod-unschedulable', phase: 'scale-out', label: 'pod Unschedulable (no room on the Pis)' },
  { id: 'instance-launched', phase: 'scale-out', label: 'instance launched (RunInstances accepted)' },
  { id: 'instance-running', phase: 'scale-out', label: 'instance running' },
  { id: 'device-online', phase: 'scale-out', label: 'tailnet device online' },
  { id: 'node-registered', phase: 'scale-out', label: 'Node registered' },
  { id: 'node-ready', phase: 'scale-out', label: 'Node Ready' },
  { id: 'pod-running', phase: 'scale-out', label: 'pod Running' },
  { id: 'pod-deleted', phase: 'scale-in', label: 'test pod deleted' },
  { id: 'node-cordoned', phase: 'scale-in', label: 'Node cordoned (drain started)' },
  { id: 'instance-terminated', phase: 'scale-in', label: 'instance terminated' },
  { id: 'device-removed', phase: 'scale-in', label: 'tailnet device removed' },
  { id: 'node-deleted', phase: 'scale-in', label: 'Node deleted' },
] as const;
export type StageId = (typeof STAGES)[number]['id'];

/** What to check when a stage never arrives (docs/troubleshooting.md has the long form). */
export const STAGE_FIXES: Record<StageId, string> = {
  'pod-created':
    'the kubeconfig identity must be allowed to create pods in the namespace (kubectl auth can-i create pods -n NAMESPACE)',
  'pod-unschedulable':
    'the scheduler placed the pod or has not tried it: check `kubectl describe pod`; the test pod selects k3s-burst.io/managed=true, which no Pi may carry',
  'instance-launched':
    'no launch for the pending pod: run `k3s-burst doctor` (agent heartbeat, pause, quotas) and `kubectl describe pod` (a NotTriggerScaleUp Event says why); docs/troubleshooting.md "A pod stays Pending"',
  'instance-running':
    'the instance did not start: see the EC2 console (state reason), quotas and capacity; docs/troubleshooting.md',
  'device-online':
    'the node did not join the tailnet: read /var/log/k3s-burst-bootstrap.log on the instance (EC2 serial console); check the OAuth client tags and tagOwners (`k3s-burst doctor`)',
  'node-registered':
    'the K3s agent did not register: bootstrap log on the instance; the server must be reachable over Tailscale at cluster.k3sServerUrl and the join token valid (`k3s-burst doctor`)',
  'node-ready':
    'the Node registered but is not Ready: `kubectl describe node`; flannel must run over tailscale0 (docs/nodes.md)',
  'pod-running':
    'the pod is not Running on the new node: `kubectl describe pod` (image pull from the node, taints and tolerations)',
  'pod-deleted': 'the kubeconfig identity must be allowed to delete pods in the namespace',
  'node-cordoned':
    'no drain of the empty node: scale-in waits scaleIn.emptyAfterSeconds; check `k3s-burst status` and the schedule (minNodes)',
  'instance-terminated':
    'the drained node was not terminated: `k3s-burst status` (in-flight drains) and the terminate function logs',
  'device-removed':
    'the tailnet device was not removed: the janitor removes it within its schedule; `k3s-burst status`',
  'node-deleted':
    'the Node object was not deleted: the agent deletes it after termination; check the agent logs',
};

export interface StageResult {
  id: StageId;
  label: string;
  status: 'ok' | 'failed' | 'skipped' | 'not-reached';
  /** ms since the pod was created (ok only). */
  atMs?: number;
  /** ms since the previous reached stage (ok only). */
  durationMs?: number;
  detail?: string;
  fix?: string;
}

export interface VerifyReport {
  runId: string;
  cluster: string;
  namespace: string;
  pod: string;
  instanceId?: string;
  nodeName?: string;
  ok: boolean;
  failedStage?: StageId;
  stages: StageResult[];
  /** Pod created → pod Running, ms (when reached). */
  podToRunningMs?: number;
  /** Whether the test pod is gone at the end (it must be). */
  cleanedUp: boolean;
}

/** Label on every test pod: how a later run finds what an interrupted one left. */
export const VERIFY_LABEL = 'k3s-burst.io/verify';

interface RawPodLite {
  metadata?: { name?: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string; reason?: string }[] };
}
interface RawNodeLite {
  metadata?: { name?: string };
  spec?: { unschedulable?: boolean; providerID?: string };
  status?: { conditions?: { type?: string; status?: string }[] };
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | undefined)?.status;
  return typeof s === 'number' ? s : undefined;
}

/** The test pod: tiny, tolerates the cloud taints, and selects managed nodes so no Pi can take it. */
export function verifyPod(o: VerifyOptions): Record<string, unknown> {
  const deadlineSeconds = Math.ceil((o.scaleOutTimeoutMs + 120_000) / 1000);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `k3s-burst-verify-${o.runId}`,
      namespace: o.namespace,
      labels: { [VERIFY_LABEL]: o.runId, 'app.kubernetes.io/name': 'k3s-burst-verify' },
    },
    spec: {
      // Ends the pod even if verify is killed before it can delete it.
      activeDeadlineSeconds: deadlineSeconds,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      nodeSelector: { [Labels.managed]: 'true', [Labels.cluster]: o.config.cluster.name },
      tolerations: o.config.nodes.taints.map((t) => ({
        key: t.key,
        operator: 'Equal',
        value: t.value ?? '',
        effect: t.effect,
      })),
      containers: [
        {
          name: 'pause',
          image: o.image,
          resources: { requests: { cpu: '50m', memory: '16Mi' }, limits: { memory: '16Mi' } },
          securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 65535 },
        },
      ],
    },
  };
}

const podsPath = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`;

/** Delete test pods earlier runs left behind (interrupted, killed). Returns their names. */
export async function deleteLeftovers(kube: VerifyKube, namespace: string): Promise<string[]> {
  const res = await kube.request<{ items?: RawPodLite[] }>('GET', podsPath(namespace), {
    query: { labelSelector: VERIFY_LABEL },
  });
  const names = (res.body.items ?? []).map((p) => p.metadata?.name ?? '').filter((n) => n !== '');
  for (const name of names) await deletePod(kube, namespace, name);
  return names.sort();
}

async function deletePod(kube: VerifyKube, namespace: string, name: string): Promise<void> {
  try {
    await kube.request('DELETE', `${podsPath(namespace)}/${encodeURIComponent(name)}`, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 },
    });
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

async function getPod(kube: VerifyKube, ns: string, name: string): Promise<RawPodLite | undefined> {
  try {
    return (await kube.request<RawPodLite>('GET', `${podsPath(ns)}/${encodeURIComponent(name)}`)).body;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

async function getNode(kube: VerifyKube, name: string): Promise<RawNodeLite | undefined> {
  try {
    return (await kube.request<RawNodeLite>('GET', `/api/v1/nodes/${encodeURIComponent(name)}`)).body;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

class Timeline {
  readonly stages = new Map<StageId, StageResult>();
  private lastAt = 0;
  constructor(
    private readonly t0: number,
    private readonly now: () => number,
    private readonly onStage?: (s: StageResult) => void,
  ) {}
  reached(id: StageId, detail?: string): void {
    if (this.stages.has(id)) return;
    const atMs = Math.max(0, this.now() - this.t0);
    const r: StageResult = { id, label: labelOf(id), status: 'ok', atMs, durationMs: atMs - this.lastAt };
    if (detail) r.detail = detail;
    this.lastAt = atMs;
    this.stages.set(id, r);
    this.onStage?.(r);
  }
  mark(id: StageId, status: 'failed' | 'skipped', detail: string): void {
    if (this.stages.has(id)) return;
    const r: StageResult = { id, label: labelOf(id), status, detail };
    if (status === 'failed') r.fix = STAGE_FIXES[id];
    this.stages.set(id, r);
    this.onStage?.(r);
  }
  has(id: StageId): boolean {
    return this.stages.get(id)?.status === 'ok';
  }
  list(): StageResult[] {
    return STAGES.map(
      (s) => this.stages.get(s.id) ?? { id: s.id, label: s.label, status: 'not-reached' as const },
    );
  }
}

function labelOf(id: StageId): string {
  return STAGES.find((s) => s.id === id)?.label ?? id;
}

function condition(
  conds: { type?: string; status?: string; reason?: string }[] | undefined,
  type: string,
): { status?: string; reason?: string } | undefined {
  return conds?.find((c) => c.type === type);
}

class StageTimeout extends Error {
  constructor(
    readonly stage: StageId,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Run the verification. Never throws for a stage that does not arrive (the report says which);
 * throws only for errors it cannot attribute to a stage (e.g. the API refused the credentials),
 * after deleting the pod.
 */
export async function runVerify(o: VerifyOptions, d: VerifyDeps): Promise<VerifyReport> {
  const podName = `k3s-burst-verify-${o.runId}`;
  const cluster = o.config.cluster.name;
  const report: VerifyReport = {
    runId: o.runId,
    cluster,
    namespace: o.namespace,
    pod: podName,
    ok: false,
    stages: [],
    cleanedUp: false,
  };
  const t0 = d.clock.now();
  const tl = new Timeline(t0, () => d.clock.now(), d.onStage);
  const known = new Set((await d.instances()).map((i) => i.instanceId));
  let podCreated = false;

  /** Poll `check` until it returns a value, the deadline passes or the run is aborted. */
  const waitFor = async <T>(
    stage: StageId,
    deadline: number,
    check: () => Promise<T | undefined>,
  ): Promise<T> => {
    for (let i = 0; i < 100_000; i++) {
      if (o.signal.aborted) throw new StageTimeout(stage, 'interrupted');
      const v = await check();
      if (v !== undefined) return v;
      if (d.clock.now() >= deadline)
        throw new StageTimeout(
          stage,
          `not reached within ${Math.round((deadline - t0) / 1000)} s of the start`,
        );
      await d.clock.sleep(o.pollMs, o.signal);
    }
    throw new StageTimeout(stage, 'poll limit reached');
  };

  try {
    await d.kube.request('POST', podsPath(o.namespace), { body: verifyPod(o) });
    podCreated = true;
    tl.reached('pod-created', `${o.namespace}/${podName}`);
    const outBy = t0 + o.scaleOutTimeoutMs;
    let instance: OpsInstance | undefined;
    let nodeName = '';
    let running = false;
    let deviceOnline = false;
    let nodeSeen = false;
    let nodeReady = false;
    // Stages of scale-out can arrive in any order between two polls; each poll checks them all.
    await waitFor('pod-running', outBy, async () => {
      const pod = await getPod(d.kube, o.namespace, podName);
      if (!pod) throw new StageTimeout('pod-running', 'the test pod disappeared (deleted by someone else?)');
      const sched = condition(pod.status?.conditions, 'PodScheduled');
      if (sched?.status === 'False' && sched.reason === 'Unschedulable') tl.reached('pod-unschedulable');
      if (!instance) {
        instance = (await d.instances()).find((i) => !known.has(i.instanceId));
        if (instance) {
          tl.reached(
            'instance-launched',
            `${instance.instanceId} (${instance.instanceType}, ${instance.capacityType}, ${instance.zone})`,
          );
          report.instanceId = instance.instanceId;
          nodeName = instance.nodeName;
          report.nodeName = nodeName;
        }
      }
      if (instance && !running) {
        const now = (await d.instances()).find((i) => i.instanceId === instance?.instanceId);
        if (now?.state === 'running') {
          running = true;
          tl.reached('instance-running');
        }
      }
      if (nodeName && d.devices && !deviceOnline) {
        const dev = await d.devices(nodeName);
        if (dev?.online) {
          deviceOnline = true;
          tl.reached('device-online', nodeName);
        }
      }
      if (nodeName && !nodeReady) {
        const node = await getNode(d.kube, nodeName);
        if (node && !nodeSeen) {
          nodeSeen = true;
          tl.reached('node-registered', nodeName);
        }
        if (node && condition(node.status?.conditions, 'Ready')?.status === 'True') {
          nodeReady = true;
          tl.reached('node-ready');
        }
      }
      if (!instance && pod.spec?.nodeName)
        throw new StageTimeout(
          'instance-launched',
          `the test pod was scheduled on existing node ${pod.spec.nodeName}, so nothing was launched to verify; run verify again when no cloud node has room (or after scale-in)`,
        );
      if (pod.status?.phase === 'Running') {
        // A pod Running on a node that is not the launched instance's is not our stage.
        if (nodeName && pod.spec?.nodeName !== nodeName)
          throw new StageTimeout(
            'pod-running',
            `the test pod runs on ${pod.spec?.nodeName}, not on the launched node ${nodeName}`,
          );
        return pod;
      }
      return undefined;
    });
    tl.reached('pod-running', nodeName);
    if (!d.devices) tl.mark('device-online', 'skipped', d.devicesSkippedBecause ?? 'no Tailscale API access');
    else if (!deviceOnline)
      tl.mark('device-online', 'skipped', 'the device was not seen online before the pod ran');
    report.podToRunningMs = tl.stages.get('pod-running')?.atMs;

    await deletePod(d.kube, o.namespace, podName);
    podCreated = false;
    tl.reached('pod-deleted');
    if (o.scaleInTimeoutMs <= 0) {
      for (const id of ['node-cordoned', 'instance-terminated', 'device-removed', 'node-deleted'] as const)
        tl.mark(id, 'skipped', 'scale-in not followed (--no-scale-in)');
    } else {
      const inBy = d.clock.now() + o.scaleInTimeoutMs;
      let terminated = false;
      let removed = !d.devices;
      await waitFor('node-deleted', inBy, async () => {
        const node = await getNode(d.kube, nodeName);
        if (node?.spec?.unschedulable) tl.reached('node-cordoned');
        if (!terminated) {
          const inst = (await d.instances()).find((i) => i.instanceId === instance?.instanceId);
          if (!inst || inst.state === 'shutting-down' || inst.state === 'terminated') {
            terminated = true;
            tl.reached('instance-terminated');
          }
        }
        if (d.devices && !removed && !(await d.devices(nodeName))) {
          removed = true;
          tl.reached('device-removed');
        }
        return !node && terminated && removed ? true : undefined;
      });
      if (!tl.has('node-cordoned')) tl.mark('node-cordoned', 'skipped', 'not observed between two polls');
      tl.reached('node-deleted');
      if (!d.devices)
        tl.mark('device-removed', 'skipped', d.devicesSkippedBecause ?? 'no Tailscale API access');
    }
    report.ok = true;
  } catch (err) {
    if (!(err instanceof StageTimeout)) throw err;
    // The first stage not reached is what failed: name it with its fix.
    const failed = STAGES.find(
      (s) => !tl.stages.has(s.id) && s.id !== 'device-online' && s.id !== 'device-removed',
    );
    const stage =
      err.stage === 'pod-running' || err.stage === 'node-deleted' ? (failed?.id ?? err.stage) : err.stage;
    tl.mark(stage, 'failed', err.message);
    report.failedStage = stage;
  } finally {
    if (podCreated) {
      try {
        await deletePod(d.kube, o.namespace, podName);
      } catch {
        // Reported below through cleanedUp=false; activeDeadlineSeconds still ends the pod.
      }
    }
    report.cleanedUp = (await getPod(d.kube, o.namespace, podName).catch(() => ({}))) === undefined;
    report.stages = tl.list();
  }
  return report;
}

/** The report as a table: one line per stage, time since start and since the previous stage. */
export function formatVerify(r: VerifyReport): string {
  const secs = (ms: number | undefined) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`);
  const width = Math.max(...r.stages.map((s) => s.label.length));
  const lines = r.stages.map((s) => {
    const mark =
      s.status === 'ok' ? 'ok  ' : s.status === 'failed' ? 'FAIL' : s.status === 'skipped' ? 'skip' : '-   ';
    const times = s.status === 'ok' ? `${secs(s.atMs).padStart(9)}  (+${secs(s.durationMs)})` : '';
    const detail = s.detail ? `  ${s.detail}` : '';
    return `${mark}  ${s.label.padEnd(width)}  ${times}${detail}`;
  });
  const head = `k3s-burst verify: cluster ${r.cluster}, pod ${r.namespace}/${r.pod}${r.instanceId ? `, instance ${r.instanceId}` : ''}`;
  const failed = r.stages.find((s) => s.status === 'failed');
  const tail = r.ok
    ? `\nverified: pod Running ${secs(r.podToRunningMs)} after it was created`
    : `\nFAILED at "${failed?.label ?? r.failedStage}": ${failed?.detail ?? ''}\nfix: ${failed?.fix ?? ''}`;
  const cleanup = r.cleanedUp
    ? '\ntest pod removed'
    : '\nWARNING: the test pod could not be deleted; delete it with kubectl (its activeDeadlineSeconds ends it anyway)';
  return `${head}\n${lines.join('\n')}\n${tail}${cleanup}\n`;
}
