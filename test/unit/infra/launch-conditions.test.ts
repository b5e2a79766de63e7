/**
 * IAM defence in depth on RunInstances (issue #12 item 2). moto does not evaluate IAM, so
 * the proof is here: the synthesized statements are asserted, every condition key is checked
 * to exist on the resource type it is written for, and the request the real fleet adapter
 * builds is evaluated against them with a small IAM model (test/support/iam-eval.ts) —
 * allowed as sent, refused when any one guarded parameter is changed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance, RunInstancesRequest } from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet } from '../../../lib/aws/fleet.js';
import { Tags } from '../../../lib/events/index.js';
import { CANONICAL_OWNER_ID, ImageOwnersError, resolveImageOwners } from '../../../lib/infra/index.js';
import { FakeOfferingCache } from '../../../lib/sim/world/offering-cache.js';
import {
  allowingStatements,
  keyDefinedOn,
  type ResolveEnv,
  RUN_INSTANCES_REQUIRED_TYPES,
  resolveValue,
  runInstancesResources,
} from '../../support/iam-eval.js';
import {
  defaultTemplate,
  exampleConfigInput,
  logicalId,
  repoRoot,
  type Statement,
  type Synthesized,
  statementsOf,
  synthStack,
  TEST_ACCOUNT,
} from './support.js';

const NOW = new Date('2026-03-16T09:30:00Z');
const UBUNTU_PARAM = (arch: string) =>
  `/aws/service/canonical/ubuntu/server/24.04/stable/current/${arch}/hvm/ebs-gp3/ami-id`;

let s: Pick<Synthesized, 'template'>;
let env: ResolveEnv;
let launchRole: string;
let runStatements: Statement[];

beforeAll(() => {
  // Given the example config (pi-lab in eu-central-1, Canonical's Ubuntu parameters)
  s = { template: defaultTemplate() };
  env = { partition: 'aws', region: 'eu-central-1', account: TEST_ACCOUNT };
  launchRole = logicalId(s.template, 'AWS::IAM::Role', 'FunctionsLaunchRole');
  runStatements = statementsOf(s.template, launchRole).filter((st) =>
    [st.Action].flat().includes('ec2:RunInstances'),
  );
});

const bySid = (sid: string): Statement => {
  const st = runStatements.find((x) => x.Sid === sid);
  if (!st) throw new Error(`no RunInstances statement ${sid}`);
  return st;
};

/** The resource type of an EC2 ARN pattern (`…:instance/*` → `instance`). */
const typeOf = (resource: string): string => /:([a-z-]+)\/[^/]*$/.exec(resource)?.[1] ?? '?';

describe('RunInstances conditions in the template', () => {
  it('starts only candidate types, tagged for the cluster, with IMDSv2 and hop limit 1', () => {
    const st = bySid('LaunchClusterTaggedCandidateInstances');
    expect(resolveValue(st.Resource, env)).toBe('arn:aws:ec2:eu-central-1:210987654321:instance/*');
    expect(st.Condition).toEqual({
      StringEquals: {
        [`aws:RequestTag/${Tags.cluster}`]: 'pi-lab',
        'ec2:InstanceType': exampleConfigInput().nodes?.candidateTypes,
        'ec2:MetadataHttpTokens': 'required',
      },
      NumericLessThanEquals: { 'ec2:MetadataHttpPutResponseHopLimit': 1 },
    });
  });

  it('creates only encrypted, cluster-tagged volumes', () => {
    const st = bySid('LaunchEncryptedClusterTaggedVolumes');
    expect(resolveValue(st.Resource, env)).toBe('arn:aws:ec2:eu-central-1:210987654321:volume/*');
    expect(st.Condition).toEqual({
      StringEquals: { [`aws:RequestTag/${Tags.cluster}`]: 'pi-lab' },
      Bool: { 'ec2:Encrypted': 'true' },
    });
  });

  it("creates network interfaces only in the stack's subnets and VPC (ARNs)", () => {
    const st = bySid('LaunchInterfacesInStackSubnets');
    const subnets = Object.keys(s.template.findResources('AWS::EC2::Subnet')).sort();
    const vpc = logicalId(s.template, 'AWS::EC2::VPC', 'NetworkVpc');
    const cond = resolveValue(st.Condition, env) as { ArnEquals: Record<string, unknown> };
    expect(Object.keys(cond)).toEqual(['ArnEquals']);
    expect([cond.ArnEquals['ec2:Subnet']].flat().sort()).toEqual(
      subnets.map((id) => `arn:aws:ec2:eu-central-1:210987654321:subnet/ref:${id}`),
    );
    expect(cond.ArnEquals['ec2:Vpc']).toBe(`arn:aws:ec2:eu-central-1:210987654321:vpc/ref:${vpc}`);
  });

  it("boots only images of Canonical's account or the amazon alias by default", () => {
    const st = bySid('LaunchImagesOfAllowedOwners');
    expect(resolveValue(st.Resource, env)).toBe('arn:aws:ec2:eu-central-1::image/*');
    expect(st.Condition).toEqual({ StringEquals: { 'ec2:Owner': [CANONICAL_OWNER_ID, 'amazon'] } });
  });

  it('writes every condition key on a resource type that defines it (a misplaced key would deny every launch)', () => {
    for (const st of runStatements) {
      const types = [resolveValue(st.Resource, env)].flat().map((r) => typeOf(String(r)));
      const keys = Object.values(st.Condition ?? {}).flatMap((k) => Object.keys(k));
      for (const type of types) {
        for (const key of keys) expect(keyDefinedOn(type, key), `${st.Sid}: ${key} on ${type}`).toBe(true);
      }
    }
  });

  it('names every RunInstances statement in docs/iam.md', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'iam.md'), 'utf8');
    for (const st of runStatements) expect(doc, String(st.Sid)).toContain(`\`${st.Sid}\``);
  });

  it('covers every resource type RunInstances requires, and denies nothing', () => {
    const types = new Set(
      runStatements.flatMap((st) => [resolveValue(st.Resource, env)].flat().map((r) => typeOf(String(r)))),
    );
    for (const t of RUN_INSTANCES_REQUIRED_TYPES) expect(types, t).toContain(t);
    expect(runStatements.every((st) => st.Effect === 'Allow')).toBe(true);
  });
});

describe('the request the fleet adapter sends, against those conditions', () => {
  let subnetIds: string[];
  let vpcId: string;
  let sgId: string;

  beforeAll(() => {
    subnetIds = Object.keys(s.template.findResources('AWS::EC2::Subnet')).map((id) => `ref:${id}`);
    vpcId = `ref:${logicalId(s.template, 'AWS::EC2::VPC', 'NetworkVpc')}`;
    sgId = `att:${logicalId(s.template, 'AWS::EC2::SecurityGroup', 'NetworkNodeSecurityGroup')}.GroupId`;
  });

  /** RunInstances requests the real Ec2Fleet builds for one launch (one per offering tried). */
  async function adapterRequests(capacityType: 'spot' | 'on-demand'): Promise<RunInstancesRequest[]> {
    const sent: RunInstancesRequest[] = [];
    const fleet = new Ec2Fleet({
      ec2: {
        async runInstances(input) {
          sent.push(input);
          const instance: Instance = {
            InstanceId: 'i-0new',
            InstanceType: input.InstanceType,
            SubnetId: input.SubnetId,
            Placement: { AvailabilityZone: 'eu-central-1a' },
            State: { Name: 'pending', Code: 0 },
            LaunchTime: NOW,
          };
          return { Instances: [instance] };
        },
        async describeInstances() {
          return { Reservations: [] };
        },
        async terminateInstances() {
          return {};
        },
        async createTags() {},
        async describeSubnets() {
          return { Subnets: [] };
        },
        async startInstances() {},
        async stopInstances() {},
        async modifyInstanceAttribute() {},
      },
      cluster: 'pi-lab',
      subnets: subnetIds.map((subnetId, i) => ({ subnetId, zone: `eu-central-1${'ab'[i]}` })),
      securityGroupIds: [sgId],
      rootVolumeGiB: 20,
      offeringCache: new FakeOfferingCache(),
      clock: { now: () => NOW.getTime() },
    });
    await fleet.launchOne({
      clientToken: 'pi-lab-d1-0-0',
      decisionId: 'pi-lab-d1',
      launchId: 'pi-lab-d1-0',
      index: 0,
      instanceTypes: ['m7g.large'],
      capacityTypes: [capacityType],
      zones: [],
      imageId: 'ami-0123456789abcdef0',
      userData: '#cloud-config\n',
      reason: 'test',
    });
    return sent;
  }

  const denied = (req: RunInstancesRequest, imageOwner = CANONICAL_OWNER_ID): string[] =>
    runInstancesResources(req, { ...env, imageOwner, vpcOfSubnet: () => vpcId })
      .filter((r) => allowingStatements(runStatements, 'ec2:RunInstances', r, env).length === 0)
      .map((r) => r.type);

  it('allows every resource of the spot and on-demand requests as sent', async () => {
    for (const cap of ['spot', 'on-demand'] as const) {
      const [req] = await adapterRequests(cap);
      expect(req).toBeDefined();
      const resources = runInstancesResources(req as RunInstancesRequest, {
        ...env,
        imageOwner: CANONICAL_OWNER_ID,
        vpcOfSubnet: () => vpcId,
      });
      expect(resources.map((r) => r.type)).toEqual(expect.arrayContaining([...RUN_INSTANCES_REQUIRED_TYPES]));
      expect(denied(req as RunInstancesRequest), cap).toEqual([]);
    }
  });

  it('allows the image whether EC2 reports its owner as the amazon alias or the account id', async () => {
    const [req] = await adapterRequests('on-demand');
    expect(denied(req as RunInstancesRequest, 'amazon')).toEqual([]);
    expect(denied(req as RunInstancesRequest, CANONICAL_OWNER_ID)).toEqual([]);
  });

  it('refuses each guarded parameter changed on its own, on the resource that carries it', async () => {
    const [base] = (await adapterRequests('spot')) as [RunInstancesRequest];
    const cases: Array<[string, RunInstancesRequest, string, string?]> = [
      ['a type outside nodes.candidateTypes', { ...base, InstanceType: 'p4d.24xlarge' }, 'instance'],
      [
        'IMDSv1 allowed',
        { ...base, MetadataOptions: { ...base.MetadataOptions, HttpTokens: 'optional' } },
        'instance',
      ],
      [
        'hop limit 2 (containers reach IMDS)',
        { ...base, MetadataOptions: { ...base.MetadataOptions, HttpPutResponseHopLimit: 2 } },
        'instance',
      ],
      [
        'no cluster tag',
        { ...base, TagSpecifications: base.TagSpecifications?.filter((t) => t.ResourceType !== 'instance') },
        'instance',
      ],
      [
        'an unencrypted root volume',
        {
          ...base,
          BlockDeviceMappings: base.BlockDeviceMappings?.map((b) => ({
            ...b,
            Ebs: { ...b.Ebs, Encrypted: false },
          })),
        },
        'volume',
      ],
      ['a subnet of another stack', { ...base, SubnetId: 'subnet-0foreign0000000000' }, 'network-interface'],
      ['an image of another owner', base, 'image', '123456789012'],
    ];
    for (const [what, req, type, owner] of cases) {
      expect(denied(req, owner), what).toContain(type);
    }
  });
});

describe('image owners', () => {
  const params = { arm64: UBUNTU_PARAM('arm64'), amd64: UBUNTU_PARAM('amd64') };

  it("derives Canonical's account and the amazon alias from Canonical's public parameters", () => {
    expect(resolveImageOwners({ amiSsmParameters: params, region: 'eu-central-1' })).toEqual([
      CANONICAL_OWNER_ID,
      'amazon',
    ]);
  });

  it('derives amazon from Amazon Linux parameters and self from your own', () => {
    expect(
      resolveImageOwners({
        amiSsmParameters: {
          arm64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
          amd64: '/k3s-burst/baked/amd64',
        },
        region: 'eu-central-1',
      }),
    ).toEqual(['amazon', 'self']);
  });

  it('uses nodes.imageOwners as given when set', () => {
    expect(
      resolveImageOwners({
        imageOwners: ['111122223333', '111122223333'],
        amiSsmParameters: params,
        region: 'eu-central-1',
      }),
    ).toEqual(['111122223333']);
  });

  it('refuses to guess for an unknown public parameter or Canonical outside the commercial partition', () => {
    expect(() =>
      resolveImageOwners({
        amiSsmParameters: { ...params, amd64: '/aws/service/debian/release/bookworm/latest/amd64' },
        region: 'eu-central-1',
      }),
    ).toThrow(/nodes\.amiSsmParameters\.amd64 ".*debian.*" .*set nodes\.imageOwners/);
    expect(() => resolveImageOwners({ amiSsmParameters: params, region: 'cn-north-1' })).toThrow(
      ImageOwnersError,
    );
  });

  it('puts the stack account for self and the configured owners in the template', () => {
    const input = exampleConfigInput();
    input.nodes = { ...input.nodes, imageOwners: ['self', '111122223333'] };
    const alt = synthStack(input);
    const st = statementsOf(
      alt.template,
      logicalId(alt.template, 'AWS::IAM::Role', 'FunctionsLaunchRole'),
    ).find((x) => x.Sid === 'LaunchImagesOfAllowedOwners');
    expect(st?.Condition).toEqual({ StringEquals: { 'ec2:Owner': [TEST_ACCOUNT, '111122223333'] } });
  });

  it('fails the synth with the field to set when the owner cannot be derived', () => {
    const input = exampleConfigInput();
    input.nodes = {
      ...input.nodes,
      amiSsmParameters: { ...params, arm64: '/aws/service/suse/sles/15/arm64/latest' },
    };
    expect(() => synthStack(input)).toThrow(ImageOwnersError);
  });

  it('pins the interface of an imported VPC to its subnets and VPC by literal ARN', () => {
    const input = exampleConfigInput();
    input.network = { vpcId: 'vpc-0a1b2c3d4e5f60718', subnetIds: ['subnet-0a1b2c3d4e5f60718'] };
    const alt = synthStack(input);
    const st = statementsOf(
      alt.template,
      logicalId(alt.template, 'AWS::IAM::Role', 'FunctionsLaunchRole'),
    ).find((x) => x.Sid === 'LaunchInterfacesInStackSubnets');
    expect(resolveValue(st?.Condition, env)).toEqual({
      ArnEquals: {
        'ec2:Subnet': ['arn:aws:ec2:eu-central-1:210987654321:subnet/subnet-0a1b2c3d4e5f60718'],
        'ec2:Vpc': 'arn:aws:ec2:eu-central-1:210987654321:vpc/vpc-0a1b2c3d4e5f60718',
      },
    });
  });
});
