import {
  assertQuotaCode,
  type QuotaPort,
  QuotaPortError,
  type QuotaValue,
  quotaAccessDeniedMessage,
} from '../../core/quotas.js';

/**
 * In-memory {@link QuotaPort}: applied values win over AWS defaults, as in Service Quotas.
 * Passes the same contract suite as the Service Quotas adapter.
 */
export class FakeQuotas implements QuotaPort {
  readonly applied = new Map<string, { name: string; value: number }>();
  readonly defaults = new Map<string, { name: string; value: number }>();
  /** Every code asked for, in order. */
  readonly reads: string[] = [];
  /** When true, every read is refused as by IAM. */
  denied = false;

  setApplied(quotaCode: string, name: string, value: number): this {
    this.applied.set(quotaCode, { name, value });
    return this;
  }

  setDefault(quotaCode: string, name: string, value: number): this {
    this.defaults.set(quotaCode, { name, value });
    return this;
  }

  async getEc2Quota(quotaCode: string): Promise<QuotaValue> {
    assertQuotaCode(quotaCode);
    this.reads.push(quotaCode);
    if (this.denied) {
      throw new QuotaPortError(
        'access-denied',
        quotaCode,
        quotaAccessDeniedMessage(quotaCode, 'AccessDeniedException'),
      );
    }
    const applied = this.applied.get(quotaCode);
    if (applied) return { quotaCode, quotaName: applied.name, value: applied.value, source: 'applied' };
    const d = this.defaults.get(quotaCode);
    if (d) return { quotaCode, quotaName: d.name, value: d.value, source: 'default' };
    throw new QuotaPortError(
      'not-found',
      quotaCode,
      `Service Quotas knows no EC2 quota ${quotaCode} in this region (NoSuchResourceException)`,
    );
  }
}
