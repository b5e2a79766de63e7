/**
 * Launch: carry out one ScaleOutRequested. Pure orchestration over ports.
 *
 * First the launch guard (`lib/core/launch-guard.ts`, I12): a request without the decider's
 * in-flight record, or outside `nodes.candidateTypes` / `nodes.capacityTypes` / `limits` / the
 * active schedule (counting the live fleet), is refused before anything is minted or
 * launched: logged with the reason, counted as `LaunchRequestsRefused` (alarm).
 *
 * Per instance `index` of the launch group (0 … count-1):
 * 0. An instance already tagged with its launch key (`${launchId}-${index}`) is reused as is.
 * 1. Mint ONE Tailscale auth key: single-use, ephemeral, pre-authorized, tagged with
 *    `tailscale.tags`, expiring after `tailscale.authKeyExpirySeconds`. If it cannot be minted,
 *    that instance and the rest of the group are NOT launched (a node without a key could
 *    never join and would only cost money until the janitor found it).
 * 2. For each allowed capacity type in order (spot, then on-demand…): render the user data
 *    for that capacity type (it labels the node) and call `FleetPort.launchOne` restricted to
 *    it. The adapter checks the launch-key tag first (`${launchId}-${index}` = ClientToken
 *    base, so a redelivered request reuses the instance), then falls back across instance
 *    types and zones on capacity errors, remembering unavailable offerings. This use-case
 *    only adds the capacity-type loop the user data requires — no other fallback logic.
 * 3. Emit `InstanceLaunched` with every instance launched or reused.
 *
 * The K3s join token comes from the secret of `k3s.joinCredential`. In `bootstrap-token` mode
 * (default) it is the agent's published bootstrap token, `{token, tokenId, expiresAt}`: when it
 * is missing, malformed, or valid for less than `JOIN_TOKEN_MIN_VALIDITY_SECONDS` (a node
 * could not join before it expires), nothing is launched (`JoinTokenUnavailable`, error
 * logged with the fix, in-flight record cleared so reconcile re-plans once the agent has
 * published a fresh one). A stale agent stops launches earlier: reconcile plans none while
 * the snapshot is stale, long before a token published by the agent runs out.
 *
 * While the operator's pause is set (`k3s-burst pause`), a request that passed the guard is
 * refused too (`LaunchesPaused`, warning logged, in-flight record cleared): reconcile already
 * plans no launch while paused; this covers a request written just before the pause.
 *
 * Failures:
 * - `CapacityLimitError` (EC2 quota): the quota (capacity type, quota class) is backed off with
 *   a growing delay (I10, lib/core/backoff.ts) and the next capacity type is tried (spot and
 *   on-demand have separate quotas); when none launches, counted as `CapacityLimitErrors`
 *   (alarm), logged with the fix, the group stops; not thrown. A launch that succeeds resets
 *   the quota backoff of its capacity type and class.
 * - Launch setups (type, image, capacity type) and quotas under backoff are not tried; when
 *   nothing is left the request launches nothing (`LaunchesBackedOff`) and reconcile re-plans.
 * - `NoCapacityError` for every capacity type: `LaunchFailures`, group stops, not thrown.
 * - Tailscale `auth` / `forbidden` / `permanent`: `TailscaleKeyFailures` (and `TailscaleAuthFailures`
 *   for `auth`: the OAuth client, or the STS identity token / its exchange, was refused), group
 *   stops, not thrown.
 * - Tailscale `rate-limited` / `unavailable` after the client's own bounded retries, or any
 *   other port error: thrown after emitting what was launched, so Lambda retries the event;
 *   the retry reuses the launched instances by launch key.
 * - A request older than `launch.inFlightTtlSeconds` − 60 s (EventBridge and Lambda retries
 *   can deliver late) launches nothing: reconcile stopped counting it and may have re-planned.
 * When the group stops short, the in-flight record is shrunk to what was launched (or
 *   cleared), so the next reconcile plans the rest again instead of waiting for its expiry.
 *
 * A redelivered request finds the instance of each index by its launch key
 * (`FleetPort.findLaunched`) BEFORE a key is minted, so it mints nothing; `launchOne` checks the
 * launch key again (and EC2's ClientToken), which covers a concurrent duplicate. Secrets (agent
 * token, auth keys, user data) are never logged.
 */

import { backoffBlocks, backoffKey, backoffPolicy, nextBackoff, quotaClassOf } from '../core/backoff.js';
import { launchKeyFor } from '../core/ids.js';
import { checkScaleOutRequest } from '../core/launch-guard.js';
import {
  CapacityLimitError,
  DeviceRegistryError,
  type LaunchedInstance,
  NoCapacityError,
  type OfferingAttempt,
  SecretInvalidError,
  SecretNotSetError,
  WarmStartUnavailableError,
} from '../core/ports.js';
import {
  type CapacityType,
  DetailTypes,
  type InstanceLaunched,
  JOIN_TOKEN_MIN_VALIDITY_SECONDS,
  type LaunchBackoff,
  type ManagedInstance,
  SCHEMA_VERSION,
  Sources,
} from '../events/index.js';
import { JoinTokenSecret, joinTokenRemainingSeconds } from '../events/join-token.js';
import {
  renderUserData,
  renderWarmStartUserData,
  UserDataError,
  userDataInputFromConfig,
} from '../userdata/index.js';
import { type ControlBase, ControlError, ControlMetrics, type ControlPorts, emitAll } from './common.js';
import type { LaunchInput } from './inputs.js';

/** Launch uses every port. */
export type LaunchDeps = ControlBase & ControlPorts;

export interface LaunchOptions {
  /**
   * Secret id (ARN in Lambda) of the K3s join token of `k3s.joinCredential`: the agent's
   * bootstrap-token secret (JSON {@link JoinTokenSecret}), or the agent token (plain text).
   */
  joinTokenSecretId: string;
}

export type LaunchOutcome =
  /** Every instance of the group is launched (or was already). */
  | 'launched'
  /** Some or none launched; the reason is in `stoppedBy`. */
  | 'partial'
  | 'failed';

export interface LaunchResult {
  outcome: LaunchOutcome;
  launchId: string;
  instances: LaunchedInstance[];
  /** Why the group stopped short (absent when complete). */
  stoppedBy?:
    | 'capacity-limit'
    | 'no-capacity'
    | 'tailscale'
    | 'invalid-user-data'
    | 'expired'
    | 'refused'
    | 'paused'
    | 'backoff'
    | 'join-credential';
  /** Why the launch guard refused the request (with `stoppedBy: 'refused'`). */
  refusal?: string;
  /** Detail types emitted. */
  emitted: string[];
}

/** A retryable failure after part of the group was handled; Lambda retries the event. */
export class LaunchRetryError extends ControlError {
  constructor(
    readonly launchId: string,
    readonly launched: number,
    cause: unknown,
  ) {
    super(
      `launch ${launchId} stopped after ${launched} instance(s): ${cause instanceof Error ? cause.message : String(cause)}; the event is retried and launched instances are reused by launch key`,
      { cause },
    );
    this.name = 'LaunchRetryError';
  }
}

/** A request is acted on only while its in-flight record has at least this long to live. */
export const EXPIRY_MARGIN_SECONDS = 60;

export async function launch(
  input: LaunchInput,
  deps: LaunchDeps,
  opts: LaunchOptions,
): Promise<LaunchResult> {
  const { config, log, metrics } = deps;
  const req = input.request;
  const group = req.launch;
  const cluster = config.cluster.name;

  // A request older than its in-flight record is no longer counted by reconcile, which may
  // have planned other capacity for the same pods since: launching now could exceed the max (I1).
  const ageMs = deps.clock.now() - Date.parse(req.requestedAt);
  const validMs = (config.launch.inFlightTtlSeconds - EXPIRY_MARGIN_SECONDS) * 1000;
  if (ageMs > validMs) {
    metrics.count(ControlMetrics.launchFailures);
    log.warn('scale-out request outlived its in-flight record; not launching (reconcile re-plans)', {
      launchId: group.launchId,
      requestedAt: req.requestedAt,
      ageSeconds: Math.round(ageMs / 1000),
    });
    return { outcome: 'failed', launchId: group.launchId, instances: [], emitted: [], stoppedBy: 'expired' };
  }

  // I12: only a request the decider recorded, within the config and the limits, is acted on.
  const listed = await deps.fleet.list();
  const verdict = checkScaleOutRequest({
    config,
    request: req,
    inFlight: await deps.state.listInFlight(cluster, new Date(deps.clock.now())),
    instances: listed,
    now: new Date(deps.clock.now()),
  });
  if (!verdict.ok) {
    metrics.count(ControlMetrics.launchRequestsRefused);
    log.error('scale-out request refused by the launch guard; nothing was launched', {
      launchId: group.launchId.slice(0, 80),
      decisionId: req.decisionId.slice(0, 80),
      eventId: input.eventId,
      check: verdict.check,
      reason: verdict.reason,
    });
    return {
      outcome: 'failed',
      launchId: group.launchId,
      instances: [],
      emitted: [],
      stoppedBy: 'refused',
      refusal: verdict.reason,
    };
  }

  // Defence in depth behind reconcile (which plans no launch while paused): a request the
  // decider wrote just before `k3s-burst pause`, or redelivered during it, launches nothing.
  const pause = await deps.state.getPause(cluster);
  if (pause) {
    metrics.count(ControlMetrics.launchesPaused, group.count);
    log.warn('scale-out request refused: launches are paused (run k3s-burst resume to allow them)', {
      launchId: group.launchId,
      decisionId: req.decisionId,
      count: group.count,
      pausedSince: pause.since,
      pausedBy: pause.by,
    });
    // Reconcile plans afresh after resume instead of counting this launch until its record expires.
    await shrinkInFlight(deps, cluster, group.launchId, 0);
    return { outcome: 'failed', launchId: group.launchId, instances: [], emitted: [], stoppedBy: 'paused' };
  }

  // Secrets and the AMI first: without them nothing can launch (errors name the secret/parameter).
  const joinToken = await readJoinToken(deps, opts.joinTokenSecretId);
  if (!joinToken.ok) {
    metrics.count(ControlMetrics.joinTokenUnavailable);
    log.error('no usable K3s join token; not launching', {
      launchId: group.launchId,
      joinCredential: config.k3s.joinCredential,
      reason: joinToken.reason,
    });
    await shrinkInFlight(deps, cluster, group.launchId, 0);
    return {
      outcome: 'failed',
      launchId: group.launchId,
      instances: [],
      emitted: [],
      stoppedBy: 'join-credential',
      refusal: joinToken.reason,
    };
  }
  const agentToken = joinToken.token;
  const imageId = await deps.images.imageFor(group.arch);

  // I10: launch setups (type, image, capacity type) and quotas that are backed off are not
  // tried; what remains is tried in the usual order.
  const now = new Date(deps.clock.now());
  let backoffs = await deps.state.listBackoffs(cluster, now);
  const allowedTypes = (capacityType: CapacityType) =>
    group.instanceTypes.filter(
      (t) => !backoffs.some((b) => backoffBlocks(b, t, capacityType, now.getTime(), imageId)),
    );
  if (group.capacityTypes.every((c) => allowedTypes(c).length === 0)) {
    metrics.count(ControlMetrics.launchesBackedOff);
    log.warn('every offering of this launch is backed off; not launching (reconcile re-plans)', {
      launchId: group.launchId,
      backoffs: backoffs
        .filter((b) => Date.parse(b.until) > now.getTime())
        .map((b) => ({ kind: b.kind, type: b.instanceType, cap: b.capacityType, until: b.until })),
    });
    await shrinkInFlight(deps, cluster, group.launchId, 0);
    return { outcome: 'failed', launchId: group.launchId, instances: [], emitted: [], stoppedBy: 'backoff' };
  }

  const instances: LaunchedInstance[] = [];
  let stoppedBy: LaunchResult['stoppedBy'];
  let retryable: unknown;

  for (let index = 0; index < group.count && !stoppedBy && !retryable; index++) {
    const clientToken = launchKeyFor(group.launchId, index);
    // A redelivered request finds its instance by launch key before a Tailscale key is minted.
    let found: LaunchedInstance | undefined;
    try {
      found = await deps.fleet.findLaunched(clientToken);
    } catch (err) {
      log.warn('looking up the launch key failed; the event is retried', {
        launchId: group.launchId,
        index,
        message: err instanceof Error ? err.message : String(err),
      });
      retryable = err;
      break;
    }
    const memberId = group.warmStarts?.[index];
    // A start re-tagged but not started (crash, retry) is found stopped: start it again.
    if (found && !(memberId === found.instanceId && found.state === 'stopped')) {
      metrics.count(ControlMetrics.instancesReused);
      instances.push(found);
      continue;
    }
    if (memberId !== undefined) {
      try {
        const started = await startMember(deps, req, index, memberId, listed, agentToken);
        if (started) {
          instances.push(started);
          continue;
        }
      } catch (err) {
        log.warn('starting a warm-pool member failed; the event is retried', {
          launchId: group.launchId,
          index,
          instanceId: memberId,
          message: err instanceof Error ? err.message : String(err),
        });
        retryable = err;
        break;
      }
    }
    let authKey: string;
    try {
      const minted = await deps.devices.mintAuthKey({
        tags: config.tailscale.tags,
        expirySeconds: config.tailscale.authKeyExpirySeconds,
        description: `k3s-burst ${cluster} ${clientToken}`,
        // A warm-pool member's device must survive its stops (the janitor removes it, I4).
        ...(group.warmPool ? { ephemeral: false } : {}),
      });
      authKey = minted.key;
    } catch (err) {
      metrics.count(ControlMetrics.tailscaleKeyFailures);
      if (err instanceof DeviceRegistryError && err.kind === 'auth')
        metrics.count(ControlMetrics.tailscaleAuthFailures);
      if (err instanceof DeviceRegistryError && !err.retryable) {
        log.error(
          'cannot mint a Tailscale auth key; not launching (an operator must fix the Tailscale credential: see message)',
          {
            launchId: group.launchId,
            index,
            kind: err.kind,
            message: err.message,
          },
        );
        stoppedBy = 'tailscale';
      } else {
        log.warn('Tailscale auth key not minted (retryable); not launching, the event is retried', {
          launchId: group.launchId,
          index,
          message: err instanceof Error ? err.message : String(err),
        });
        retryable = err;
      }
      break;
    }

    const attempts: OfferingAttempt[] = [];
    let launched: LaunchedInstance | undefined;
    let quotaHit: CapacityLimitError | undefined;
    try {
      for (const capacityType of group.capacityTypes) {
        const instanceTypes = allowedTypes(capacityType);
        if (instanceTypes.length === 0) continue;
        const userData = renderUserData(
          userDataInputFromConfig(config, { agentToken, tailscaleAuthKey: authKey }, capacityType, {
            warmPool: group.warmPool === true,
          }),
        );
        try {
          launched = await deps.fleet.launchOne({
            clientToken,
            decisionId: req.decisionId,
            launchId: group.launchId,
            index,
            instanceTypes,
            capacityTypes: [capacityType as CapacityType],
            zones: group.zones,
            imageId,
            userData,
            ...(group.rootVolumeGiB !== undefined ? { rootVolumeGiB: group.rootVolumeGiB } : {}),
            reason: group.reason,
            ...(group.warmPool ? { warmPool: true } : {}),
          });
          break;
        } catch (err) {
          if (err instanceof CapacityLimitError) {
            // A quota is per capacity type (and quota class): back it off, try the next type.
            quotaHit = err;
            backoffs = await backOffQuota(deps, cluster, backoffs, err);
            continue;
          }
          if (!(err instanceof NoCapacityError)) throw err;
          attempts.push(...err.attempts);
          log.warn('no capacity for this capacity type; trying the next', {
            launchId: group.launchId,
            index,
            capacityType,
            tried: err.attempts.length,
          });
        }
      }
    } catch (err) {
      if (err instanceof UserDataError) {
        // Config or secret problem (e.g. a server token in the agent-token secret): not retryable.
        metrics.count(ControlMetrics.launchFailures);
        log.error('user data cannot be rendered: launch stopped', {
          launchId: group.launchId,
          field: err.field,
          message: err.message,
        });
        stoppedBy = 'invalid-user-data';
        break;
      }
      log.warn('launch failed; the event is retried', {
        launchId: group.launchId,
        index,
        error: err instanceof Error ? err.name : 'Error',
        message: err instanceof Error ? err.message : String(err),
      });
      retryable = err;
      break;
    }
    if (!launched && quotaHit) {
      metrics.count(ControlMetrics.capacityLimitErrors);
      log.error('EC2 quota reached: launch stopped and the quota backed off', {
        launchId: group.launchId,
        index,
        code: quotaHit.code,
        message: quotaHit.message,
      });
      stoppedBy = 'capacity-limit';
      break;
    }
    if (!launched) {
      metrics.count(ControlMetrics.launchFailures);
      log.warn('no capacity in any allowed offering: launch stopped', {
        launchId: group.launchId,
        index,
        attempts: attempts.slice(0, 20),
      });
      stoppedBy = 'no-capacity';
      break;
    }
    metrics.count(launched.reused ? ControlMetrics.instancesReused : ControlMetrics.instancesLaunched);
    instances.push(launched);
    if (!launched.reused) backoffs = await resetQuota(deps, cluster, backoffs, launched);
  }

  const emitted = await emitLaunched(input, instances, deps);
  if (retryable) throw new LaunchRetryError(group.launchId, instances.length, retryable);
  if (stoppedBy) await shrinkInFlight(deps, cluster, group.launchId, instances.length);
  const outcome: LaunchOutcome = stoppedBy ? (instances.length > 0 ? 'partial' : 'failed') : 'launched';
  log.info('launch done', {
    launchId: group.launchId,
    outcome,
    stoppedBy,
    instances: instances.map((i) => ({
      instanceId: i.instanceId,
      instanceType: i.instanceType,
      capacityType: i.capacityType,
      zone: i.zone,
      reused: i.reused,
      fallbacks: i.attempts.length,
    })),
  });
  return { outcome, launchId: group.launchId, instances, emitted, ...(stoppedBy ? { stoppedBy } : {}) };
}

/**
 * A planned warm start (plan field `warmStarts`, lib/core/warm-pool.ts) for one index: checked
 * like a launch (I12: the guard passed the group's count, types and limits; here the member must
 * be a stopped pool member of this cluster, of a type, capacity type and zone the group allows),
 * given a fresh join credential in its user data, then started. `undefined` = launch this index
 * instead (the check failed, or EC2 could not start it: capacity, state); the pool is refilled by
 * reconcile. Other port errors are thrown (the event is retried; the start is idempotent).
 */
async function startMember(
  deps: LaunchDeps,
  req: LaunchInput['request'],
  index: number,
  instanceId: string,
  listed: readonly ManagedInstance[],
  agentToken: string,
): Promise<LaunchedInstance | undefined> {
  const { config, log, metrics } = deps;
  const group = req.launch;
  const m = listed.find((i) => i.instanceId === instanceId);
  const problem = !m
    ? 'it is not an instance of this cluster'
    : m.warmPool !== 'member'
      ? 'it is not a warm-pool member'
      : m.state !== 'stopped'
        ? `it is ${m.state}, not stopped`
        : !group.instanceTypes.includes(m.instanceType)
          ? `its type ${m.instanceType} is not among launch.instanceTypes`
          : !group.capacityTypes.includes(m.capacityType)
            ? `its capacity type ${m.capacityType} is not among launch.capacityTypes`
            : group.zones.length > 0 && !group.zones.includes(m.zone)
              ? `its zone ${m.zone} is not among launch.zones`
              : undefined;
  if (problem) {
    metrics.count(ControlMetrics.warmStartFallbacks);
    log.warn('planned warm start not possible; launching this index instead', {
      launchId: group.launchId,
      index,
      instanceId: instanceId.slice(0, 40),
      reason: problem,
    });
    return undefined;
  }
  let userData: string;
  try {
    userData = renderWarmStartUserData({ agentToken, joinCredential: config.k3s.joinCredential });
  } catch (err) {
    if (!(err instanceof UserDataError)) throw err;
    metrics.count(ControlMetrics.warmStartFallbacks);
    log.error('warm-start user data cannot be rendered; launching instead', { field: err.field });
    return undefined;
  }
  try {
    const started = await deps.fleet.start({
      instanceId,
      clientToken: launchKeyFor(group.launchId, index),
      decisionId: req.decisionId,
      reason: group.reason,
      userData,
    });
    metrics.count(started.reused ? ControlMetrics.instancesReused : ControlMetrics.warmStarts);
    log.info('warm-pool member started', {
      launchId: group.launchId,
      index,
      instanceId,
      reused: started.reused,
    });
    return started;
  } catch (err) {
    if (!(err instanceof WarmStartUnavailableError)) throw err;
    metrics.count(ControlMetrics.warmStartFallbacks);
    log.warn('warm-pool member could not start; launching this index instead', {
      launchId: group.launchId,
      index,
      instanceId,
      outcome: err.outcome,
    });
    return undefined;
  }
}

async function emitLaunched(
  input: LaunchInput,
  instances: LaunchedInstance[],
  deps: LaunchDeps,
): Promise<string[]> {
  if (instances.length === 0) return [];
  const detail: InstanceLaunched = {
    schemaVersion: SCHEMA_VERSION,
    cluster: input.request.cluster,
    decisionId: input.request.decisionId,
    launchId: input.request.launch.launchId,
    instances: instances.map((i) => ({
      instanceId: i.instanceId,
      instanceType: i.instanceType,
      zone: i.zone,
      capacityType: i.capacityType,
      nodeName: i.nodeName,
    })),
    launchedAt: new Date(deps.clock.now()).toISOString(),
  };
  return emitAll(
    deps.bus,
    [{ source: Sources.launch, detailType: DetailTypes.instanceLaunched, detail }],
    deps,
  );
}

/**
 * The join token of `k3s.joinCredential`, or why there is none usable. Only expected refusals
 * (missing, malformed, expiring) are results; a failed read (permissions, network) throws so
 * Lambda retries. Reasons never contain the value.
 */
async function readJoinToken(
  deps: LaunchDeps,
  secretId: string,
): Promise<{ ok: true; token: string } | { ok: false; reason: string }> {
  if (deps.config.k3s.joinCredential === 'agent-token') {
    return { ok: true, token: await deps.secrets.getSecret(secretId) };
  }
  let value: JoinTokenSecret;
  try {
    value = await deps.secrets.getJsonSecret(secretId, JoinTokenSecret);
  } catch (err) {
    if (err instanceof SecretNotSetError) {
      return {
        ok: false,
        reason: `the bootstrap-token secret has no value yet (${err.message}): the agent publishes one when it runs with --bootstrap-token-secret (docs/security.md)`,
      };
    }
    if (err instanceof SecretInvalidError) {
      return {
        ok: false,
        reason: `the bootstrap-token secret ${secretId} does not hold {token, tokenId, expiresAt} (${err.message}); only the agent may write it`,
      };
    }
    throw err;
  }
  const remaining = joinTokenRemainingSeconds(value, new Date(deps.clock.now()));
  if (remaining < JOIN_TOKEN_MIN_VALIDITY_SECONDS) {
    return {
      ok: false,
      reason: `bootstrap token ${value.tokenId} ${remaining <= 0 ? `expired at ${value.expiresAt}` : `expires in ${remaining} s (at ${value.expiresAt})`}, under the ${JOIN_TOKEN_MIN_VALIDITY_SECONDS} s a node needs to join: the agent has not renewed it; check its log and the k3s_burst_agent_join_token_failures_total metric`,
    };
  }
  return { ok: true, token: value.token };
}

/**
 * The group stopped short for good: keep only the launched part in flight (it may not be
 * listed by EC2 yet), so the next reconcile plans the remainder instead of waiting.
 */
async function shrinkInFlight(
  deps: LaunchDeps,
  cluster: string,
  launchId: string,
  launched: number,
): Promise<void> {
  const current = (await deps.state.listInFlight(cluster, new Date(deps.clock.now()))).find(
    (f) => f.launchId === launchId,
  );
  if (!current) return;
  if (launched === 0) await deps.state.clearInFlight(cluster, [launchId]);
  else await deps.state.recordInFlight(cluster, [{ ...current, count: launched }]);
}

/** I10: a quota error backs off its (capacity type, quota class) with a growing delay. */
async function backOffQuota(
  deps: LaunchDeps,
  cluster: string,
  backoffs: LaunchBackoff[],
  err: CapacityLimitError,
): Promise<LaunchBackoff[]> {
  const now = new Date(deps.clock.now());
  const failure = {
    kind: 'quota' as const,
    instanceType: err.instanceType,
    capacityType: err.capacityType,
    reason: err.code,
  };
  const key = backoffKey({
    ...failure,
    instanceType: '*',
    imageId: '',
    quotaClass: quotaClassOf(err.instanceType),
  });
  const prev = backoffs.find((b) => backoffKey(b) === key);
  const next = nextBackoff(prev, failure, now, backoffPolicy(deps.config));
  await deps.state.putBackoff(cluster, next);
  deps.metrics.count(ControlMetrics.launchBackoffs);
  deps.log.warn('EC2 quota backed off', {
    capacityType: next.capacityType,
    quotaClass: next.quotaClass,
    failures: next.failures,
    until: next.until,
  });
  return [...backoffs.filter((b) => backoffKey(b) !== key), next];
}

/** A launch succeeded: the quota of its capacity type and class is not exhausted any more. */
async function resetQuota(
  deps: LaunchDeps,
  cluster: string,
  backoffs: LaunchBackoff[],
  launched: LaunchedInstance,
): Promise<LaunchBackoff[]> {
  const cls = quotaClassOf(launched.instanceType);
  const hit = backoffs.filter(
    (b) => b.kind === 'quota' && b.capacityType === launched.capacityType && b.quotaClass === cls,
  );
  for (const b of hit) await deps.state.clearBackoff(cluster, backoffKey(b));
  return hit.length ? backoffs.filter((b) => !hit.includes(b)) : backoffs;
}
