/**
 * Resolve the CloudFormation intrinsics of a synthesized value the way a deployment would,
 * with made-up but well-formed physical ids: what `Ref` and `Fn::GetAtt` return per resource
 * type is CloudFormation's documented return value (a queue's Ref is its URL, a secret's Ref
 * its ARN, a security group's GroupId an `sg-…`). Lets a test check the environment a
 * function will really see, not the tokens in the template. A type or attribute it does not
 * know fails loudly, so a new reference is taught here rather than passed through.
 */

/** A template's `Resources` section (only what the resolver reads). */
export type CfnResources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';

/** 17 hex digits derived from the logical id: stable, distinct per resource. */
function hexId(logicalId: string): string {
  let h = 0xcbf29ce484222325n;
  for (const c of logicalId) h = BigInt.asUintN(64, (h ^ BigInt(c.charCodeAt(0))) * 0x100000001b3n);
  return h.toString(16).padStart(17, '0').slice(0, 17);
}

function named(props: Record<string, unknown> | undefined, key: string, logicalId: string): string {
  const v = props?.[key];
  return typeof v === 'string' ? v : `k3sb-${logicalId.toLowerCase()}`.slice(0, 60);
}

function ref(resources: CfnResources, logicalId: string): string {
  const r = resources[logicalId];
  if (!r) throw new Error(`Ref to unknown resource ${logicalId}`);
  const p = r.Properties;
  switch (r.Type) {
    case 'AWS::Events::EventBus':
      return named(p, 'Name', logicalId);
    case 'AWS::DynamoDB::Table':
      return named(p, 'TableName', logicalId);
    case 'AWS::SQS::Queue':
      return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${named(p, 'QueueName', logicalId)}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${named(p, 'Name', logicalId)}-AbCdEf`;
    case 'AWS::EC2::LaunchTemplate':
      return `lt-${hexId(logicalId)}`;
    case 'AWS::EC2::Subnet':
      return `subnet-${hexId(logicalId)}`;
    case 'AWS::EC2::SecurityGroup':
      return `sg-${hexId(logicalId)}`;
    case 'AWS::EC2::VPC':
      return `vpc-${hexId(logicalId)}`;
    case 'AWS::IAM::Role':
    case 'AWS::IAM::InstanceProfile':
      return named(p, r.Type === 'AWS::IAM::Role' ? 'RoleName' : 'InstanceProfileName', logicalId);
    default:
      throw new Error(`cfn-resolve does not know what Ref returns for ${r.Type} (${logicalId}): teach it`);
  }
}

function getAtt(resources: CfnResources, logicalId: string, attribute: string): string {
  const r = resources[logicalId];
  if (!r) throw new Error(`Fn::GetAtt of unknown resource ${logicalId}`);
  const key = `${r.Type}.${attribute}`;
  switch (key) {
    case 'AWS::EC2::SecurityGroup.GroupId':
      return ref(resources, logicalId);
    case 'AWS::IAM::InstanceProfile.Arn':
      return `arn:aws:iam::${ACCOUNT}:instance-profile/${ref(resources, logicalId)}`;
    case 'AWS::IAM::Role.Arn':
      return `arn:aws:iam::${ACCOUNT}:role/${ref(resources, logicalId)}`;
    case 'AWS::SQS::Queue.Arn':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${named(r.Properties, 'QueueName', logicalId)}`;
    case 'AWS::SQS::Queue.QueueUrl':
      return ref(resources, logicalId);
    case 'AWS::Events::EventBus.Arn':
      return `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${ref(resources, logicalId)}`;
    case 'AWS::Events::EventBus.Name':
      return ref(resources, logicalId);
    case 'AWS::DynamoDB::Table.Arn':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${ref(resources, logicalId)}`;
    default:
      throw new Error(`cfn-resolve does not know Fn::GetAtt ${key} (${logicalId}): teach it`);
  }
}

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** The string a synthesized value becomes once deployed (literals pass through). */
export function resolveCfn(value: unknown, resources: CfnResources): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return PSEUDO[o.Ref] ?? ref(resources, o.Ref);
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att) && typeof att[0] === 'string' && typeof att[1] === 'string') {
      return getAtt(resources, att[0], att[1]);
    }
    const join = o['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map((part) => resolveCfn(part, resources)).join(join[0]);
    }
  }
  throw new Error(`cfn-resolve cannot resolve ${JSON.stringify(value).slice(0, 200)}: teach it`);
}

/** Every variable of a function's synthesized environment, resolved. */
export function resolveEnvironment(
  variables: Record<string, unknown>,
  resources: CfnResources,
): Record<string, string> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolveCfn(v, resources)]));
}
