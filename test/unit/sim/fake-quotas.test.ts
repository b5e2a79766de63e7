import { describe } from 'vitest';
import { FakeQuotas } from '../../../lib/sim/world/quotas.js';
import { describeQuotaContract } from '../../support/fakes/quota-contract.js';

describe('FakeQuotas honours the QuotaPort contract', () => {
  describeQuotaContract(() => {
    const fake = new FakeQuotas();
    return {
      port: fake,
      setApplied: (code, name, value) => fake.setApplied(code, name, value),
      setDefault: (code, name, value) => fake.setDefault(code, name, value),
      deny: () => {
        fake.denied = true;
      },
      reads: () => fake.reads,
    };
  });
});
