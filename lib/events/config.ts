import * as z from 'zod';
import { Arch, AWS_REGION_PATTERN, CapacityType, LabelMap, Taint } from './common.js';
import { DEFAULT_MAX_PODS_PER_NODE, SCHEMA_VERSION } from './constants.js';

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const InstanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'expected an EC2 instance type like "m7g.large"');

/** A capacity policy: while it is the most recently fired one, the fleet stays within its bounds. */
export const SchedulePolicy = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,48}$/, 'use 1-48 letters, digits, "-" or "_"'),
    cron: z
      .string()
      .min(9)
      .describe(
        'Five-field cron expression (minute hour day-of-month month day-of-week) of when this policy starts.',
      ),
    timezone: z
      .string()
      .refine(isTimeZone, { message: 'expected an IANA time zone such as "Europe/Berlin" or "UTC"' })
      .default('UTC'),
    minNodes: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Warm cloud nodes kept while this policy is active.'),
    maxNodes: z.number().int().min(0).describe('Ceiling on managed cloud nodes while this policy is active.'),
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
    .url()
    .regex(/^https:\/\//, 'the K3s server URL must be https:// and reachable over Tailscale'),
  k3sVersion: z
    .string()
    .regex(/^v\d+\.\d+\.\d+\+k3s\d+$/, 'expected a K3s release such as "v1.32.6+k3s1" (match your server)'),
});

const TailscaleSection = z.strictObject({
  tailnet: z.string().min(1).default('-').describe('Tailnet name; "-" is the OAuth client\'s own tailnet.'),
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
});

const NodesSection = z.strictObject({
  namePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,20}$/, 'use lowercase letters, digits and "-"')
    .default('burst-')
    .describe('Node name = prefix + instance id; the same value is the Tailscale hostname.'),
  candidateTypes: z
    .array(InstanceType)
    .min(1)
    .default(['t4g.medium', 't4g.large', 't4g.xlarge', 'm7g.large', 'm7g.xlarge', 'c7g.xlarge', 'r7g.large']),
  capacityTypes: z
    .array(CapacityType)
    .min(1)
    .default(['spot', 'on-demand'])
    .describe('Capacity types in order of preference; later ones are fallbacks.'),
  labels: LabelMap.default({}),
  taints: z.array(Taint).default([]),
  maxPodsPerNode: z.number().int().min(1).max(250).default(DEFAULT_MAX_PODS_PER_NODE),
  systemReserved: z
    .object({
      cpuMilli: z.number().int().min(0).default(100),
      memoryMiB: z.number().int().min(0).default(256),
    })
    .default({ cpuMilli: 100, memoryMiB: 256 })
    .describe('CPU and memory a fresh node keeps for the OS, K3s agent and Tailscale.'),
  rootVolumeGiB: z.number().int().min(8).max(1024).default(20),
  amiSsmParameters: z
    .object({
      arm64: z
        .string()
        .default('/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id'),
      amd64: z
        .string()
        .default('/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id'),
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
});

const LimitsSection = z.strictObject({
  maxNodes: z.number().int().min(0).default(5),
  maxVcpus: z.number().int().min(0).default(64),
  maxMemoryMiB: z.number().int().min(0).default(262_144),
  maxHourlyCostUsd: z.number().min(0).default(5),
});

const ScaleInSection = z.strictObject({
  emptyAfterSeconds: z.number().int().min(0).default(600),
  consolidation: z
    .object({
      enabled: z.boolean().default(true),
      utilizationThresholdPercent: z.number().min(1).max(100).default(50),
      underutilizedAfterSeconds: z.number().int().min(0).default(900),
    })
    .default({ enabled: true, utilizationThresholdPercent: 50, underutilizedAfterSeconds: 900 }),
  delayAfterScaleOutSeconds: z.number().int().min(0).default(600),
  maxConcurrentDrains: z.number().int().min(1).default(1),
  drainTimeoutSeconds: z.number().int().min(30).default(600),
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
});

const AgentSection = z.strictObject({
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
});

const NetworkSection = z.strictObject({
  vpcId: z
    .string()
    .regex(/^vpc-[0-9a-f]{8,17}$/)
    .optional(),
  subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/)).optional(),
  availabilityZoneCount: z.number().int().min(1).max(3).default(2),
  vpcCidr: z.string().default('10.77.0.0/16'),
});

const LaunchSection = z.strictObject({
  unavailableOfferingTtlSeconds: z.number().int().min(0).default(180),
  inFlightTtlSeconds: z
    .number()
    .int()
    .min(60)
    .default(900)
    .describe('A decided launch counts as capacity until EC2 lists it, or at most this long.'),
});

/**
 * The one config file (`k3s-burst.config.json`) that drives the stack, the Lambdas, the
 * agent and the simulator. Units are in the field names.
 */
export const Config = z
  .object({
    $schema: z.string().optional(),
    schemaVersion: z.literal(SCHEMA_VERSION).default(SCHEMA_VERSION),
    cluster: ClusterSection,
    tailscale: TailscaleSection.default(TailscaleSection.parse({})),
    nodes: NodesSection.default(NodesSection.parse({})),
    limits: LimitsSection.default(LimitsSection.parse({})),
    scaleIn: ScaleInSection.default(ScaleInSection.parse({})),
    scaleOut: ScaleOutSection.default(ScaleOutSection.parse({})),
    repairs: RepairsSection.default(RepairsSection.parse({})),
    agent: AgentSection.default(AgentSection.parse({})),
    schedules: z.array(SchedulePolicy).default([]),
    catalog: z
      .array(CatalogEntry)
      .default([])
      .describe('Instance types to add or override in the built-in catalog.'),
    network: NetworkSection.default(NetworkSection.parse({})),
    launch: LaunchSection.default(LaunchSection.parse({})),
  })
  .superRefine((c, ctx) => {
    if (c.agent.batchMaxMs < c.agent.batchIdleMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['agent', 'batchMaxMs'],
        message: `batchMaxMs must be ≥ batchIdleMs (got ${c.agent.batchMaxMs} < ${c.agent.batchIdleMs})`,
      });
    }
    if (c.agent.abandonAfterSeconds <= c.agent.staleAfterSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['agent', 'abandonAfterSeconds'],
        message: `abandonAfterSeconds must be > staleAfterSeconds (got ${c.agent.abandonAfterSeconds} ≤ ${c.agent.staleAfterSeconds})`,
      });
    }
    const names = new Set<string>();
    c.schedules.forEach((s, i) => {
      if (names.has(s.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedules', i, 'name'],
          message: `duplicate schedule name "${s.name}"`,
        });
      }
      names.add(s.name);
      if (s.maxNodes > c.limits.maxNodes) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedules', i, 'maxNodes'],
          message: `schedule maxNodes must be ≤ limits.maxNodes (got ${s.maxNodes} > ${c.limits.maxNodes})`,
        });
      }
    });
    if (c.network.subnetIds && !c.network.vpcId) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'vpcId'],
        message: 'network.subnetIds needs network.vpcId: give the VPC those subnets belong to',
      });
    }
    if (new Set(c.nodes.candidateTypes).size !== c.nodes.candidateTypes.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodes', 'candidateTypes'],
        message: 'candidateTypes has duplicates',
      });
    }
  });

/** The config as written by a user (defaults not yet applied). */
export type ConfigInput = z.input<typeof Config>;
/** The config with every default applied: what the code reads. */
export type Config = z.output<typeof Config>;
