/**
 * The agent's timings and sizes, grouped by the component that uses them, with their
 * defaults in one place ({@link AGENT_DEFAULTS}). Each component falls back to these values,
 * the CLI's flags default to them, and docs/agent.md's "Tuning" table is checked against them
 * (test/unit/agent/options.test.ts), so a default is changed here or nowhere.
 */
import { LEASE_NAME } from './rbac.js';

/** Every tunable of the agent, per component. */
export interface AgentTuning {
  /** Snapshot batching and publishing (publisher.ts). */
  publisher: {
    /** Quiet time after a change before a snapshot is published. */
    batchIdleMs: number;
    /** Longest a change waits while changes keep coming. */
    batchMaxMs: number;
    /** Snapshot interval when nothing changes (the control plane's liveness signal). */
    heartbeatMs: number;
    /** First retry delay of a failed PutEvents (doubles per attempt). */
    retryBaseMs: number;
  };
  /** The SQS command consumer and the drains it runs (command-consumer.ts, drain.ts). */
  commands: {
    /** Long-poll wait of one ReceiveMessage. */
    waitSeconds: number;
    /** Visibility per receive and per extension while a command runs. */
    visibilitySeconds: number;
    /** First backoff of a refused eviction (PDB); doubles per retry. */
    drainBackoffMs: number;
  };
  /** Leader election over a coordination.k8s.io Lease (leader.ts), with `--leader-elect`. */
  lease: {
    /** Name of the Lease (its namespace is `--namespace`). */
    name: string;
    /** How long a lease is valid without renewal. */
    durationMs: number;
    /** How often a replica tries to acquire or renew. */
    retryMs: number;
  };
  /** The list + watch caches of pods, nodes and PDBs (informer.ts). */
  informers: {
    /** Objects per list page. */
    pageSize: number;
    /** Server-side timeout of one watch request. */
    watchTimeoutSeconds: number;
    /** First backoff after a failed list or watch (doubles per failure). */
    backoffMs: number;
    /** Longest backoff. */
    maxBackoffMs: number;
  };
  /** The Pi-side prerequisites report (prerequisites.ts). */
  prerequisites: {
    /** How often the K3s server certificate (`--k3s-server-url`) is dialled. */
    serverCertRefreshMs: number;
  };
  /** Kubernetes Events about drains and commands (k8s-events.ts). */
  events: {
    /** A repeated Event updates its count at most this often. */
    repeatMs: number;
  };
  /** The K3s bootstrap-token rotator (bootstrap-token.ts), with `--bootstrap-token-secret`. */
  joinToken: {
    /** Lifetime of each minted token (`--bootstrap-token-ttl-seconds`, 1800-3300). */
    ttlSeconds: number;
    /** How often the leader checks whether the token needs renewing. */
    checkEveryMs: number;
  };
}

/** The defaults. Tests shorten them through {@link AgentTuningInput}. */
export const AGENT_DEFAULTS: AgentTuning = {
  publisher: { batchIdleMs: 1000, batchMaxMs: 10_000, heartbeatMs: 60_000, retryBaseMs: 500 },
  commands: { waitSeconds: 20, visibilitySeconds: 120, drainBackoffMs: 1000 },
  lease: { name: LEASE_NAME, durationMs: 15_000, retryMs: 2000 },
  informers: { pageSize: 100, watchTimeoutSeconds: 300, backoffMs: 500, maxBackoffMs: 30_000 },
  prerequisites: { serverCertRefreshMs: 600_000 },
  events: { repeatMs: 300_000 },
  joinToken: { ttlSeconds: 2400, checkEveryMs: 30_000 },
};

/** Overrides of some tunables of some components; the rest keep {@link AGENT_DEFAULTS}. */
export type AgentTuningInput = { [C in keyof AgentTuning]?: Partial<AgentTuning[C]> };

/** {@link AGENT_DEFAULTS} with `input` laid over it, component by component. */
export function resolveTuning(input: AgentTuningInput = {}): AgentTuning {
  const out = {} as Record<keyof AgentTuning, unknown>;
  for (const c of Object.keys(AGENT_DEFAULTS) as Array<keyof AgentTuning>) {
    out[c] = { ...AGENT_DEFAULTS[c], ...(input[c] ?? {}) };
  }
  return out as AgentTuning;
}
