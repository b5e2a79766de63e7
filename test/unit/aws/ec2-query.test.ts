import { describe, expect, it } from 'vitest';
import {
  ec2Endpoint,
  lambdaCredentialsFromEnv,
  parseDescribeInstances,
  parseDescribeSubnets,
  parseEc2Error,
  parseEc2Xml,
  parseTerminateInstances,
  queryParams,
} from '../../../lib/aws/ec2-query.js';

const instanceXml = (id: string, extra = '') => `
        <item>
          <instanceId>${id}</instanceId>
          <imageId>ami-0abcdef1234567890</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <privateDnsName>ip-10-0-1-12.eu-central-1.compute.internal</privateDnsName>
          <dnsName/>
          <reason/>
          <amiLaunchIndex>0</amiLaunchIndex>
          <productCodes/>
          <instanceType>m7g.large</instanceType>
          <launchTime>2026-11-30T09:15:02.000Z</launchTime>
          <placement><availabilityZone>eu-central-1b</availabilityZone><groupName/><tenancy>default</tenancy></placement>
          <monitoring><state>disabled</state></monitoring>
          <subnetId>subnet-0b1</subnetId>
          <vpcId>vpc-01</vpcId>
          <privateIpAddress>10.0.1.12</privateIpAddress>
          <groupSet><item><groupId>sg-01</groupId><groupName>nodes</groupName></item></groupSet>
          <architecture>arm64</architecture>
          <rootDeviceType>ebs</rootDeviceType>
          <blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><volumeId>vol-01</volumeId><status>attached</status></ebs></item></blockDeviceMapping>
          ${extra}
        </item>`;

const describeXml = (reservations: string, nextToken = '') => `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
    <reservationSet>${reservations}</reservationSet>
    ${nextToken ? `<nextToken>${nextToken}</nextToken>` : ''}
</DescribeInstancesResponse>`;

const reservation = (id: string, instances: string) => `
      <item>
        <reservationId>${id}</reservationId>
        <ownerId>123456789012</ownerId>
        <groupSet/>
        <instancesSet>${instances}</instancesSet>
      </item>`;

describe('EC2 Query XML answers', () => {
  it('parses a DescribeInstances answer with one reservation of one instance and one tag as lists', () => {
    const xml = describeXml(
      reservation(
        'r-1',
        instanceXml(
          'i-0aaa',
          '<instanceLifecycle>spot</instanceLifecycle><tagSet><item><key>k3s-burst/cluster</key><value>pi-lab</value></item></tagSet>',
        ),
      ),
    );
    const out = parseDescribeInstances(parseEc2Xml(xml).body);
    expect(out.NextToken).toBeUndefined();
    expect(out.Reservations).toHaveLength(1);
    const i = out.Reservations?.[0]?.Instances;
    expect(i).toHaveLength(1);
    expect(i?.[0]).toMatchObject({
      InstanceId: 'i-0aaa',
      InstanceType: 'm7g.large',
      State: { Code: 16, Name: 'running' },
      Placement: { AvailabilityZone: 'eu-central-1b' },
      SubnetId: 'subnet-0b1',
      InstanceLifecycle: 'spot',
      Architecture: 'arm64',
      Tags: [{ Key: 'k3s-burst/cluster', Value: 'pi-lab' }],
    });
    expect(i?.[0]?.LaunchTime?.toISOString()).toBe('2026-11-30T09:15:02.000Z');
  });

  it('parses many reservations and instances, tags with empty values, entities and the next token', () => {
    const tags =
      '<tagSet><item><key>a</key><value>x &amp; y &lt;z&gt;</value></item><item><key>empty</key><value/></item></tagSet>';
    const xml = describeXml(
      reservation('r-1', instanceXml('i-01', tags) + instanceXml('i-02')) +
        reservation('r-2', instanceXml('i-03')),
      'tok/en+==',
    );
    const out = parseDescribeInstances(parseEc2Xml(xml).body);
    expect(out.NextToken).toBe('tok/en+==');
    expect(out.Reservations?.map((r) => r.ReservationId)).toEqual(['r-1', 'r-2']);
    expect(out.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([
      'i-01',
      'i-02',
      'i-03',
    ]);
    expect(out.Reservations?.[0]?.Instances?.[0]?.Tags).toEqual([
      { Key: 'a', Value: 'x & y <z>' },
      { Key: 'empty', Value: '' },
    ]);
    expect(out.Reservations?.[0]?.Instances?.[1]?.Tags).toBeUndefined();
    expect(out.Reservations?.[0]?.Instances?.[1]?.InstanceLifecycle).toBeUndefined();
  });

  it('parses an empty reservationSet as no reservations', () => {
    const out = parseDescribeInstances(parseEc2Xml(describeXml('')).body);
    expect(out.Reservations).toEqual([]);
  });

  it('parses TerminateInstances and DescribeSubnets answers', () => {
    const term = parseTerminateInstances(
      parseEc2Xml(`<TerminateInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <instancesSet><item><instanceId>i-01</instanceId><currentState><code>32</code><name>shutting-down</name></currentState><previousState><code>16</code><name>running</name></previousState></item></instancesSet>
</TerminateInstancesResponse>`).body,
    );
    expect(term.TerminatingInstances).toEqual([
      {
        InstanceId: 'i-01',
        CurrentState: { Code: 32, Name: 'shutting-down' },
        PreviousState: { Code: 16, Name: 'running' },
      },
    ]);
    const subnets = parseDescribeSubnets(
      parseEc2Xml(`<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <subnetSet>
    <item><subnetId>subnet-a</subnetId><state>available</state><vpcId>vpc-1</vpcId><cidrBlock>10.0.1.0/24</cidrBlock><availabilityZone>eu-central-1a</availabilityZone><availabilityZoneId>euc1-az2</availabilityZoneId></item>
    <item><subnetId>subnet-b</subnetId><availabilityZone>eu-central-1b</availabilityZone></item>
  </subnetSet>
</DescribeSubnetsResponse>`).body,
    );
    expect(subnets.Subnets?.map((s) => [s.SubnetId, s.AvailabilityZone])).toEqual([
      ['subnet-a', 'eu-central-1a'],
      ['subnet-b', 'eu-central-1b'],
    ]);
  });

  it('reads the code, message and request id of an EC2 error answer', () => {
    const e = parseEc2Error(`<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-0123' does not exist</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>`);
    expect(e).toEqual({
      code: 'InvalidInstanceID.NotFound',
      message: "The instance ID 'i-0123' does not exist",
      requestId: 'ea966190-f9aa-478e-9ede-example',
    });
    expect(parseEc2Error('<html>Bad gateway</html>')).toEqual({
      code: undefined,
      message: undefined,
      requestId: undefined,
    });
    expect(parseEc2Error('not xml at all')).toEqual({});
  });

  it('refuses malformed XML', () => {
    expect(() =>
      parseEc2Xml('<DescribeInstancesResponse><reservationSet></DescribeInstancesResponse>'),
    ).toThrow(/mismatched|missing/);
  });
});

describe('EC2 Query request fields', () => {
  it('serializes lists with EC2 names, 1-based, and scalars as strings', () => {
    const params = queryParams('DescribeInstances', {
      Filters: [
        { Name: 'tag:k3s-burst/cluster', Values: ['pi-lab'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ],
      MaxResults: 1000,
      NextToken: undefined,
    });
    expect(params).toEqual([
      ['Action', 'DescribeInstances'],
      ['Version', '2016-11-15'],
      ['Filter.1.Name', 'tag:k3s-burst/cluster'],
      ['Filter.1.Value.1', 'pi-lab'],
      ['Filter.2.Name', 'instance-state-name'],
      ['Filter.2.Value.1', 'pending'],
      ['Filter.2.Value.2', 'running'],
      ['MaxResults', '1000'],
    ]);
    expect(queryParams('CreateTags', { Resources: ['i-1'], Tags: [{ Key: 'k', Value: '' }] })).toEqual([
      ['Action', 'CreateTags'],
      ['Version', '2016-11-15'],
      ['ResourceId.1', 'i-1'],
      ['Tag.1.Key', 'k'],
      ['Tag.1.Value', ''],
    ]);
  });

  it('refuses a list field it has no EC2 name for, naming the field', () => {
    expect(() => queryParams('RunInstances', { Ipv6Addresses: [{ Ipv6Address: '::1' }] })).toThrow(
      /Ipv6Addresses .*LIST_NAMES/,
    );
  });
});

describe('EC2 endpoint', () => {
  it('uses an explicit endpoint, then AWS_ENDPOINT_URL_EC2, then AWS_ENDPOINT_URL, then the regional one', () => {
    const env = { AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1', AWS_ENDPOINT_URL: 'http://127.0.0.1:2' };
    expect(ec2Endpoint('eu-central-1', 'http://127.0.0.1:9', env).href).toBe('http://127.0.0.1:9/');
    expect(ec2Endpoint('eu-central-1', undefined, env).href).toBe('http://127.0.0.1:1/');
    expect(ec2Endpoint('eu-central-1', undefined, { AWS_ENDPOINT_URL: 'http://127.0.0.1:2' }).href).toBe(
      'http://127.0.0.1:2/',
    );
    expect(ec2Endpoint('eu-central-1').href).toBe('https://ec2.eu-central-1.amazonaws.com/');
    expect(ec2Endpoint('cn-north-1').href).toBe('https://ec2.cn-north-1.amazonaws.com.cn/');
    expect(() => ec2Endpoint('')).toThrow(/AWS_REGION/);
  });
});

describe('Lambda credentials from the environment', () => {
  it('reads key, secret and session token', () => {
    expect(
      lambdaCredentialsFromEnv({
        AWS_ACCESS_KEY_ID: 'AKID',
        AWS_SECRET_ACCESS_KEY: 'S3CR3T',
        AWS_SESSION_TOKEN: 'TOK',
      }),
    ).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'S3CR3T', sessionToken: 'TOK' });
    expect(lambdaCredentialsFromEnv({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'S3CR3T' })).toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 'S3CR3T',
    });
  });

  it('names the missing variables without echoing the ones that are set', () => {
    const err = (() => {
      try {
        lambdaCredentialsFromEnv({ AWS_SECRET_ACCESS_KEY: 'S3CR3T-VALUE' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set/);
    expect(err?.message).not.toContain('S3CR3T-VALUE');
  });
});
