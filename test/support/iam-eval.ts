/**
 * A small, deliberately partial evaluator of synthesized IAM identity policies, for tests:
 * moto does not evaluate IAM, so this is how the RunInstances conditions are checked against
 * the request the real fleet adapter builds. It models what the conditions here use —
 * Allow statements, `*` wildcards in actions and resources, the operators StringEquals,
 * ArnEquals, Bool and NumericLessThanEquals (several values = any of them; a missing key never
 * matches), and the set operators ForAllValues:StringEquals / ForAllValues:StringNotEquals on a
 * multivalued key such as `aws:TagKeys` (every value of the request must (not) be one of the
 * listed ones; true when the key is absent or empty, as IAM documents) — and EC2's per-resource
 * authorization of RunInstances and of CreateTags on an existing instance: every resource the call
 * touches must be allowed by some statement, with the condition keys THAT resource type has
 * (Service Authorization Reference, "Resource types defined by Amazon EC2"). It is not AWS:
 * a passing check means the policy is consistent with this model, nothing more.
 */
import type { RunInstancesRequest } from '@aws-sdk/client-ec2';
import type { Statement } from '../unit/infra/support.js';

/**
 * Condition keys EC2 defines on the resource types RunInstances touches (the subset of the
 * Service Authorization Reference's resource-type table that matters here). A condition key
 * not listed for a resource type is absent when that resource is authorized.
 */
export const RUN_INSTANCES_RESOURCE_KEYS: Record<string, readonly string[]> = {
  instance: [
    'aws:RequestTag/*',
    'aws:TagKeys',
    'ec2:AvailabilityZone',
    'ec2:EbsOptimized',
    'ec2:InstanceMarketType',
    'ec2:InstanceProfile',
    'ec2:InstanceType',
    'ec2:MetadataHttpEndpoint',
    'ec2:MetadataHttpPutResponseHopLimit',
    'ec2:MetadataHttpTokens',
    'ec2:PlacementGroup',
    'ec2:RootDeviceType',
    'ec2:Tenancy',
  ],
  volume: [
    'aws:RequestTag/*',
    'aws:TagKeys',
    'ec2:AvailabilityZone',
    'ec2:Encrypted',
    'ec2:KmsKeyId',
    'ec2:ParentSnapshot',
    'ec2:VolumeIops',
    'ec2:VolumeSize',
    'ec2:VolumeThroughput',
    'ec2:VolumeType',
  ],
  'network-interface': [
    'aws:RequestTag/*',
    'aws:TagKeys',
    'ec2:AssociatePublicIpAddress',
    'ec2:AvailabilityZone',
    'ec2:Subnet',
    'ec2:Vpc',
  ],
  image: ['ec2:ImageID', 'ec2:ImageType', 'ec2:Owner', 'ec2:Public', 'ec2:RootDeviceType'],
  subnet: ['ec2:AvailabilityZone', 'ec2:SubnetID', 'ec2:Vpc'],
  'security-group': ['ec2:SecurityGroupID', 'ec2:Vpc'],
  'spot-instances-request': ['aws:RequestTag/*', 'aws:TagKeys'],
  'key-pair': ['ec2:KeyPairName', 'ec2:KeyPairType'],
};

/** The resource types a RunInstances call always touches (`*` = required in the reference). */
export const RUN_INSTANCES_REQUIRED_TYPES = [
  'image',
  'instance',
  'network-interface',
  'security-group',
  'subnet',
  'volume',
] as const;

/** Whether a condition key (as written in a policy) is defined on a resource type. */
export function keyDefinedOn(resourceType: string, key: string): boolean {
  const keys = RUN_INSTANCES_RESOURCE_KEYS[resourceType] ?? [];
  return keys.some((k) => (k.endsWith('/*') ? key.startsWith(k.slice(0, -1)) : k === key));
}

/** Values CloudFormation pseudo parameters and references resolve to in these tests. */
export interface ResolveEnv {
  partition: string;
  region: string;
  account: string;
}

/**
 * Resolve the intrinsics CDK puts in policy documents: `Ref` of a pseudo parameter → its
 * value, `Ref` of a resource → `ref:<logicalId>`, `Fn::GetAtt` → `att:<logicalId>.<attr>`,
 * `Fn::Join` → the joined string. The test builds its request with the same placeholders.
 */
export function resolveValue(value: unknown, env: ResolveEnv): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, env));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) {
      const ref = String(o.Ref);
      if (ref === 'AWS::Partition') return env.partition;
      if (ref === 'AWS::Region') return env.region;
      if (ref === 'AWS::AccountId') return env.account;
      return `ref:${ref}`;
    }
    if ('Fn::GetAtt' in o) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      return `att:${id}.${attr}`;
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => String(resolveValue(p, env))).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolveValue(v, env)]));
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** One resource RunInstances authorizes, with the condition keys it carries. */
export interface AuthorizedResource {
  type: string;
  arn: string;
  context: Record<string, string | string[]>;
}

/** Facts about the world the request alone does not say (owner of the AMI, VPC of each subnet). */
export interface RunInstancesWorld extends ResolveEnv {
  imageOwner: string;
  vpcOfSubnet: (subnetId: string) => string;
}

const arn = (w: ResolveEnv, resource: string, account = true): string =>
  `arn:${w.partition}:ec2:${w.region}:${account ? w.account : ''}:${resource}`;

/**
 * The resources EC2 authorizes for one RunInstances request and the condition keys each
 * carries, derived from the request the way the Service Authorization Reference describes.
 */
export function runInstancesResources(
  req: RunInstancesRequest,
  world: RunInstancesWorld,
): AuthorizedResource[] {
  const tagsFor = (type: string): Record<string, string> => {
    const spec = req.TagSpecifications?.find((t) => t.ResourceType === type);
    return Object.fromEntries((spec?.Tags ?? []).map((t) => [`aws:RequestTag/${t.Key}`, String(t.Value)]));
  };
  const subnetId = String(req.SubnetId);
  const vpcArn = arn(world, `vpc/${world.vpcOfSubnet(subnetId)}`);
  const md = req.MetadataOptions ?? {};
  const out: AuthorizedResource[] = [
    {
      type: 'instance',
      arn: arn(world, 'instance/i-0new'),
      context: {
        ...tagsFor('instance'),
        ...(req.InstanceType ? { 'ec2:InstanceType': String(req.InstanceType) } : {}),
        ...(md.HttpTokens ? { 'ec2:MetadataHttpTokens': md.HttpTokens } : {}),
        ...(md.HttpPutResponseHopLimit !== undefined
          ? { 'ec2:MetadataHttpPutResponseHopLimit': String(md.HttpPutResponseHopLimit) }
          : {}),
      },
    },
    ...(req.BlockDeviceMappings ?? []).map((b, i) => ({
      type: 'volume',
      arn: arn(world, `volume/vol-0new${i}`),
      context: {
        ...tagsFor('volume'),
        'ec2:Encrypted': String(b.Ebs?.Encrypted === true),
      },
    })),
    {
      type: 'network-interface',
      arn: arn(world, 'network-interface/eni-0new'),
      context: { 'ec2:Subnet': arn(world, `subnet/${subnetId}`), 'ec2:Vpc': vpcArn },
    },
    {
      type: 'image',
      arn: arn(world, `image/${req.ImageId}`, false),
      context: { 'ec2:ImageID': String(req.ImageId), 'ec2:Owner': world.imageOwner },
    },
    { type: 'subnet', arn: arn(world, `subnet/${subnetId}`), context: { 'ec2:Vpc': vpcArn } },
    ...(req.SecurityGroupIds ?? []).map((id) => ({
      type: 'security-group',
      arn: arn(world, `security-group/${id}`),
      context: { 'ec2:Vpc': vpcArn },
    })),
  ];
  if (req.InstanceMarketOptions?.MarketType === 'spot') {
    out.push({
      type: 'spot-instances-request',
      arn: arn(world, 'spot-instances-request/sir-0new'),
      context: {},
    });
  }
  return out;
}

const asArray = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [String(v)]);
const wildcard = (pattern: string): RegExp =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

function conditionHolds(
  condition: Record<string, Record<string, unknown>>,
  ctx: AuthorizedResource['context'],
): boolean {
  for (const [op, keys] of Object.entries(condition)) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = ctx[key];
      if (op.startsWith('ForAllValues:')) {
        const wanted = asArray(expected);
        const values = actual === undefined ? [] : asArray(actual);
        const inner = op.slice('ForAllValues:'.length);
        if (inner === 'StringEquals' && !values.every((a) => wanted.includes(a))) return false;
        if (inner === 'StringNotEquals' && !values.every((a) => !wanted.includes(a))) return false;
        if (inner !== 'StringEquals' && inner !== 'StringNotEquals')
          throw new Error(`iam-eval does not model the ${op} operator`);
        continue;
      }
      if (actual === undefined) return false;
      const actuals = asArray(actual);
      const wanted = asArray(expected);
      const match = (a: string, e: string): boolean => {
        switch (op) {
          case 'StringEquals':
            return a === e;
          case 'ArnEquals':
          case 'ArnLike':
            return wildcard(e).test(a);
          case 'Bool':
            return a.toLowerCase() === e.toLowerCase();
          case 'NumericLessThanEquals':
            return Number(a) <= Number(e);
          default:
            throw new Error(`iam-eval does not model the ${op} operator`);
        }
      };
      if (!actuals.some((a) => wanted.some((e) => match(a, e)))) return false;
    }
  }
  return true;
}

/**
 * The instance CreateTags authorizes when it tags an existing instance: its current tags as
 * `aws:ResourceTag/<key>`, the request's as `aws:RequestTag/<key>` and their keys as the
 * multivalued `aws:TagKeys` (no `ec2:CreateAction`: that key exists only when tags come with a
 * create call such as RunInstances).
 */
export function createTagsResource(
  world: ResolveEnv,
  instanceId: string,
  current: ReadonlyArray<{ Key?: string; Value?: string }>,
  requested: ReadonlyArray<{ Key?: string; Value?: string }>,
): AuthorizedResource {
  return {
    type: 'instance',
    arn: arn(world, `instance/${instanceId}`),
    context: {
      ...Object.fromEntries(current.map((t) => [`aws:ResourceTag/${t.Key}`, String(t.Value ?? '')])),
      ...Object.fromEntries(requested.map((t) => [`aws:RequestTag/${t.Key}`, String(t.Value ?? '')])),
      'aws:TagKeys': requested.map((t) => String(t.Key)),
    },
  };
}

/** The Sids of the Allow statements that allow `action` on this resource (empty = denied). */
export function allowingStatements(
  statements: readonly Statement[],
  action: string,
  resource: AuthorizedResource,
  env: ResolveEnv,
): string[] {
  const out: string[] = [];
  for (const st of statements) {
    if (st.Effect !== 'Allow') continue;
    if (!asArray(st.Action).some((a) => wildcard(a).test(action))) continue;
    const resources = asArray(resolveValue(st.Resource, env));
    if (!resources.some((r) => wildcard(r).test(resource.arn))) continue;
    const condition = st.Condition
      ? (resolveValue(st.Condition, env) as Record<string, Record<string, unknown>>)
      : {};
    if (conditionHolds(condition, resource.context)) out.push(st.Sid ?? '(no sid)');
  }
  return out;
}
