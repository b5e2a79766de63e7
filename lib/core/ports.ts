/**
 * Ports: what the control plane needs from the outside world, as interfaces with contracts.
 *
 * `lib/core` owns these; `lib/aws/*` and `lib/tailscale/*` implement them; hand-written
 * in-memory fakes in `lib/sim/world/` (the simulator's world models, contract-tested in `test/support/fakes/`) implement them for unit tests and the simulator.
 * This file holds only types and the error classes the contracts name (no I/O, no SDKs),
 * so a handler can `catch (e) { if (e instanceof CapacityLimitError) … }` whichever
 * implementation it was given.
 *
 * Conventions every implementation keeps:
 * - Time comes in as a parameter (`now`) or through an injected clock (lib/core/clock.ts); no
 *   port reads the wall clock behind the caller's back where the result depends on it. They log
 *   to the one Logger (lib/core/logger.ts).
 * - Every retry loop is bounded (attempts and elapsed time).
 * - Secrets (Tailscale client secret, access tokens, auth keys, K3s tokens) never appear in
 *   logs or in error messages.
 * - Errors thrown are subclasses of {@link PortError}; `alarmable` says whether an operator
 *   must act (configuration, quota), `retryable` whether trying the same call later may work.
 */
import type { z } from 'zod';
import type {
  CapacityType,
  ClusterSnapshot,
  DrainInProgress,
  InFlightLaunch,
  LaunchBackoff,
  ManagedInstance,
  PauseState,
  Plan,
  StageTimings,
  UnavailableOffering,
} from '../events/index.js';

// ───────────────────────────── shared ─────────────────────────────

/** Uniform random number in [0, 1). Injected so backoff jitter is deterministic in tests. */
export type Random = () => number;

/** Base of every error a port contract names. */
export class PortError extends Error {
  /** An operator must act (quota, permissions, missing secret): page / alarm on it. */
  readonly alarmable: boolean = false;
  /** The same call may succeed later without anyone changing anything. */
  readonly retryable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PortError';
  }
}

// ───────────────────────────── fleet (EC2) ─────────────────────────────

/** Base of the fleet port's errors. */
export class FleetPortError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FleetPortError';
  }
}

/**
 * The account hit an EC2 quota (`VcpuLimitExceeded`, `InstanceLimitExceeded`). Falling back to
 * another type does not help; someone must raise the quota or lower `limits.maxVcpus`.
 */
export class CapacityLimitError extends FleetPortError {
  override readonly alarmable = true;
  constructor(
    readonly code: string,
    readonly instanceType: string,
    readonly capacityType: CapacityType,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `EC2 refused ${instanceType} (${capacityType}) with ${code}: ${detail}. ` +
        'Raise the EC2 quota (Service Quotas → "Running On-Demand/Spot … instances" vCPU) ' +
        'or lower limits.maxVcpus / limits.maxNodes in the k3s-burst config.',
      options,
    );
    this.name = 'CapacityLimitError';
  }
}

/** One offering tried by `launchOne` and why it did not launch. */
export interface OfferingAttempt {
  instanceType: string;
  capacityType: CapacityType;
  /** Availability zone of the subnet tried. */
  zone: string;
  subnetId: string;
  /** EC2 error code, or `cached-unavailable` when skipped because the offering cache said so. */
  outcome: string;
}

/** Every allowed offering failed with a capacity error or was known unavailable. Retry later. */
export class NoCapacityError extends FleetPortError {
  override readonly retryable = true;
  constructor(
    readonly launchKey: string,
    readonly attempts: OfferingAttempt[],
    options?: { cause?: unknown },
  ) {
    super(
      `no capacity for launch ${launchKey}: ${attempts.length} offering(s) unavailable ` +
        `(${attempts
          .slice(0, 8)
          .map((a) => `${a.instanceType}/${a.capacityType}/${a.zone}: ${a.outcome}`)
          .join('; ')}${attempts.length > 8 ? '; …' : ''}). ` +
        'Add instance types or zones to the candidates, allow on-demand, or wait for capacity.',
      options,
    );
    this.name = 'NoCapacityError';
  }
}

/** `terminate` was given instance ids that do not carry this cluster's tag; nothing was terminated. */
export class ForeignInstanceError extends FleetPortError {
  override readonly alarmable = true;
  constructor(
    readonly cluster: string,
    readonly instanceIds: string[],
  ) {
    super(
      `refusing to terminate ${instanceIds.join(', ')}: not tagged k3s-burst:cluster=${cluster}. ` +
        'k3s-burst only terminates instances it launched for this cluster; nothing was terminated.',
    );
    this.name = 'ForeignInstanceError';
  }
}

/** What `launchOne` launches: exactly one instance. */
export interface LaunchOneRequest {
  /**
   * EC2 ClientToken, deterministic and ≤ 64 ASCII chars: `${launchId}-${index}`. Also written
   * as the `k3s-burst:launch-key` tag, which `launchOne` looks up before launching (moto and
   * a ClientToken that outlived its instance both make the tag the second half of idempotency).
   */
  clientToken: string;
  decisionId: string;
  launchId: string;
  /** Index of this instance within its launch group (0-based). */
  index: number;
  /** Allowed instance types, most preferred first. */
  instanceTypes: string[];
  /** Allowed capacity types, most preferred first (e.g. `['spot', 'on-demand']`). */
  capacityTypes: CapacityType[];
  /** Allowed zones; absent or empty: every subnet the adapter was configured with. */
  zones?: string[];
  /** AMI to boot; must match the architecture of every type in `instanceTypes`. */
  imageId: string;
  /** Raw user-data script (≤ 16 KB); the adapter base64-encodes it. Contains secrets: never logged. */
  userData: string;
  /** Root volume size, GiB (the plan's, sized to the pods' ephemeral storage); absent = the adapter's default. */
  rootVolumeGiB?: number;
  /** Why (written to the `k3s-burst:launch-reason` tag, truncated to 256 chars). */
  reason: string;
  /** A warm-pool fill: tag the instance `k3s-burst:warm-pool=member` (lib/core/warm-pool.ts). */
  warmPool?: boolean;
}

/** What `start` starts: one stopped warm-pool member, for one index of a launch group. */
export interface StartMemberRequest {
  instanceId: string;
  /** The launch key of the group index (`${launchId}-${index}`), written as `k3s-burst:launch-key`. */
  clientToken: string;
  /** Written as `k3s-burst:decision-id`, so the planner matches the start to its in-flight record. */
  decisionId: string;
  /** Written to `k3s-burst:launch-reason` (truncated to 256 chars). */
  reason: string;
  /**
   * User data to set before the start (ModifyInstanceAttribute, allowed while stopped): how a
   * member gets a fresh join credential. Contains secrets: never logged. Absent = unchanged.
   */
  userData?: string;
}

/**
 * `start` cannot start this member now: EC2 has no capacity for its type in its zone, or the
 * member is not stopped (stopping, gone) or no longer a member. The caller launches instead.
 */
export class WarmStartUnavailableError extends FleetPortError {
  override readonly retryable = true;
  constructor(
    readonly instanceId: string,
    readonly outcome: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot start warm-pool member ${instanceId}: ${outcome}. The instance is launched instead; the pool is refilled in the background.`,
      options,
    );
    this.name = 'WarmStartUnavailableError';
  }
}

/** `stop` was given an instance that is not a warm-pool member: k3s-burst never stops other instances. */
export class NotPoolMemberError extends FleetPortError {
  override readonly alarmable = true;
  constructor(readonly instanceIds: string[]) {
    super(
      `refusing to stop ${instanceIds.join(', ')}: not tagged k3s-burst:warm-pool=member. ` +
        'k3s-burst stops only warm-pool members it launched to park; nothing was stopped.',
    );
    this.name = 'NotPoolMemberError';
  }
}

export interface StopResult {
  /** Ids EC2 accepted for stopping now. */
  stopping: string[];
  /** Ids already stopping or stopped: treated as success. */
  alreadyStopped: string[];
  /** Ids shutting-down, terminated or unknown to EC2: nothing to stop. */
  gone: string[];
}

/** The instance `launchOne` started, or found already started for the same launch key. */
export interface LaunchedInstance {
  instanceId: string;
  instanceType: string;
  capacityType: CapacityType;
  zone: string;
  subnetId: string;
  /** Node name = configured prefix + instance id; also tagged `k3s-burst:node-name`. */
  nodeName: string;
  launchedAt: string;
  state: ManagedInstance['state'];
  /** True when an instance with this launch key already existed and nothing was launched. */
  reused: boolean;
  /** Offerings tried before this one, in order (capacity failures and cache skips). */
  attempts: OfferingAttempt[];
}

export interface TerminateResult {
  /** Ids EC2 accepted for termination now. */
  terminating: string[];
  /** Ids already shutting-down/terminated or unknown to EC2: treated as success. */
  alreadyGone: string[];
}

/**
 * The EC2 instances of one cluster. The adapter is constructed for one cluster, region,
 * node-name prefix and subnet set.
 */
export interface FleetPort {
  /**
   * Instances tagged `k3s-burst:cluster=<cluster>` in pending, running, stopping, stopped or
   * shutting-down (plus terminated when `includeTerminated`). `nodeName` is always
   * prefix + instance id, even before the node-name tag is written.
   * Throws {@link FleetPortError} when EC2 cannot be read (after SDK retries).
   */
  list(opts?: { includeTerminated?: boolean }): Promise<ManagedInstance[]>;
  /**
   * The instance (any state, a live one first) tagged with this cluster and
   * `k3s-burst:launch-key = launchKey`, as `reused: true`; undefined when there is none. Launch
   * asks before minting a Tailscale key, so a redelivered request mints nothing. A warm start
   * under this key that started but was not yet re-tagged `started` is re-tagged here (it is
   * this launch's node).
   * Throws {@link FleetPortError} when EC2 cannot be read or that re-tag fails.
   */
  findLaunched(launchKey: string): Promise<LaunchedInstance | undefined>;
  /**
   * Launch ONE instance. First returns an existing instance (any state) tagged with
   * this cluster and `k3s-burst:launch-key = clientToken` (`reused: true`). Otherwise tries
   * offerings in order capacity type → instance type → zone, skipping those the
   * {@link OfferingCache} lists as unavailable, passing `clientToken` as the EC2 ClientToken.
   * A capacity error (`InsufficientInstanceCapacity`, `InsufficientAddressCapacity`,
   * `UnfulfillableCapacity`, `SpotMaxPriceTooLow`, `Unsupported`, …) marks the offering
   * unavailable and moves to the next.
   * Throws {@link CapacityLimitError} on `VcpuLimitExceeded` / `InstanceLimitExceeded` (no
   * further offerings tried), {@link NoCapacityError} when every offering failed, and
   * {@link FleetPortError} for anything else (bad AMI, permissions…).
   */
  launchOne(req: LaunchOneRequest): Promise<LaunchedInstance>;
  /**
   * Terminate instances by id (never by count or filter). Verifies every id carries this
   * cluster's tag first and throws {@link ForeignInstanceError} (terminating none) if any does
   * not. Already-terminated or unknown ids count as success (`alreadyGone`).
   */
  terminate(instanceIds: string[]): Promise<TerminateResult>;
  /**
   * Start ONE stopped warm-pool member for a launch-group index. Verifies the cluster tag
   * ({@link ForeignInstanceError}) and the member tag; sets `userData` when given, writes the
   * launch key, decision id and reason, StartInstances, then `k3s-burst:warm-pool=started` (the
   * member tag changes only once the start succeeded: launch may never write `member`, see
   * docs/iam.md). Idempotent (I7): an instance already started under the same launch key is
   * returned `reused: true` (one started but not yet re-tagged is re-tagged; a member under
   * this key that is still stopped is started again; a `started` one that is stopped is an
   * ordinary node and is not). Throws {@link WarmStartUnavailableError} when it cannot start (capacity
   * error, not stopped, not a member) — with its launch tags restored; it never stopped being a
   * member, so it stays in the pool — and {@link FleetPortError} for anything else.
   */
  start(req: StartMemberRequest): Promise<LaunchedInstance>;
  /**
   * Stop warm-pool members by id (park them). Verifies every id carries this cluster's tag
   * ({@link ForeignInstanceError}) and `k3s-burst:warm-pool=member` ({@link NotPoolMemberError}),
   * stopping none if any does not. Already stopping/stopped ids count as success.
   */
  stop(instanceIds: string[]): Promise<StopResult>;
}

/**
 * Offerings that recently failed with a capacity error, remembered for
 * `launch.unavailableOfferingTtlSeconds`. Reconcile reads them into `FleetState.unavailableOfferings`.
 */
export interface OfferingCache {
  /** Remember an offering as unavailable until `offering.until`. Later `until` wins. */
  markUnavailable(offering: UnavailableOffering): Promise<void>;
  /** Offerings whose `until` is after `now`. */
  listUnavailable(now: Date): Promise<UnavailableOffering[]>;
}

// ───────────────────────────── bus (EventBridge) ─────────────────────────────

export class BusPortError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusPortError';
  }
}

/** An entry is over the 256 KB PutEvents limit. Thrown before anything is sent. */
export class EventTooLargeError extends BusPortError {
  constructor(
    readonly source: string,
    readonly detailType: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `event ${source} / ${detailType} is ${bytes} bytes, over the PutEvents entry limit of ` +
        `${limitBytes} bytes; nothing was sent. Split or trim the detail (snapshots: encodeSnapshotDetail).`,
    );
    this.name = 'EventTooLargeError';
  }
}

export interface BusEntry {
  source: string;
  detailType: string;
  /** A JSON string, or an object the adapter serialises with JSON.stringify. */
  detail: string | object;
  resources?: string[];
  time?: Date;
}

export interface PutFailure {
  /** Index of the entry in the array given to `put`. */
  index: number;
  errorCode: string;
  errorMessage: string;
}

export interface PutResult {
  /** Event id per input entry (undefined where the entry finally failed). */
  eventIds: (string | undefined)[];
  /** Entries still failing after the bounded retries. Empty on full success. */
  failed: PutFailure[];
}

/** The cluster's custom event bus. */
export interface BusPort {
  /**
   * Send entries in batches of ≤ 10, retrying only the entries that failed (per-entry
   * errors and whole-batch request errors) with bounded attempts, backoff and jitter.
   * Never throws for entries that keep failing: they are returned in `failed` so the caller
   * can report a partial failure. Throws {@link EventTooLargeError} before sending anything
   * when an entry exceeds 256 KB.
   */
  put(entries: BusEntry[]): Promise<PutResult>;
}

// ───────────────────────────── state (DynamoDB) ─────────────────────────────

export class StatePortError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StatePortError';
  }
}

export interface StoredSnapshot {
  snapshot: ClusterSnapshot;
  /**
   * When the control plane received it: EventBridge's receive time (the envelope's `time`,
   * which the agent does not set), capped at the Lambda's clock — never the agent's clock
   * (I12). A snapshot delayed in transit is therefore as old as it really is (I8).
   */
  storedAt: string;
}

/** One reconcile decision as journaled. */
export interface DecisionRecord {
  plan: Plan;
  /** What triggered the reconcile: `snapshot`, `tick`, `ec2-state-change`, … */
  trigger: string;
}

/**
 * Control-plane state of one or more clusters (DynamoDB single table in production).
 * Every method is safe to call concurrently from several Lambdas; the guarded writes are
 * single conditional writes, so they are atomic. Throws {@link StatePortError} when the store
 * cannot be reached (after SDK retries).
 */
export interface StatePort {
  /**
   * Store the snapshot unless one with the same or a higher `seq` is stored already (I7):
   * `'stored'` or `'stale'`. Atomic: two concurrent writers cannot both store lower seqs over higher.
   * `receivedAt` (default `now`) is stored as `storedAt`; `now`, the caller's clock, decides
   * whether a stored seq is future-dated (I12 self-heal). The two differ for a snapshot that
   * waited in transit: judging "future" by its older receive time would let it replace a
   * newer snapshot (I7).
   */
  putSnapshotIfNewer(snapshot: ClusterSnapshot, now: Date, receivedAt?: Date): Promise<'stored' | 'stale'>;
  getLatestSnapshot(cluster: string): Promise<StoredSnapshot | undefined>;

  /**
   * Journal a decision; the record expires `ttlSeconds` after `plan.decidedAt` (DynamoDB TTL).
   * `'duplicate'` when this decision id was journaled already (a redelivered event).
   */
  journalDecision(record: DecisionRecord, ttlSeconds: number): Promise<'recorded' | 'duplicate'>;
  /** Most recent decisions first, at most `limit`. */
  listRecentDecisions(cluster: string, limit: number): Promise<DecisionRecord[]>;

  /** Record decided launches (upsert by launchId); each expires at its `expiresAt`. */
  recordInFlight(cluster: string, launches: InFlightLaunch[]): Promise<void>;
  /** In-flight launches whose `expiresAt` is after `now`. */
  listInFlight(cluster: string, now: Date): Promise<InFlightLaunch[]>;
  /** Forget in-flight launches (unknown ids are ignored). */
  clearInFlight(cluster: string, launchIds: string[]): Promise<void>;

  /** Record (upsert by instance id) a drain the agent was asked for. */
  recordDrain(cluster: string, drain: DrainInProgress): Promise<void>;
  listDrains(cluster: string): Promise<DrainInProgress[]>;
  /** Forget a drain (unknown ids are ignored). */
  clearDrain(cluster: string, instanceId: string): Promise<void>;

  /** Remember the time of a launch decision; an earlier time never overwrites a later one. */
  recordScaleOut(cluster: string, at: Date): Promise<void>;
  lastScaleOutAt(cluster: string): Promise<string | undefined>;

  /**
   * Try to become the single writer (reconcile) of `cluster` for `ttlSeconds`. True when the
   * lease was free, expired at `now`, or already held by `holder` (then it is extended).
   * One conditional write: of two concurrent acquirers at most one gets true (I1).
   */
  acquireLease(cluster: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean>;
  /** Release the lease if `holder` still holds it; a no-op otherwise. */
  releaseLease(cluster: string, holder: string): Promise<void>;

  /**
   * Dedup of redelivered events: true the first time `eventId` is marked (and remembered for
   * `ttlSeconds` from `now`), false when it was marked before and has not expired. Atomic.
   */
  markEventSeen(eventId: string, now: Date, ttlSeconds: number): Promise<boolean>;

  /** The cluster's offering cache, stored in the same table. */
  offeringCache(cluster: string): OfferingCache;

  /**
   * The operator's pause (`k3s-burst pause`), or undefined when not paused. Reconcile reads it
   * under the lease on every decision, so a pause stops launches from the next reconcile on.
   */
  getPause(cluster: string): Promise<PauseState | undefined>;
  /** Set (or replace) the pause. */
  setPause(cluster: string, pause: PauseState): Promise<void>;
  /** Remove the pause; returns the one that was set, or undefined when there was none. */
  clearPause(cluster: string): Promise<PauseState | undefined>;

  /**
   * Launch backoffs (I10) not yet forgotten: entries whose `forgetAt` is after `now` (their
   * `until` may be past: the count still grows the next delay). See lib/core/backoff.ts.
   */
  listBackoffs(cluster: string, now: Date): Promise<LaunchBackoff[]>;
  /** Store (upsert by `backoffKey`) a backoff entry computed with `nextBackoff`. */
  putBackoff(cluster: string, backoff: LaunchBackoff): Promise<void>;
  /** Forget a backoff after a success (unknown keys are ignored). */
  clearBackoff(cluster: string, key: string): Promise<void>;

  /**
   * The recent burst stage durations (issue 17 item 2, lib/core/stage-timings.ts), undefined
   * when none were recorded. Written only by reconcile under its lease, so a read-modify-write
   * needs no condition.
   */
  getStageTimings(cluster: string): Promise<StageTimings | undefined>;
  /** Replace the recorded stage durations (bounded by `nextStageTimings`). */
  putStageTimings(cluster: string, timings: StageTimings): Promise<void>;
}

// ───────────────────────────── secrets ─────────────────────────────

export class SecretsPortError extends PortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretsPortError';
  }
}

/** The secret does not exist, has no current value, or its value is empty. */
export class SecretNotSetError extends SecretsPortError {
  override readonly alarmable = true;
  constructor(
    readonly secretName: string,
    why: string,
    options?: { cause?: unknown },
  ) {
    super(
      `secret "${secretName}" ${why}. Set it with: ` +
        `aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string file://value.json`,
      options,
    );
    this.name = 'SecretNotSetError';
  }
}

/** The secret's value is not the JSON the schema expects. The message names fields, never values. */
export class SecretInvalidError extends SecretsPortError {
  override readonly alarmable = true;
  constructor(
    readonly secretName: string,
    problems: string[],
  ) {
    super(
      `secret "${secretName}" does not have the expected shape: ${problems.join('; ')}. ` +
        `Fix it with: aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string file://value.json`,
    );
    this.name = 'SecretInvalidError';
  }
}

/** Read-only secret store with a TTL cache. Values are never logged or put in errors. */
export interface SecretsPort {
  /**
   * The current string value. Cached for the adapter's TTL.
   * Throws {@link SecretNotSetError} (missing/empty) or {@link SecretsPortError}.
   */
  getSecret(name: string): Promise<string>;
  /** The value parsed as JSON and validated; throws {@link SecretInvalidError} on mismatch. */
  getJsonSecret<T>(name: string, schema: z.ZodType<T>): Promise<T>;
}

// ───────────────────────────── device registry (Tailscale) ─────────────────────────────

export type DeviceRegistryErrorKind = 'auth' | 'forbidden' | 'rate-limited' | 'unavailable' | 'permanent';

/**
 * Base of the device registry's errors. `kind` lets a caller decide without knowing the
 * implementation: `auth`/`forbidden`/`permanent` need an operator (alarmable),
 * `rate-limited`/`unavailable` are retryable later.
 */
export class DeviceRegistryError extends PortError {
  override readonly alarmable: boolean;
  override readonly retryable: boolean;
  constructor(
    readonly kind: DeviceRegistryErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeviceRegistryError';
    this.retryable = kind === 'rate-limited' || kind === 'unavailable';
    this.alarmable = !this.retryable;
  }
}

export interface MintAuthKeyRequest {
  /** Tags the joining device gets, e.g. `['tag:k3s-burst']`; must be owned by the credential. */
  tags: string[];
  expirySeconds: number;
  /** ≤ 50 chars of letters, digits, hyphens and spaces (Tailscale rule); longer is truncated. */
  description: string;
  /**
   * Whether the device is removed automatically once offline. Default true. False only for a
   * warm-pool member, whose device must survive its stops (the janitor deletes it, I4).
   */
  ephemeral?: boolean;
}

/** A minted key. `key` is secret: put it only into user data, never in logs or events. */
export interface MintedAuthKey {
  id: string;
  key: string;
  expires: string;
}

/** A tailnet device, fields as k3s-burst uses them (Tailscale API `Device`, default fields). */
export interface Device {
  /** Legacy numeric id (string). */
  id: string;
  /** Preferred id for API calls. */
  nodeId: string;
  hostname: string;
  /** MagicDNS name. */
  name: string;
  tags: string[];
  addresses: string[];
  connectedToControl: boolean;
  /** Absent when connected or never seen. */
  lastSeen?: string;
  /** May be empty for external devices. */
  created: string;
  isEphemeral: boolean;
  os: string;
}

/** The tailnet. Every call retries rate limits and 5xx within a bounded budget. */
export interface DeviceRegistryPort {
  /**
   * Mint a single-use (`reusable: false`), pre-authorized, tagged auth key, ephemeral unless
   * `ephemeral: false` (tagged devices have key expiry disabled).
   * Throws {@link DeviceRegistryError} (kind says whether to retry).
   */
  mintAuthKey(req: MintAuthKeyRequest): Promise<MintedAuthKey>;
  /** Devices carrying `tag` (filtered server-side and again client-side). */
  listDevices(opts: { tag: string }): Promise<Device[]>;
  /** Delete by nodeId; `'not-found'` (already gone) is a success. */
  deleteDevice(nodeId: string): Promise<'deleted' | 'not-found'>;
}
