/**
 * EC2 and the tailnet as the simulation models them: instances that RunInstances created boot
 * (log-normal time), run `tailscale up` with the single-use key from their user data, and
 * register their kubelet as a Node (log-normal join time) unless the scenario breaks their
 * bootstrap; spot instances get interruption warnings and are reclaimed two minutes later;
 * terminated instances shut down (the kubelet goes silent, the device logs out when it can);
 * Tailscale outages make cloud nodes NotReady after the node monitor's grace period and hold
 * joins back until the tailnet returns. The scenario's capacity and quota windows answer each
 * RunInstances attempt. EC2 state changes and spot warnings go onto the account's default bus.
 *
 * Warm pool (lib/core/warm-pool.ts): a member launched in warm mode registers with the warming
 * taint; StopInstances stops it (the kubelet goes silent, its device stays, offline: members do
 * not log out); StartInstances boots it with the warm-start distributions, its device comes back
 * online and — when the user data holds a fresh join credential, as the warm-start unit requires —
 * the kubelet registers again, without the warming taint when its Node was deleted while parked.
 * A Node object that still exists keeps its taints: the kubelet applies its registration taints
 * only when it creates the Node.
 */
import { SPOT_NOTICE_MS } from '../control/index.js';
import { type Catalog, cloudNodeLabels, parseLaunchKey } from '../core/index.js';
import type { LaunchOneRequest, StartMemberRequest } from '../core/ports.js';
import { parkedMemberHourlyUsd } from '../core/warm-pool.js';
import {
  AWS_PROVIDER_ID_PREFIX,
  type CapacityType,
  DetailTypes,
  Labels,
  Sources,
  type Taint,
} from '../events/index.js';
import type { ClusterModel } from './cluster-model.js';
import type { SimInstance, SimNode } from './model.js';
import type { WarmPoolMember } from './results.js';
import type { Rng } from './rng.js';
import { clockMinutes } from './scenario.js';
import { MINUTE, NODE_MONITOR_GRACE_MS, NODE_RECOVER_MS, type SimContext } from './sim-context.js';
import type { FakeFleet, FakeInstance } from './world/index.js';
import type { RoutingBus } from './world/routing-bus.js';
import type { Tailnet } from './world/tailnet.js';

/**
 * The taint a warm-pool member registers with while warming (userdata/bootstrap.sh.tpl's k3s
 * config drop-in; a test checks the rendered warm-mode script carries exactly this one).
 */
export const WARMING_TAINT: Taint = { key: 'k3s-burst.io/warming', value: 'true', effect: 'NoSchedule' };

/** What the cloud model is wired to. */
export interface CloudModelDeps {
  ctx: SimContext;
  catalog: Catalog;
  cluster: ClusterModel;
  fleet: FakeFleet;
  tailnet: Tailnet;
  /** The account's default bus (EC2 events). */
  ec2Bus: RoutingBus;
  /** Boot and join times, boot failures. */
  cloudRng: Rng;
  /** Spot interruptions (shared with delivery faults: one stream, drawn in agenda order). */
  faultRng: Rng;
  /** When reconcile decided a launch id (for I3's and I10's clocks). */
  decidedAt: (launchId: string) => number | undefined;
  /** The home internet went down or came back (the agent's link to AWS). */
  agentLink: (reason: string, on: boolean) => void;
}

/** The EC2 instances and the tailnet they join. */
export class CloudModel {
  readonly instances = new Map<string, SimInstance>();
  private readonly ctx: SimContext;
  private readonly catalog: Catalog;
  private readonly cluster: ClusterModel;
  private readonly fleet: FakeFleet;
  private readonly tailnet: Tailnet;
  private readonly ec2Bus: RoutingBus;
  private readonly cloudRng: Rng;
  private readonly faultRng: Rng;
  private readonly decidedAt: (launchId: string) => number | undefined;
  private readonly agentLink: (reason: string, on: boolean) => void;

  constructor(deps: CloudModelDeps) {
    this.ctx = deps.ctx;
    this.catalog = deps.catalog;
    this.cluster = deps.cluster;
    this.fleet = deps.fleet;
    this.tailnet = deps.tailnet;
    this.ec2Bus = deps.ec2Bus;
    this.cloudRng = deps.cloudRng;
    this.faultRng = deps.faultRng;
    this.decidedAt = deps.decidedAt;
    this.agentLink = deps.agentLink;
  }

  /** The instance finished shutting down: EC2 reports it terminated. */
  shutdownDone(id: string): void {
    const i = this.instances.get(id);
    if (i && i.state === 'shutting-down') {
      i.state = 'terminated';
      i.terminatedAtMs = this.ctx.now;
      this.fleet.setState(i.instanceId, 'terminated');
      this.ec2StateChange(i.instanceId, 'terminated');
    }
  }

  /** The node monitor's grace period ran out: a still-unreachable node turns NotReady. */
  nodeNotReady(name: string, gen: number): void {
    const n = this.cluster.nodes.get(name);
    if (n?.ready && this.nodeGen(n) === gen && this.nodeUnreachable(n)) {
      n.ready = false;
      n.readySinceMs = this.ctx.now;
      this.cluster.changed();
    }
  }

  /** EC2 puts an event on the account's default bus (spot warnings, state changes). */
  private ec2Event(detailType: string, detail: Record<string, unknown>): void {
    this.ec2Bus.emit(Sources.ec2, detailType, detail, []);
  }

  private ec2StateChange(instanceId: string, state: string): void {
    this.ec2Event(DetailTypes.ec2StateChange, { 'instance-id': instanceId, state });
  }

  /** Whether the clock time of now lies in a scenario window [from, to) (it may wrap midnight). */
  private inWindow(w: { from: string; to: string }): boolean {
    const minuteOfDay = Math.floor((this.ctx.now % 86_400_000) / MINUTE);
    const from = clockMinutes(w.from);
    const to = clockMinutes(w.to);
    return from <= to ? minuteOfDay >= from && minuteOfDay < to : minuteOfDay >= from || minuteOfDay < to;
  }

  /**
   * The world's answer to one RunInstances attempt: the scenario's capacity and quota windows.
   * Every attempt is traced (I10 checks quota retries against the backoff).
   */
  capacityError(o: { instanceType: string; capacityType: CapacityType; zone: string }): string | undefined {
    const hit = this.ctx.sc.faults.capacityErrors.find((w) => {
      if (w.instanceType !== '*' && w.instanceType !== o.instanceType) return false;
      if (w.zone !== '*' && w.zone !== o.zone && `${this.ctx.cfg.cluster.region}${w.zone}` !== o.zone)
        return false;
      if (w.capacityType !== '*' && w.capacityType !== o.capacityType) return false;
      return this.inWindow(w);
    });
    this.ctx.trace({ kind: 'run-instances', atMs: this.ctx.now, ...o, outcome: hit?.code ?? 'launched' });
    if (!hit) return undefined;
    if (hit.code === 'VcpuLimitExceeded' || hit.code === 'InstanceLimitExceeded')
      this.ctx.stats.quotaRefusals++;
    else this.ctx.stats.capacityFallbacks++;
    return hit.code;
  }

  /** A launch setup the scenario breaks for a while: its instances boot but never register. */
  private brokenSetup(inst: FakeInstance): boolean {
    return this.ctx.sc.faults.brokenLaunchSetups.some(
      (w) =>
        (w.instanceType === '*' || w.instanceType === inst.instanceType) &&
        (w.capacityType === '*' || w.capacityType === inst.capacityType) &&
        this.inWindow(w),
    );
  }

  /** RunInstances created an instance: it boots. */
  onLaunched(inst: FakeInstance, req: LaunchOneRequest): void {
    const id = inst.instanceId;
    const sim: SimInstance = {
      instanceId: id,
      instanceType: inst.instanceType,
      zone: inst.zone,
      capacityType: inst.capacityType,
      state: 'pending',
      launchedAtMs: this.ctx.now,
      nodeName: inst.nodeName,
      decisionId: req.decisionId,
      launchId: req.launchId,
      launchKey: req.clientToken,
      reason: req.reason,
      hourlyUsd: this.catalog.get(inst.instanceType)
        ? this.catalog.hourlyUsd(inst.instanceType, inst.capacityType)
        : 0,
      // Drawn first: a broken-setup window leaves the seed's other draws as they were.
      failsToJoin: this.cloudRng.chance(this.ctx.sc.cloud.failedBootProbability) || this.brokenSetup(inst),
      rootVolumeGiB: inst.rootVolumeGiB ?? this.ctx.cfg.nodes.rootVolumeGiB,
      starts: 0,
      ...(req.warmPool ? { warmPool: 'member' as const } : {}),
    };
    this.instances.set(id, sim);
    this.ctx.stats.instancesLaunched++;
    if (req.warmPool) this.ctx.stats.warmPoolFills++;
    const key = `${inst.instanceType}/${inst.capacityType}`;
    this.ctx.stats.launchesByType[key] = (this.ctx.stats.launchesByType[key] ?? 0) + 1;
    this.ctx.trace({
      kind: 'instance-created',
      atMs: this.ctx.now,
      instanceId: id,
      launchId: req.launchId,
      index: req.index,
      decidedAtMs: this.decidedAt(req.launchId) ?? this.ctx.now,
      setup: { instanceType: inst.instanceType, capacityType: inst.capacityType, imageId: inst.imageId },
      nodeName: inst.nodeName,
    });
    this.ctx.note(`EC2: ${id} ${inst.instanceType} ${inst.capacityType} in ${inst.zone} pending`);
    const alive = this.aliveInstances();
    if (alive > this.ctx.stats.peakCloudInstances) this.ctx.stats.peakCloudInstances = alive;
    this.ec2StateChange(id, 'pending');
    this.ctx.at(this.cloudRng.logNormalMs(this.ctx.sc.cloud.boot), { k: 'boot', id });
  }

  aliveInstances(): number {
    let n = 0;
    for (const i of this.instances.values()) if (i.state === 'pending' || i.state === 'running') n++;
    return n;
  }

  boot(id: string): void {
    const i = this.instances.get(id);
    if (i?.state !== 'pending') return;
    i.state = 'running';
    i.bootedAtMs = this.ctx.now;
    this.fleet.setState(id, 'running');
    this.ec2StateChange(id, 'running');
    if (i.capacityType === 'spot' && this.ctx.sc.faults.spotInterruptionsPerNodeHour > 0) {
      this.ctx.at(this.faultRng.exponentialMs(this.ctx.sc.faults.spotInterruptionsPerNodeHour), {
        k: 'spot-warning',
        id,
      });
    }
    if (i.starts > 0) this.warmBoot(i);
    else this.tailscaleUp(i);
  }

  /**
   * A started member booted: tailscaled reconnects with the device it kept (no key needed), and
   * the warm-start unit hands k3s-agent the fresh join credential from the user data before the
   * kubelet registers again. Without that credential the unit fails closed: it never registers.
   */
  private warmBoot(i: SimInstance): void {
    if (!i.deviceId || !this.tailnet.hasDevice(i.deviceId)) {
      i.joinFailed = true;
      this.ctx.note(`${i.instanceId}: started, but its tailnet device is gone; it will never register`);
      return;
    }
    if (this.tailnet.down) return; // reconnects when the tailnet is back (tailscaleOutage)
    this.tailnet.online(i.deviceId);
    // What k3s-burst-warm-start.service reads: a non-empty K3S_BURST_JOIN_TOKEN line (the real
    // renderer's output; test/integration/sim/warm-pool*.test.ts hold the two together).
    const userData = this.fleet.instances.get(i.instanceId)?.userData ?? '';
    if (!/^K3S_BURST_JOIN_TOKEN='[^']+'$/m.test(userData)) {
      i.failsToJoin = true;
      this.ctx.stats.warmStartsFailed++;
      this.ctx.note(`${i.instanceId}: started without a warm-start credential; it will never register`);
      return;
    }
    this.ctx.at(this.cloudRng.logNormalMs(this.ctx.sc.cloud.warmStart.join), { k: 'join', id: i.instanceId });
  }

  /**
   * The bootstrap's `tailscale up` with the single-use key the launch Lambda put into the user
   * data. While the tailnet is down it waits (retried when it is back); a spent or expired key
   * fails the bootstrap, and the instance never registers (the janitor's business).
   */
  private tailscaleUp(i: SimInstance): void {
    if (i.deviceId || i.state !== 'running' || i.joinFailed || this.tailnet.down) return;
    const userData = this.fleet.instances.get(i.instanceId)?.userData ?? '';
    const key = /^TAILSCALE_AUTH_KEY='([^']*)'/m.exec(userData)?.[1] ?? '';
    try {
      const device = this.tailnet.join(i.nodeName, key);
      i.deviceId = device.nodeId;
      this.ctx.trace({
        kind: 'device-created',
        atMs: this.ctx.now,
        deviceId: device.nodeId,
        instanceId: i.instanceId,
      });
    } catch (err) {
      i.joinFailed = true;
      this.ctx.note(
        `${i.instanceId}: tailscale up failed (${(err as Error).message}); it will never register`,
      );
      return;
    }
    if (i.failsToJoin) {
      this.ctx.note(`${i.instanceId} booted but its bootstrap fails: it will never register`);
      return;
    }
    this.ctx.at(this.cloudRng.logNormalMs(this.ctx.sc.cloud.join), { k: 'join', id: i.instanceId });
  }

  join(id: string): void {
    const i = this.instances.get(id);
    if (i?.state !== 'running' || i.registeredAtMs !== undefined) return;
    if (this.tailnet.down) return; // retried when the tailnet is back
    const spec = this.catalog.get(i.instanceType);
    if (!spec) return;
    const existing = this.cluster.nodes.get(i.nodeName);
    if (existing) {
      // The kubelet of a started member finds its old Node object: it reports Ready again, but
      // registration taints (and labels) apply only when the kubelet creates the Node.
      existing.ready = true;
      existing.readySinceMs = this.ctx.now;
      i.registeredAtMs = this.ctx.now;
      this.ctx.trace({ kind: 'instance-registered', atMs: this.ctx.now, instanceId: id });
      this.cluster.changed();
      this.cluster.queueSched();
      return;
    }
    const node: SimNode = {
      name: i.nodeName,
      onPrem: false,
      providerID: `${AWS_PROVIDER_ID_PREFIX}${i.zone}/${id}`,
      labels: {
        ...cloudNodeLabels(this.ctx.cfg, spec, i.zone, i.capacityType),
        [Labels.hostname]: i.nodeName,
      },
      taints:
        i.warmPool === 'member' ? [...this.ctx.cfg.nodes.taints, WARMING_TAINT] : this.ctx.cfg.nodes.taints,
      allocatable: this.cluster.cloudAllocatable(spec),
      daemonCpuMilli: 0,
      daemonMemoryMiB: 0,
      daemonPods: 0,
      usedCpuMilli: 0,
      usedMemoryMiB: 0,
      pods: new Set(),
      ready: true,
      readySinceMs: this.ctx.now,
      cordoned: false,
      createdAtMs: this.ctx.now,
      instanceId: id,
      instanceType: i.instanceType,
      zone: i.zone,
      capacityType: i.capacityType,
      model: `${i.instanceType} (${i.capacityType})`,
    };
    this.cluster.applyDaemonSets(node);
    this.cluster.nodes.set(node.name, node);
    i.registeredAtMs = this.ctx.now;
    this.ctx.trace({ kind: 'instance-registered', atMs: this.ctx.now, instanceId: id });
    this.cluster.changed();
    this.cluster.queueSched();
  }

  /** Node generation for NotReady timers: changes whenever readiness flips. */
  private nodeGen(n: SimNode): number {
    return n.readySinceMs;
  }

  private nodeUnreachable(n: SimNode): boolean {
    if (n.onPrem) return false;
    const i = n.instanceId ? this.instances.get(n.instanceId) : undefined;
    return this.tailnet.down || !i || i.state !== 'running';
  }

  spotWarning(id: string): void {
    const i = this.instances.get(id);
    if (i?.state !== 'running') return;
    i.interruptedAtMs = this.ctx.now;
    this.ctx.stats.spotInterruptions++;
    this.ctx.trace({ kind: 'instance-interrupted', atMs: this.ctx.now, instanceId: id });
    this.ctx.note(`EC2: spot interruption warning for ${id} (reclaimed in 2 min)`);
    this.ec2Event(DetailTypes.ec2SpotInterruption, { 'instance-id': id, 'instance-action': 'terminate' });
    this.ctx.at(SPOT_NOTICE_MS, { k: 'spot-reclaim', id });
  }

  spotReclaim(id: string): void {
    const i = this.instances.get(id);
    if (!i || (i.state !== 'running' && i.state !== 'pending')) return;
    this.ctx.note(`EC2: spot instance ${id} reclaimed`);
    this.fleet.setState(id, 'shutting-down');
    this.shutDown(i, this.faultRng.chance(0.8));
  }

  /** The terminate or janitor Lambda's TerminateInstances reached EC2. */
  onTerminating(id: string): void {
    const i = this.instances.get(id);
    if (!i) return;
    if (i.state === 'stopped' || i.state === 'stopping') {
      // Nothing runs: no logout (the device stays for the janitor), no kubelet to go silent.
      this.ctx.note(`EC2: terminate ${id} (${i.state} warm-pool member)`);
      this.settleStopped(i);
      this.shutDown(i, false);
      return;
    }
    if (i.state !== 'running' && i.state !== 'pending') return;
    this.ctx.note(`EC2: terminate ${id}`);
    this.shutDown(i, i.warmPool !== 'member');
  }

  /**
   * Reconcile's StopInstances reached EC2 (a park): the OS shuts down — k3s-agent and the kubelet
   * stop, tailscaled goes without logging out (a member has no logout unit) — and EC2 reports
   * the instance stopped `cloud.shutdownSeconds` later.
   */
  onStopping(id: string): void {
    const i = this.instances.get(id);
    if (!i || (i.state !== 'running' && i.state !== 'pending')) return;
    const node = this.podsEndWithInstance(i);
    i.state = 'stopping';
    this.ctx.stats.warmParks++;
    this.ctx.note(`EC2: stop ${id} (park warm-pool member)`);
    this.ec2StateChange(id, 'stopping');
    if (i.deviceId) this.tailnet.offline(i.deviceId);
    if (node?.ready)
      this.ctx.at(NODE_MONITOR_GRACE_MS, { k: 'node-not-ready', node: node.name, gen: this.nodeGen(node) });
    this.ctx.at(this.ctx.sc.cloud.shutdownSeconds * 1000, { k: 'stop-done', id });
  }

  /** The member finished stopping: EC2 reports it stopped; from now on it costs its volume only. */
  stopDone(id: string): void {
    const i = this.instances.get(id);
    if (i?.state !== 'stopping') return;
    i.state = 'stopped';
    i.stoppedAtMs = this.ctx.now;
    i.registeredAtMs = undefined;
    i.bootedAtMs = undefined;
    this.fleet.setState(id, 'stopped');
    this.ctx.trace({ kind: 'instance-stopped', atMs: this.ctx.now, instanceId: id });
    this.ec2StateChange(id, 'stopped');
  }

  /** A stopping member told to terminate: it counts as stopped from here (no more stop-done). */
  private settleStopped(i: SimInstance): void {
    if (i.state === 'stopping') {
      i.state = 'stopped';
      i.stoppedAtMs = this.ctx.now;
      this.ctx.trace({ kind: 'instance-stopped', atMs: this.ctx.now, instanceId: i.instanceId });
    }
  }

  /**
   * The launch Lambda's StartInstances reached EC2 (a warm start for one index of a launch): the
   * member boots with the warm-start distributions and is an ordinary node from now on.
   */
  onStarting(inst: FakeInstance, req: StartMemberRequest): void {
    const i = this.instances.get(inst.instanceId);
    if (i?.state !== 'stopped') return;
    const { launchId, index } = parseLaunchKey(req.clientToken) ?? { launchId: req.clientToken, index: 0 };
    i.state = 'pending';
    i.warmPool = 'started';
    i.starts++;
    i.launchId = launchId;
    i.launchKey = req.clientToken;
    i.decisionId = req.decisionId;
    i.reason = req.reason;
    i.hourlyUsd = this.catalog.get(i.instanceType)
      ? this.catalog.hourlyUsd(i.instanceType, i.capacityType)
      : 0;
    i.stoppedAtMs = undefined;
    i.registeredAtMs = undefined;
    i.failsToJoin = false;
    this.ctx.stats.warmStarts++;
    this.ctx.trace({
      kind: 'instance-started',
      atMs: this.ctx.now,
      instanceId: i.instanceId,
      launchId,
      index,
      decidedAtMs: this.decidedAt(launchId) ?? this.ctx.now,
    });
    this.ctx.note(
      `EC2: start ${i.instanceId} ${i.instanceType} in ${i.zone} (warm-pool member) for ${launchId}`,
    );
    const alive = this.aliveInstances();
    if (alive > this.ctx.stats.peakCloudInstances) this.ctx.stats.peakCloudInstances = alive;
    this.ec2StateChange(i.instanceId, 'pending');
    this.ctx.at(this.cloudRng.logNormalMs(this.ctx.sc.cloud.warmStart.boot), { k: 'boot', id: i.instanceId });
  }

  /** Warm-pool members alive now (not started, not gone), oldest first: `simulate`'s listing. */
  poolMembers(): WarmPoolMember[] {
    const out: WarmPoolMember[] = [];
    for (const i of this.instances.values()) {
      if (i.warmPool !== 'member' || i.state === 'shutting-down' || i.state === 'terminated') continue;
      out.push({
        instanceId: i.instanceId,
        instanceType: i.instanceType,
        zone: i.zone,
        state: i.state,
        ageSeconds: Math.round((this.ctx.now - i.launchedAtMs) / 1000),
        hourlyUsd: i.state === 'stopped' ? this.parkedHourlyUsd(i) : i.hourlyUsd,
      });
    }
    return out;
  }

  /** What a stopped member costs per hour: its root volume. */
  parkedHourlyUsd(i: SimInstance): number {
    return parkedMemberHourlyUsd(i.rootVolumeGiB);
  }

  /** The instance stops running: the pods on its Node end with it (I9 judges whether that was allowed). */
  private podsEndWithInstance(i: SimInstance): SimNode | undefined {
    const node = this.cluster.nodes.get(i.nodeName);
    if (node && node.pods.size > 0)
      this.ctx.trace({
        kind: 'workload-killed',
        atMs: this.ctx.now,
        node: node.name,
        pods: node.pods.size,
        how: 'instance-stopped',
      });
    return node;
  }

  /** The instance stops: the kubelet goes silent, Tailscale logs out if it can. */
  private shutDown(i: SimInstance, tailscaleLogout: boolean): void {
    const n = this.podsEndWithInstance(i);
    i.state = 'shutting-down';
    i.goneAtMs = this.ctx.now;
    this.ctx.stats.instancesTerminated++;
    this.ctx.trace({ kind: 'instance-gone', atMs: this.ctx.now, instanceId: i.instanceId });
    this.ec2StateChange(i.instanceId, 'shutting-down');
    if (i.deviceId) {
      if (tailscaleLogout && !this.tailnet.down) this.tailnet.logout(i.deviceId);
      else this.tailnet.offline(i.deviceId);
    }
    if (n?.ready)
      this.ctx.at(NODE_MONITOR_GRACE_MS, { k: 'node-not-ready', node: n.name, gen: this.nodeGen(n) });
    this.ctx.at(this.ctx.sc.cloud.shutdownSeconds * 1000, { k: 'shutdown-done', id: i.instanceId });
  }

  tailscaleOutage(on: boolean, agentAffected: boolean): void {
    this.tailnet.down = on;
    if (on) this.ctx.stats.tailscaleOutages++;
    this.ctx.note(
      on
        ? `Tailscale outage begins${agentAffected ? ' (home internet down: agent cut off too)' : ''}`
        : 'Tailscale outage ends',
    );
    if (agentAffected) this.agentLink('tailscale-outage', !on);
    for (const n of this.cluster.nodes.values()) {
      if (n.onPrem) continue;
      if (on && n.ready) {
        this.ctx.at(NODE_MONITOR_GRACE_MS, { k: 'node-not-ready', node: n.name, gen: this.nodeGen(n) });
      } else if (!on && !n.ready) {
        const i = n.instanceId ? this.instances.get(n.instanceId) : undefined;
        if (i?.state === 'running') {
          n.ready = true;
          n.readySinceMs = this.ctx.now + NODE_RECOVER_MS;
          this.cluster.changed();
          this.cluster.queueSched();
        }
      }
    }
    if (!on) {
      // Instances that booted during the outage join the tailnet, then the cluster, now.
      for (const i of this.instances.values()) {
        if (i.state !== 'running' || i.registeredAtMs !== undefined) continue;
        if (i.starts > 0) {
          if (!i.joinFailed && !i.failsToJoin) this.warmBoot(i);
        } else if (!i.deviceId) this.tailscaleUp(i);
        else if (!i.failsToJoin)
          this.ctx.at(this.cloudRng.logNormalMs(this.ctx.sc.cloud.join), { k: 'join', id: i.instanceId });
      }
    }
  }
}
