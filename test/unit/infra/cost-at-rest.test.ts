import { describe, expect, it } from 'vitest';
import { STACK_AT_REST } from '../../../lib/ops/cost.js';
import { logicalId, synthStack } from './support.js';

// The counts the cost-at-rest estimate (lib/ops/cost.ts, docs/operations.md) prices, against
// what `cdk synth` really creates for a config without capacity schedules.
describe('the stack the cost-at-rest estimate prices', () => {
  const input = {
    cluster: {
      name: 'pi-lab',
      region: 'eu-central-1',
      k3sServerUrl: 'https://100.64.5.11:6443',
      k3sVersion: 'v1.32.6+k3s1',
    },
    tailscale: { federatedClientId: 'kFed3rat3dCNTRL' },
  };
  const { template } = synthStack(input);
  const count = (type: string) => Object.keys(template.findResources(type)).length;

  it('has as many secrets, alarms and dashboards as the estimate counts', () => {
    expect(count('AWS::SecretsManager::Secret')).toBe(STACK_AT_REST.secrets);
    expect(count('AWS::CloudWatch::Alarm')).toBe(STACK_AT_REST.alarms);
    expect(count('AWS::CloudWatch::Dashboard')).toBe(STACK_AT_REST.dashboards);
  });

  it('runs reconcile and janitor with the memory and tick rates the estimate assumes', () => {
    const fns = template.findResources('AWS::Lambda::Function');
    const memoryOf = (prefix: string) =>
      fns[logicalId(template, 'AWS::Lambda::Function', prefix)]?.Properties?.MemorySize as number;
    expect(memoryOf('FunctionsReconcile')).toBe(STACK_AT_REST.reconcileMemoryMiB);
    expect(memoryOf('FunctionsJanitor')).toBe(STACK_AT_REST.janitorMemoryMiB);

    const rates = Object.values(template.findResources('AWS::Scheduler::Schedule')).map(
      (r) => r.Properties?.ScheduleExpression as string,
    );
    expect(rates.sort()).toEqual(
      [
        `rate(${STACK_AT_REST.janitorTickMinutes} minutes)`,
        `rate(${STACK_AT_REST.reconcileTickMinutes} minutes)`,
      ].sort(),
    );
  });
});
