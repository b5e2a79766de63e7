import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceQuotasReader } from '../../../lib/aws/service-quotas.js';
import { QuotaPortError } from '../../../lib/core/quotas.js';
import { type FakeServiceQuotas, startFakeServiceQuotas } from '../../support/fake-service-quotas.js';
import { describeQuotaContract } from '../../support/fakes/quota-contract.js';

// moto 5.x serves Service Quotas only for the vpc service code (and has no
// GetAWSDefaultServiceQuota), so the adapter runs against a scripted endpoint on 127.0.0.1.
describe('ServiceQuotasReader honours the QuotaPort contract', () => {
  let sq: FakeServiceQuotas;
  let client: ServiceQuotasClient;

  beforeAll(async () => {
    sq = await startFakeServiceQuotas();
    client = new ServiceQuotasClient(sq.clientConfig);
  });

  afterAll(async () => {
    client?.destroy();
    await sq?.stop();
  });

  describeQuotaContract(() => {
    sq.reset();
    return {
      port: new ServiceQuotasReader({ client }),
      setApplied: (code, name, value) => sq.applied.set(code, { name, value }),
      setDefault: (code, name, value) => sq.defaults.set(code, { name, value }),
      deny: () => {
        sq.failWith = 'AccessDeniedException';
      },
      reads: () => sq.calls.map((c) => String(c.body.QuotaCode)),
    };
  });

  describe('against what the service really sends', () => {
    it('asks GetServiceQuota first and GetAWSDefaultServiceQuota only on NoSuchResourceException', async () => {
      sq.reset();
      sq.defaults.set('L-DB2E81BA', { name: 'Running On-Demand G and VT instances', value: 0 });

      const q = await new ServiceQuotasReader({ client }).getEc2Quota('L-DB2E81BA');

      expect(q).toMatchObject({ value: 0, source: 'default' });
      expect(sq.calls).toEqual([
        { operation: 'GetServiceQuota', body: { ServiceCode: 'ec2', QuotaCode: 'L-DB2E81BA' } },
        { operation: 'GetAWSDefaultServiceQuota', body: { ServiceCode: 'ec2', QuotaCode: 'L-DB2E81BA' } },
      ]);
    });

    it.each([
      ['a missing Value', { QuotaCode: 'L-1216C47A' }],
      ['a negative Value', { QuotaCode: 'L-1216C47A', Value: -1 }],
      ['a string Value', { QuotaCode: 'L-1216C47A', Value: '64' }],
      ['another quota', { QuotaCode: 'L-34B43A08', Value: 64 }],
    ])('rejects an answer with %s as invalid-response, never a number', async (_what, raw) => {
      sq.reset();
      sq.rawQuota = raw;

      const err = await new ServiceQuotasReader({ client })
        .getEc2Quota('L-1216C47A')
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(QuotaPortError);
      expect((err as QuotaPortError).kind).toBe('invalid-response');
    });

    it('reports throttling as a retryable throttled error', async () => {
      sq.reset();
      sq.failWith = 'TooManyRequestsException';

      const err = await new ServiceQuotasReader({ client })
        .getEc2Quota('L-1216C47A')
        .catch((e: unknown) => e);

      expect((err as QuotaPortError).kind).toBe('throttled');
      expect((err as QuotaPortError).retryable).toBe(true);
    });
  });
});
