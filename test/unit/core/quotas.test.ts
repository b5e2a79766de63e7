import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../lib/core/catalog.js';
import { EC2_VCPU_QUOTAS, familyLetters, quotaClassOf, quotaDemand } from '../../../lib/core/quotas.js';
import { makeConfig } from './fixtures.js';

describe('EC2 vCPU quota classes', () => {
  it.each([
    ['m7g.large', 'm', 'standard'],
    ['t4g.medium', 't', 'standard'],
    ['c7gn.xlarge', 'c', 'standard'],
    ['r7iz.large', 'r', 'standard'],
    ['im4gn.large', 'im', 'standard'],
    ['is4gen.large', 'is', 'standard'],
    ['i4i.large', 'i', 'standard'],
    ['z1d.large', 'z', 'standard'],
    ['a1.large', 'a', 'standard'],
    ['d3.xlarge', 'd', 'standard'],
    ['h1.2xlarge', 'h', 'standard'],
    ['g5.xlarge', 'g', 'g-vt'],
    ['g5g.xlarge', 'g', 'g-vt'],
    ['gr6.4xlarge', 'gr', 'g-vt'],
    ['vt1.3xlarge', 'vt', 'g-vt'],
    ['p4d.24xlarge', 'p', undefined],
    ['inf2.xlarge', 'inf', undefined],
    ['trn1.2xlarge', 'trn', undefined],
    ['x2gd.large', 'x', undefined],
    ['hpc7g.4xlarge', 'hpc', undefined],
    ['f1.2xlarge', 'f', undefined],
    ['dl1.24xlarge', 'dl', undefined],
    ['mac2.metal', 'mac', undefined],
  ])('%s has family letters %s and counts against %s', (type, letters, cls) => {
    expect(familyLetters(type)).toBe(letters);
    expect(quotaClassOf(type)).toBe(cls);
  });

  it('names one quota per class and capacity type, each with a well-formed code', () => {
    const keys = EC2_VCPU_QUOTAS.map((q) => `${q.quotaClass}/${q.capacityType}`);
    expect(new Set(keys).size).toBe(4);
    for (const q of EC2_VCPU_QUOTAS) expect(q.quotaCode).toMatch(/^L-[0-9A-F]{8}$/);
    expect(EC2_VCPU_QUOTAS.find((q) => q.quotaName.startsWith('Running On-Demand Standard'))?.quotaCode).toBe(
      'L-1216C47A',
    );
  });
});

describe('quotaDemand', () => {
  it('caps the vCPUs at limits.maxVcpus when maxNodes of the largest type would exceed it', () => {
    // 6 nodes × 8 vCPUs (c7g.2xlarge) = 48 > maxVcpus 32
    const config = makeConfig();

    const { demands, unchecked } = quotaDemand(config, buildCatalog(config));

    expect(unchecked).toEqual([]);
    expect(demands).toEqual([
      expect.objectContaining({
        quotaClass: 'standard',
        smallestVcpus: 2,
        largestVcpus: 8,
        largestType: 'c7g.2xlarge',
        maxVcpus: 32,
      }),
    ]);
  });

  it('caps the vCPUs at maxNodes × the largest type when that is lower', () => {
    const config = makeConfig({
      limits: { maxNodes: 3, maxVcpus: 64 },
      nodes: { candidateTypes: ['t4g.medium'] },
    });

    expect(quotaDemand(config, buildCatalog(config)).demands[0]?.maxVcpus).toBe(6);
  });

  it('puts G types in their own class and lists families with a quota of their own as unchecked', () => {
    const config = makeConfig({
      nodes: { candidateTypes: ['t4g.medium', 'g5.xlarge', 'p4d.24xlarge'] },
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

    const { demands, unchecked } = quotaDemand(config, buildCatalog(config));

    expect(demands.map((d) => [d.quotaClass, d.instanceTypes, d.maxVcpus])).toEqual([
      ['standard', ['t4g.medium'], 12],
      ['g-vt', ['g5.xlarge'], 24],
    ]);
    expect(unchecked).toEqual(['p4d.24xlarge']);
  });
});
