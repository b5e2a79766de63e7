import { describe } from 'vitest';
import { FakeState } from '../../../lib/sim/world/index.js';
import { describeStatePortContract } from '../../support/fakes/state-contract.js';

describe('FakeState honours the StatePort contract', () => {
  describeStatePortContract(() => new FakeState());
});
