import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EC2_VCPU_QUOTAS, QUOTA_READ_ACTIONS } from '../../../lib/core/quotas.js';
import { quotaChecks } from '../../../lib/ops/quota-check.js';
import { FakeQuotas } from '../../../lib/sim/world/quotas.js';
import { makeConfig } from '../core/fixtures.js';

const REGION = 'eu-central-1';
const code = (cls: string, cap: string) => {
  const q = EC2_VCPU_QUOTAS.find((x) => x.quotaClass === cls && x.capacityType === cap);
  if (!q) throw new Error(`no quota ${cls}/${cap}`);
  return q;
};
const withQuotas = (values: Record<string, number>, source: 'applied' | 'default' = 'applied') => {
  const fake = new FakeQuotas();
  for (const [key, v] of Object.entries(values)) {
    const [cls, cap] = key.split('/') as [string, string];
    const q = code(cls, cap);
    if (source === 'applied') fake.setApplied(q.quotaCode, q.quotaName, v);
    else fake.setDefault(q.quotaCode, q.quotaName, v);
  }
  return fake;
};

describe('doctor quota checks', () => {
  // makeConfig: maxVcpus 32, maxNodes 6, largest c7g.2xlarge (8 vCPUs) → 32 vCPUs needed
  it('is ok when both quotas cover what the config can run', async () => {
    const checks = await quotaChecks(
      withQuotas({ 'standard/spot': 32, 'standard/on-demand': 640 }),
      makeConfig(),
      REGION,
    );

    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['quota:standard-spot', 'ok'],
      ['quota:standard-on-demand', 'ok'],
    ]);
    expect(checks[0]?.message).toContain('L-34B43A08 is 32 vCPUs (applied to this account)');
    expect(checks[0]?.message).toContain(
      '32 vCPUs = min(limits.maxVcpus 32, limits.maxNodes 6 × 8 of c7g.2xlarge)',
    );
  });

  it('warns when a quota is below the demand, with the increase command and the console link', async () => {
    const checks = await quotaChecks(
      withQuotas({ 'standard/spot': 5, 'standard/on-demand': 16 }, 'default'),
      makeConfig(),
      REGION,
    );

    const od = checks.find((c) => c.id === 'quota:standard-on-demand');
    expect(od?.status).toBe('warn');
    expect(od?.message).toContain('16 vCPUs (AWS default)');
    expect(od?.message).toContain('bursts of t4g.medium, t4g.large');
    expect(od?.message).toContain('stop at 16 vCPUs');
    expect(od?.fix).toContain(
      'aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-1216C47A --desired-value 32 --region eu-central-1',
    );
    expect(od?.fix).toContain(
      'https://eu-central-1.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/L-1216C47A',
    );
    expect(od?.fix).toContain('or lower limits.maxVcpus to 16');
    expect(checks.find((c) => c.id === 'quota:standard-spot')?.status).toBe('warn');
  });

  it('fails when the on-demand quota cannot hold one instance of the smallest type', async () => {
    const checks = await quotaChecks(
      withQuotas({ 'standard/spot': 32, 'standard/on-demand': 1 }),
      makeConfig(),
      REGION,
    );

    const od = checks.find((c) => c.id === 'quota:standard-on-demand');
    expect(od?.status).toBe('fail');
    expect(od?.message).toContain('not enough for one instance');
    expect(od?.fix).toContain('--quota-code L-1216C47A --desired-value 32');
  });

  it('only warns for a zero spot quota while on-demand is a fallback, and fails when spot is all there is', async () => {
    const fallback = await quotaChecks(
      withQuotas({ 'standard/spot': 0, 'standard/on-demand': 64 }),
      makeConfig(),
      REGION,
    );
    const spotOnly = await quotaChecks(
      withQuotas({ 'standard/spot': 0, 'standard/on-demand': 64 }),
      makeConfig({ nodes: { capacityTypes: ['spot'] } }),
      REGION,
    );

    const spot = fallback.find((c) => c.id === 'quota:standard-spot');
    expect(spot?.status).toBe('warn');
    expect(spot?.message).toContain('falls back to on-demand');
    expect(spotOnly.map((c) => [c.id, c.status])).toEqual([['quota:standard-spot', 'fail']]);
  });

  it('reads the G and VT quotas for GPU types and flags families whose quota it does not read', async () => {
    const config = makeConfig({
      nodes: { candidateTypes: ['t4g.medium', 'g5.xlarge', 'p4d.24xlarge'], capacityTypes: ['on-demand'] },
      catalog: [
        {
          instanceType: 'g5.xlarge',
          vcpu: 4,
          memoryMiB: 16384,
          arch: 'amd64',
          onDemandHourlyUsd: 1.2,
          gpus: 1,
        },
        { instanceType: 'p4d.24xlarge', vcpu: 96, memoryMiB: 1179648, arch: 'amd64', onDemandHourlyUsd: 40 },
      ],
    });
    const fake = withQuotas({ 'standard/on-demand': 640, 'g-vt/on-demand': 0 }, 'default');

    const checks = await quotaChecks(fake, config, REGION);

    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['quota:standard-on-demand', 'ok'],
      ['quota:g-vt-on-demand', 'fail'],
      ['quota:other', 'warn'],
    ]);
    expect(checks[1]?.fix).toContain('--quota-code L-DB2E81BA');
    expect(checks[2]?.message).toContain('p4d.24xlarge');
    expect(fake.reads).toEqual(['L-1216C47A', 'L-DB2E81BA']);
  });

  it('turns an IAM refusal into one warning naming the actions, and asks nothing more', async () => {
    const fake = withQuotas({ 'standard/spot': 32, 'standard/on-demand': 64 });
    fake.denied = true;

    const checks = await quotaChecks(fake, makeConfig(), REGION);

    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ id: 'quota', status: 'warn' });
    expect(checks[0]?.fix).toContain(
      'servicequotas:GetServiceQuota and servicequotas:GetAWSDefaultServiceQuota',
    );
    expect(fake.reads).toEqual(['L-34B43A08']);
  });

  it('warns per quota that cannot be read for another reason', async () => {
    const fake = withQuotas({ 'standard/on-demand': 64 });

    const checks = await quotaChecks(fake, makeConfig(), REGION);

    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['quota:standard-spot', 'warn'],
      ['quota:standard-on-demand', 'ok'],
    ]);
    expect(checks[0]?.message).toContain('L-34B43A08');
  });
});

describe('the quota docs', () => {
  it('docs/iam.md names every action the quota reader needs; docs/operations.md every quota code', () => {
    const iam = readFileSync(new URL('../../../docs/iam.md', import.meta.url), 'utf8');
    const ops = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');

    for (const action of QUOTA_READ_ACTIONS) expect(iam).toContain(`\`${action}\``);
    for (const q of EC2_VCPU_QUOTAS) expect(ops).toContain(`\`${q.quotaCode}\``);
  });
});
