/**
 * The built-in demo: the example config (examples/k3s-burst.config.json) and a Pi cluster's
 * day, embedded so `k3s-burst demo` works from any directory.
 */
import type { ConfigInput } from '../events/index.js';
import type { ScenarioInput } from './scenario.js';

/** The example config's candidate instance types (Graviton, smallest first). */
export const DEFAULT_CANDIDATE_TYPES: readonly string[] = [
  't4g.medium',
  't4g.large',
  't4g.xlarge',
  'm7g.large',
  'm7g.xlarge',
  'c7g.xlarge',
  'c7g.2xlarge',
  'r7g.large',
];

/** Same semantics as examples/k3s-burst.config.json (a test keeps them equal). */
export const DEFAULT_CONFIG: ConfigInput = {
  schemaVersion: 1,
  cluster: {
    name: 'pi-lab',
    region: 'eu-central-1',
    k3sServerUrl: 'https://100.64.5.11:6443',
    k3sVersion: 'v1.32.6+k3s1',
  },
  tailscale: {
    tailnet: '-',
    tags: ['tag:k3s-burst'],
    authKeyExpirySeconds: 900,
    auth: 'federated',
    federatedClientId: 'kReplaceWithYourIdCNTRL',
  },
  nodes: {
    namePrefix: 'burst-',
    candidateTypes: [...DEFAULT_CANDIDATE_TYPES],
    capacityTypes: ['spot', 'on-demand'],
    labels: { 'k3s-burst.io/pool': 'cloud' },
    taints: [{ key: 'k3s-burst.io/cloud', value: 'true', effect: 'NoSchedule' }],
  },
  limits: { maxNodes: 6, maxVcpus: 32, maxMemoryMiB: 131072, maxHourlyCostUsd: 2.5 },
  scaleIn: {
    emptyAfterSeconds: 600,
    delayAfterScaleOutSeconds: 600,
    maxConcurrentDrains: 1,
    drainTimeoutSeconds: 600,
  },
  repairs: { registrationTimeoutSeconds: 900, unhealthyAfterSeconds: 600, maxUnhealthyFraction: 0.2 },
  agent: { heartbeatSeconds: 60, staleAfterSeconds: 300, abandonAfterSeconds: 3600 },
  schedules: [
    { name: 'weekday-day', cron: '0 7 * * 1-5', timezone: 'Europe/Berlin', minNodes: 0, maxNodes: 6 },
    { name: 'weekday-night', cron: '0 20 * * 1-5', timezone: 'Europe/Berlin', minNodes: 0, maxNodes: 0 },
    { name: 'weekend', cron: '0 0 * * 6', timezone: 'Europe/Berlin', minNodes: 0, maxNodes: 2 },
  ],
};

/**
 * The demo's warm-pool variant of {@link DEFAULT_CONFIG} (`npm run demo`, the bench's
 * `sim.burst-wait-p50-s.warm`): four stopped `c7g.2xlarge` members by day (the type the planner
 * picks for the 10:00 CI burst, so a start serves it), none at night or at the weekend. Opt-in:
 * the example config has no pool (members cost their volumes around the clock).
 */
export function demoWarmPoolConfig(): ConfigInput {
  const sizes: Record<string, number> = { 'weekday-day': 4, 'weekday-night': 0, weekend: 0 };
  return {
    ...structuredClone(DEFAULT_CONFIG),
    warmPool: { size: 0, instanceTypes: ['c7g.2xlarge'] },
    schedules: (DEFAULT_CONFIG.schedules ?? []).map((s) => ({ ...s, warmPoolSize: sizes[s.name] ?? 0 })),
  };
}

/** Tolerates the cloud taint of the default config: the pod may burst. */
export const CLOUD_TOLERATION = {
  key: 'k3s-burst.io/cloud',
  operator: 'Equal',
  value: 'true',
  effect: 'NoSchedule',
} as const;

/** Three Pis (two Pi 5, one Pi 4, 8 GB each), as K3s reports their allocatable. */
export const PI_NODES: ScenarioInput['onPrem'] = [
  { name: 'pi-1', model: 'Raspberry Pi 5 8 GB', cpuMilli: 4000, memoryMiB: 7800 },
  { name: 'pi-2', model: 'Raspberry Pi 5 8 GB', cpuMilli: 4000, memoryMiB: 7800 },
  { name: 'pi-3', model: 'Raspberry Pi 4 8 GB', cpuMilli: 4000, memoryMiB: 7600 },
];

/**
 * A Monday (2026-03-16) on a 3-Pi home lab: a few steady services, CI jobs through the day,
 * a big CI burst at 10:00 UTC, a nightly report job after the night schedule (Europe/Berlin
 * 20:00 = 19:00 UTC) has scaled the cloud to zero.
 */
export const DEFAULT_SCENARIO: ScenarioInput = {
  name: 'default',
  description:
    'A 3-Pi K3s cluster for one weekday: steady services, CI through the day, a 10:00 CI burst that bursts onto EC2, and a night schedule that scales the cloud to zero.',
  start: '2026-03-16T00:00:00Z',
  hours: 24,
  onPrem: PI_NODES,
  daemonSets: [
    { name: 'node-exporter', cpuMilli: 50, memoryMiB: 64 },
    { name: 'promtail', cpuMilli: 50, memoryMiB: 96 },
  ],
  workloads: [
    {
      kind: 'service',
      name: 'home-assistant',
      replicas: 1,
      cpuMilli: 500,
      memoryMiB: 1024,
      usesLocalVolume: true,
    },
    { kind: 'service', name: 'web', replicas: 3, cpuMilli: 250, memoryMiB: 256, pdb: { minAvailable: 2 } },
    { kind: 'service', name: 'postgres', replicas: 1, cpuMilli: 500, memoryMiB: 1536, usesLocalVolume: true },
    {
      kind: 'poisson',
      name: 'ci-job',
      ratePerHour: 6,
      between: ['07:00', '18:00'],
      cpuMilli: 1000,
      memoryMiB: 2048,
      duration: { medianSeconds: 480, sigma: 0.4 },
      tolerations: [CLOUD_TOLERATION],
    },
    {
      kind: 'burst',
      name: 'ci-burst',
      at: '10:00',
      pods: 24,
      spreadSeconds: 5,
      cpuMilli: 1000,
      memoryMiB: 2048,
      duration: { medianSeconds: 900, sigma: 0.3 },
      nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      tolerations: [CLOUD_TOLERATION],
    },
    {
      kind: 'burst',
      name: 'nightly-report',
      at: '21:00',
      pods: 3,
      spreadSeconds: 30,
      cpuMilli: 1500,
      memoryMiB: 2048,
      duration: { medianSeconds: 1800, sigma: 0.2 },
      tolerations: [CLOUD_TOLERATION],
    },
  ],
};
