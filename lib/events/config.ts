/**
 * The config schema: strict at every level (an unknown field is an error, see
 * `validateConfig` for the "did you mean" message), with the rules of the systems that
 * consume each value (config-rules.ts, config-cron.ts). Cross-field rules sit on the
 * smallest object that holds both fields, so one bad section does not hide another's
 * problems. Read a config through `validateConfig`/`parseConfigText`
 * (config-validate.ts), which adds the size/depth guard and the error format.
 */
import * as z from 'zod';
import { Arch, AWS_REGION_PATTERN, CapacityType, TaintEffect } from './common.js';
import { checkCron, cronsOverlap } from './config-cron.js';
import {
  labelValueProblem,
  nodeLabelKeyProblem,
  qualifiedKeyProblem,
  serverUrlProblem,
  ssmParameterNameProblem,
  timeZoneProblem,
} from './config-rules.js';
import { closestName } from './config-suggest.js';
import { DEFAULT_MAX_PODS_PER_NODE, SCHEMA_VERSION } from './constants.js';
import { BUILT_IN_INSTANCE_TYPES } from './instance-catalog.js';

/** A string refined by a rule that returns why it is unusable (or undefined). */
function ruled(rule: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx) => {
    const problem = rule(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  };
}

const TimeZone = z
  .string()
  .superRefine(ruled(timeZoneProblem))
  .describe('IANA time zone in canonical form, e.g. "Europe/Berlin" or "UTC".');

const SsmParameterName = z
  .string()
  .superRefine(ruled(ssmParameterNameProblem))
  .describe('SSM parameter name holding an AMI id (letters, digits, "_.-", "/" between levels).');

const InstanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'expected an EC2 instance type like "m7g.large"');

/** A capacity policy: while it is the most recently fired one, the fleet stays within its bounds. */
export const SchedulePolicy = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,48}$/, 'use 1-48 letters, digits, "-" or "_"'),
    cron: z
      .string()
      .min(9)
      .superRefine((cron, ctx) => {
        const check = checkCron(cron);
        if (!check.ok) ctx.addIssue({ code: 'custom', message: check.problem, input: cron });
      })
      .describe(
        'Five-field cron expression (minute hour day-of-month month day-of-week) of when this policy starts.',
      ),
    timezone: TimeZone.default('UTC'),
    minNodes: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Warm cloud nodes kept while this policy is active.'),
    maxNodes: z.number().int().min(0).describe('Ceiling on managed cloud nodes while this policy is active.'),
    warmPoolSize: z
      .number()
      .int()
      .min(0)
      .max(50)
      .optional()
      .describe(
        'Stopped warm-pool members kept while this policy is active (overrides warmPool.size; 0 = none, e.g. at night).',
      ),
  })
  .superRefine((p, ctx) => {
    if (p.maxNodes < p.minNodes) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxNodes'],
        message: `maxNodes must be ≥ minNodes (got ${p.maxNodes} < ${p.minNodes})`,
      });
    }
  });
export type SchedulePolicy = z.infer<typeof SchedulePolicy>;

/** An entry that adds to or overrides the built-in instance catalog. */
export const CatalogEntry = z.strictObject({
  instanceType: InstanceType,
  vcpu: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  arch: Arch,
  maxPods: z.number().int().positive().default(DEFAULT_MAX_PODS_PER_NODE),
  onDemandHourlyUsd: z.number().positive(),
  /** NVIDIA GPUs the type has (advertised as `nvidia.com/gpu` by the device plugin). */
  gpus: z.number().int().nonnegative().default(0),
  spotDiscountFraction: z
    .number()
    .min(0)
    .max(0.95)
    .default(0.6)
    .describe('Expected spot discount: 0.6 means spot costs 40 % of on-demand.'),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

const ClusterSection = z.strictObject({
  name: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
      'use 2-32 lowercase letters, digits or "-", starting with a letter',
    ),
  region: z.string().regex(AWS_REGION_PATTERN, 'expected an AWS region such as "eu-central-1"'),
  k3sServerUrl: z
    .string()
    .regex(/^https:\/\//, 'the K3s server URL must be https:// and reachable over Tailscale')
    .superRefine((url, ctx) => {
      if (url.startsWith('https://')) ruled(serverUrlProblem)(url, ctx);
    })
    .describe('https://host:port of the K3s server as cloud nodes reach it over Tailscale; no path.'),
  k3sVersion: z
    .string()
    .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, 'expected a K3s release such as "v1.32.6+k3s1" (match your server)'),
});

/**
 * How cloud nodes authenticate to the K3s server. `bootstrap-token` (the default): the agent
 * keeps a short-lived Kubernetes bootstrap token and publishes it to a secret only it may
 * write; nothing long-lived is stored. `agent-token`: the older mode, the long-lived K3s agent
 * token an operator put into Secrets Manager (docs/security.md, migration).
 */
const K3sSection = z.strictObject({
  joinCredential: z
    .enum(['bootstrap-token', 'agent-token'])
    .default('bootstrap-token')
    .describe(
      'bootstrap-token = short-lived tokens minted by the agent (no stored K3s secret); agent-token = the long-lived agent token in Secrets Manager (migration only).',
    ),
});

const TailscaleSection = z.strictObject({
  tailnet: z
    .string()
    .min(1)
    .default('-')
    .describe('Tailnet name; "-" is the tailnet of the federated identity (or OAuth client).'),
  tags: z
    .array(z.string().regex(/^tag:[a-zA-Z0-9-]+$/, 'expected a Tailscale tag such as "tag:k3s-burst"'))
    .min(1)
    .default(['tag:k3s-burst']),
  authKeyExpirySeconds: z.number().int().min(60).max(3600).default(900),
  deviceStaleAfterSeconds: z
    .number()
    .int()
    .min(60)
    .default(600)
    .describe('A tagged device offline this long with no live instance is deleted by the janitor.'),
  auth: z
    .enum(['federated', 'oauth-client'])
    .default('federated')
    .describe(
      'How the Lambdas authenticate to the Tailscale API: federated (the default) = workload identity federation, an AWS STS identity token exchanged at Tailscale for a short-lived API token, no stored secret (needs federatedClientId to deploy, and outbound identity federation enabled on the account); oauth-client = the OAuth client secret stored in Secrets Manager (fallback).',
    ),
  federatedClientId: z
    .string()
    .regex(
      /^[A-Za-z0-9]{4,64}$/,
      'expected the client id of a Tailscale federated identity (letters and digits)',
    )
    .optional()
    .describe(
      'Client id of the Tailscale federated identity (admin console → Settings → Trust credentials) the Lambdas exchange their STS token with. Required to deploy with tailscale.auth federated (plan and simulate do not need it).',
    ),
});

/** Node labels the kubelet of a cloud node sets on itself: Kubernetes key and value syntax. */
const NodeLabels = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = nodeLabelKeyProblem(key);
    if (keyProblem) ctx.addIssue({ code: 'custom', path: [key], message: `label key: ${keyProblem}` });
    const valueProblem = labelValueProblem(value);
    if (valueProblem) ctx.addIssue({ code: 'custom', path: [key], message: valueProblem, input: value });
  }
});

/** A node taint as the kubelet's `--register-with-taints` accepts it. */
const NodeTaint = z.strictObject({
  key: z.string().min(1).superRefine(ruled(qualifiedKeyProblem)),
  value: z.string().superRefine(ruled(labelValueProblem)).optional(),
  effect: TaintEffect,
});

const NodeTaints = z.array(NodeTaint).superRefine((taints, ctx) => {
  const seen = new Map<string, number>();
  taints.forEach((t, i) => {
    const id = `${t.key}:${t.effect}`;
    const first = seen.get(id);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `duplicate taint ${id} (also taints[${first}]): the kubelet refuses two taints with one key and effect`,
      });
    } else seen.set(id, i);
  });
});

const NodesSection = z
  .strictObject({
    namePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,20}$/, 'use lowercase letters, digits and "-"')
      .default('burst-')
      .describe('Node name = prefix + instance id; the same value is the Tailscale hostname.'),
    candidateTypes: z
      .array(InstanceType)
      .min(1)
      .default([
        't4g.medium',
        't4g.large',
        't4g.xlarge',
        'm7g.large',
        'm7g.xlarge',
        'c7g.xlarge',
        'r7g.large',
      ]),
    capacityTypes: z
      .array(CapacityType)
      .min(1)
      .default(['spot', 'on-demand'])
      .describe('Capacity types in order of preference; later ones are fallbacks.'),
    labels: NodeLabels.default({}),
    taints: NodeTaints.default([]),
    maxPodsPerNode: z.number().int().min(1).max(250).default(DEFAULT_MAX_PODS_PER_NODE),
    systemReserved: z
      .strictObject({
        cpuMilli: z.number().int().min(0).default(100),
        memoryMiB: z.number().int().min(0).default(256),
      })
      .default({ cpuMilli: 100, memoryMiB: 256 })
      .describe('CPU and memory a fresh node keeps for the OS, K3s agent and Tailscale.'),
    rootVolumeGiB: z
      .number()
      .int()
      .min(8)
      .max(1024)
      .default(20)
      .describe(
        'Root volume (gp3, GiB) of a node whose pods request little ephemeral storage: the smallest a launch gets. It also holds the OS, K3s and container images.',
      ),
    maxRootVolumeGiB: z
      .number()
      .int()
      .min(8)
      .max(16_384)
      .optional()
      .describe(
        "Largest root volume (GiB) a launch may get. Each launch's root volume is sized to its pods' ephemeral-storage requests (and its DaemonSets'), between rootVolumeGiB and this. Default: the larger of 100 and rootVolumeGiB.",
      ),
    rootDeviceName: z
      .string()
      .regex(/^\/dev\/[a-z][a-z0-9]{1,15}$/, 'expected a device name such as /dev/sda1 or /dev/xvda')
      .default('/dev/sda1')
      .describe(
        "The AMI's root device: /dev/sda1 for Ubuntu and Debian, /dev/xvda for Amazon Linux. A wrong name adds a second, unused volume instead of sizing the root one.",
      ),
    amiSsmParameters: z
      .strictObject({
        arm64: SsmParameterName.default(
          '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
        ),
        amd64: SsmParameterName.default(
          '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
        ),
      })
      .default({
        arm64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
        amd64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      }),
    imageOwners: z
      .array(
        z
          .string()
          .regex(
            /^(\d{12}|amazon|self)$/,
            'expected a 12-digit AWS account id, "amazon" or "self" (this account)',
          ),
      )
      .min(1)
      .max(10)
      .optional()
      .describe(
        'Who may own the node AMI (IAM ec2:Owner on RunInstances). Default: derived from amiSsmParameters (Canonical → 099720109477 and "amazon", Amazon Linux → "amazon", your own parameter → "self").',
      ),
    ssmSessionManager: z
      .boolean()
      .default(false)
      .describe('Attach the SSM managed-instance policy for debugging.'),
  })
  .superRefine((n, ctx) => {
    if (n.maxRootVolumeGiB !== undefined && n.maxRootVolumeGiB < n.rootVolumeGiB) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxRootVolumeGiB'],
        message: `maxRootVolumeGiB must be ≥ rootVolumeGiB (got ${n.maxRootVolumeGiB} < ${n.rootVolumeGiB}): raise maxRootVolumeGiB or lower rootVolumeGiB`,
      });
    }
  });

const LimitsSection = z.strictObject({
  maxNodes: z.number().int().min(0).default(5),
  maxVcpus: z.number().int().min(0).default(64),
  maxMemoryMiB: z.number().int().min(0).default(262_144),
  maxHourlyCostUsd: z.number().min(0).default(5),
});

/**
 * The warm pool: on-demand instances launched once, joined to the tailnet and to K3s, then
 * stopped; scale-out starts one (StartInstances) instead of launching (docs/operations.md).
 */
const WarmPoolSection = z.strictObject({
  size: z
    .number()
    .int()
    .min(0)
    .max(50)
    .default(0)
    .describe("Stopped members to keep (0 = no warm pool). A schedule's warmPoolSize overrides it."),
  instanceTypes: z
    .array(InstanceType)
    .max(20)
    .optional()
    .describe(
      'Types members are launched as, most preferred first; each must be in nodes.candidateTypes. Default: the cheapest candidate type of warmPool.arch.',
    ),
  arch: Arch.optional().describe(
    'Architecture of the default member type. Default: that of the first candidate type.',
  ),
  maxAgeHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(168)
    .describe('Members older than this are terminated and replaced (fresh OS image and K3s agent).'),
});

const ScaleInSection = z.strictObject({
  emptyAfterSeconds: z.number().int().min(0).default(600),
  consolidation: z
    .strictObject({
      enabled: z.boolean().default(true),
      utilizationThresholdPercent: z.number().min(1).max(100).default(50),
      underutilizedAfterSeconds: z.number().int().min(0).default(900),
    })
    .default({ enabled: true, utilizationThresholdPercent: 50, underutilizedAfterSeconds: 900 }),
  delayAfterScaleOutSeconds: z.number().int().min(0).default(600),
  maxConcurrentDrains: z.number().int().min(1).default(1),
  drainTimeoutSeconds: z.number().int().min(30).default(600),
  abandonedDrainHoldSeconds: z
    .number()
    .int()
    .min(0)
    .default(3600)
    .describe(
      'A voluntary drain that did not empty its node by the deadline is abandoned (node uncordoned); the node is then kept out of voluntary scale-in this long.',
    ),
  scheduleScaleDown: z
    .enum(['wait', 'force'])
    .default('wait')
    .describe(
      'When a schedule lowers maxNodes below the fleet: "wait" drains voluntarily (PDBs and eviction blockers hold; a drain that cannot finish is abandoned and retried later), "force" terminates at the drain deadline whatever still runs.',
    ),
});

const ScaleOutSection = z.strictObject({
  existingRoomTrustSeconds: z
    .number()
    .int()
    .min(0)
    .default(600)
    .describe(
      "Pending pods that fit on the free room of Ready nodes launch nothing, unless they have been pending longer than this: then the scheduler evidently disagrees with our model and capacity is launched. Default: twice the scheduler's 5-minute retry of unschedulable pods.",
    ),
  expendablePriorityCutoff: z
    .number()
    .int()
    .default(-10)
    .describe(
      "Pending pods with a priority below this never trigger scale-out (Cluster Autoscaler's expendable-pods-priority-cutoff, same default).",
    ),
});

const RepairsSection = z.strictObject({
  registrationTimeoutSeconds: z.number().int().min(60).default(900),
  unhealthyAfterSeconds: z.number().int().min(60).default(600),
  maxUnhealthyFraction: z.number().min(0).max(1).default(0.2),
  maxReplacementsInFlight: z
    .number()
    .int()
    .min(1)
    .max(20)
    .default(1)
    .describe(
      'Unhealthy (NotReady) nodes replaced at once: the next one is terminated only when fewer replacements than this are still under way (a node whose instance is shutting down, capacity launched and not yet Ready).',
    ),
});

const AgentSection = z
  .strictObject({
    heartbeatSeconds: z.number().int().min(10).max(600).default(60),
    batchIdleMs: z.number().int().min(100).default(1000),
    batchMaxMs: z.number().int().min(1000).default(10_000),
    staleAfterSeconds: z.number().int().min(60).default(300),
    abandonAfterSeconds: z.number().int().min(300).default(3600),
    extraBusWriterRoleArns: z
      .array(
        z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'expected an IAM role ARN'),
      )
      .max(5)
      .default([])
      .describe(
        "IAM roles besides the stack's agent user that may put events on the bus (e.g. the IAM Roles Anywhere role of a keyless agent); everyone else is denied by the bus policy.",
      ),
  })
  .superRefine((a, ctx) => {
    if (a.batchMaxMs < a.batchIdleMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['batchMaxMs'],
        message: `batchMaxMs must be ≥ batchIdleMs (got ${a.batchMaxMs} < ${a.batchIdleMs})`,
      });
    }
    // A heartbeat at or after the stale mark makes a healthy agent look stale between beats.
    if (a.heartbeatSeconds >= a.staleAfterSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeatSeconds'],
        message: `heartbeatSeconds must be < staleAfterSeconds (got ${a.heartbeatSeconds} ≥ ${a.staleAfterSeconds}): a healthy agent would look stale between heartbeats`,
      });
    }
    if (a.abandonAfterSeconds <= a.staleAfterSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['abandonAfterSeconds'],
        message: `abandonAfterSeconds must be > staleAfterSeconds (got ${a.abandonAfterSeconds} ≤ ${a.staleAfterSeconds})`,
      });
    }
  });

const NetworkSection = z
  .strictObject({
    vpcId: z
      .string()
      .regex(/^vpc-[0-9a-f]{8,17}$/)
      .optional(),
    subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/)).optional(),
    availabilityZoneCount: z.number().int().min(1).max(3).default(2),
    vpcCidr: z.string().default('10.77.0.0/16'),
  })
  .superRefine((n, ctx) => {
    if (n.subnetIds && !n.vpcId) {
      ctx.addIssue({
        code: 'custom',
        path: ['vpcId'],
        message: 'network.subnetIds needs network.vpcId: give the VPC those subnets belong to',
      });
    }
    if (n.vpcId && (!n.subnetIds || n.subnetIds.length === 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['subnetIds'],
        message:
          'network.vpcId needs network.subnetIds: list the subnets (with a route to the internet) nodes may use; synth does no VPC lookups',
      });
    }
  });

/** Capacity policies: unique names, and no two in one time zone firing at the same minute. */
const Schedules = z.array(SchedulePolicy).superRefine((schedules, ctx) => {
  const names = new Map<string, number>();
  schedules.forEach((s, i) => {
    const first = names.get(s.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `duplicate schedule name "${s.name}" (also schedules[${first}])`,
      });
    } else names.set(s.name, i);
  });
  const sets = schedules.map((s) => checkCron(s.cron));
  schedules.forEach((s, i) => {
    const mine = sets[i];
    if (!mine?.ok) return;
    for (let j = 0; j < i; j++) {
      const other = sets[j];
      const o = schedules[j];
      if (!other?.ok || !o || o.timezone !== s.timezone || !cronsOverlap(mine.sets, other.sets)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [i, 'cron'],
        message: `fires at the same minute as schedules[${j}] ("${o.name}", "${o.cron}") in ${s.timezone}, so which policy applies is undefined: move one of them by a minute or merge them`,
      });
      break;
    }
  });
});

const LaunchSection = z.strictObject({
  unavailableOfferingTtlSeconds: z.number().int().min(0).default(180),
  inFlightTtlSeconds: z
    .number()
    .int()
    .min(60)
    .default(900)
    .describe('A decided launch counts as capacity until EC2 lists it, or at most this long.'),
  backoff: z
    .strictObject({
      initialSeconds: z.number().int().min(0).default(300),
      maxSeconds: z.number().int().min(0).default(1800),
      resetAfterSeconds: z.number().int().min(0).default(10_800),
    })
    .default({ initialSeconds: 300, maxSeconds: 1800, resetAfterSeconds: 10_800 })
    .describe(
      'Growing backoff of a launch setup whose instances do not register and of an EC2 quota: initialSeconds doubling per failure up to maxSeconds; the count is forgotten resetAfterSeconds after the last failure or on a success (Cluster Autoscaler node-group backoff).',
    ),
  rebalanceRecommendation: z
    .enum(['avoid', 'replace'])
    .default('avoid')
    .describe(
      'On an EC2 rebalance recommendation (a hint, no reclaim time): avoid = mark the offering at risk for unavailableOfferingTtlSeconds so new launches go elsewhere, drain nothing (Karpenter does not drain on it by default); replace = also drain the node (scaleIn.drainTimeoutSeconds) with its replacement planned by reconcile first.',
    ),
});

/**
 * The one config file (`k3s-burst.config.json`) that drives the stack, the Lambdas, the
 * agent and the simulator. Units are in the field names.
 */
export const Config = z
  .strictObject({
    $schema: z.string().optional(),
    schemaVersion: z.literal(SCHEMA_VERSION).default(SCHEMA_VERSION),
    cluster: ClusterSection,
    k3s: K3sSection.default(K3sSection.parse({})),
    tailscale: TailscaleSection.default(TailscaleSection.parse({})),
    nodes: NodesSection.default(NodesSection.parse({})),
    limits: LimitsSection.default(LimitsSection.parse({})),
    scaleIn: ScaleInSection.default(ScaleInSection.parse({})),
    scaleOut: ScaleOutSection.default(ScaleOutSection.parse({})),
    repairs: RepairsSection.default(RepairsSection.parse({})),
    agent: AgentSection.default(AgentSection.parse({})),
    schedules: Schedules.default([]),
    catalog: z
      .array(CatalogEntry)
      .default([])
      .describe('Instance types to add or override in the built-in catalog.'),
    network: NetworkSection.default(NetworkSection.parse({})),
    launch: LaunchSection.default(LaunchSection.parse({})),
    warmPool: WarmPoolSection.default(WarmPoolSection.parse({})),
  })
  .superRefine((c, ctx) => {
    c.schedules.forEach((s, i) => {
      if (s.maxNodes > c.limits.maxNodes) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedules', i, 'maxNodes'],
          message: `schedule maxNodes must be ≤ limits.maxNodes (got ${s.maxNodes} > ${c.limits.maxNodes})`,
        });
      }
    });
    if (c.launch.backoff.maxSeconds < c.launch.backoff.initialSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['launch', 'backoff', 'maxSeconds'],
        message: `maxSeconds must be ≥ initialSeconds (got ${c.launch.backoff.maxSeconds} < ${c.launch.backoff.initialSeconds})`,
      });
    }
    (c.warmPool.instanceTypes ?? []).forEach((t, i) => {
      if (c.nodes.candidateTypes.includes(t)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['warmPool', 'instanceTypes', i],
        input: t,
        message: `warm-pool type "${t}" is not in nodes.candidateTypes: add it there (a started member must be a type the planner may launch) or remove it here`,
      });
    });
    if (c.warmPool.size > 0 || c.schedules.some((s) => (s.warmPoolSize ?? 0) > 0)) {
      if (!c.nodes.capacityTypes.includes('on-demand')) {
        ctx.addIssue({
          code: 'custom',
          path: ['warmPool', 'size'],
          message:
            'a warm pool needs nodes.capacityTypes to include "on-demand" (members are on-demand: EC2 cannot stop a one-time spot instance): add it, or set warmPool.size and every schedule warmPoolSize to 0',
        });
      }
    }
    if (new Set(c.nodes.candidateTypes).size !== c.nodes.candidateTypes.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodes', 'candidateTypes'],
        message: 'candidateTypes has duplicates',
      });
    }
    const known = new Set([
      ...BUILT_IN_INSTANCE_TYPES.map((r) => r[0]),
      ...c.catalog.map((e) => e.instanceType),
    ]);
    c.nodes.candidateTypes.forEach((t, i) => {
      if (known.has(t)) return;
      const near = closestName(t, known);
      ctx.addIssue({
        code: 'custom',
        path: ['nodes', 'candidateTypes', i],
        input: t,
        message: `unknown instance type${near ? ` — did you mean "${near}"?` : ''}: use a built-in type or add it to "catalog" with vcpu, memoryMiB, arch and onDemandHourlyUsd`,
      });
    });
  });

/** The config as written by a user (defaults not yet applied). */
export type ConfigInput = z.input<typeof Config>;
/** The config with every default applied: what the code reads. */
export type Config = z.output<typeof Config>;
