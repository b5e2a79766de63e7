/**
 * The QuotaPort contract as executable tests, run against ServiceQuotasReader (scripted
 * Service Quotas endpoint on 127.0.0.1) and FakeQuotas.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type QuotaPort, QuotaPortError } from '../../../lib/core/quotas.js';

export interface QuotaHarness {
  port: QuotaPort;
  /** The account's applied value (GetServiceQuota answers). */
  setApplied(quotaCode: string, name: string, value: number): void;
  /** AWS's default (GetAWSDefaultServiceQuota answers). */
  setDefault(quotaCode: string, name: string, value: number): void;
  /** Refuse every read as IAM does. */
  deny(): void;
  /** Codes that reached the service, in order. */
  reads(): string[];
}

const STANDARD_OD = 'L-1216C47A';
const OD_NAME = 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances';

async function thrown(p: Promise<unknown>): Promise<QuotaPortError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(QuotaPortError);
    return err as QuotaPortError;
  }
  throw new Error('expected a QuotaPortError, got a value');
}

export function describeQuotaContract(makeHarness: () => QuotaHarness): void {
  let h: QuotaHarness;

  beforeEach(() => {
    h = makeHarness();
  });

  describe('QuotaPort contract', () => {
    it('returns the applied value when the account has one, even over the default', async () => {
      h.setDefault(STANDARD_OD, OD_NAME, 5);
      h.setApplied(STANDARD_OD, OD_NAME, 64);

      const q = await h.port.getEc2Quota(STANDARD_OD);

      expect(q).toEqual({ quotaCode: STANDARD_OD, quotaName: OD_NAME, value: 64, source: 'applied' });
    });

    it("falls back to AWS's default when no applied value exists", async () => {
      h.setDefault('L-34B43A08', 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests', 5);

      const q = await h.port.getEc2Quota('L-34B43A08');

      expect(q.value).toBe(5);
      expect(q.source).toBe('default');
    });

    it('reports a code neither knows as not-found, naming the code', async () => {
      const err = await thrown(h.port.getEc2Quota('L-00000000'));

      expect(err.kind).toBe('not-found');
      expect(err.quotaCode).toBe('L-00000000');
      expect(err.message).toContain('L-00000000');
    });

    it('reports an IAM refusal as access-denied naming the actions to allow', async () => {
      h.setApplied(STANDARD_OD, OD_NAME, 64);
      h.deny();

      const err = await thrown(h.port.getEc2Quota(STANDARD_OD));

      expect(err.kind).toBe('access-denied');
      expect(err.message).toContain('servicequotas:GetServiceQuota');
      expect(err.message).toContain('servicequotas:GetAWSDefaultServiceQuota');
    });

    it('refuses a malformed quota code before asking the service', async () => {
      const err = await thrown(h.port.getEc2Quota('L-1216C47A"}'));

      expect(err.kind).toBe('invalid-request');
      expect(h.reads()).toEqual([]);
    });
  });
}
