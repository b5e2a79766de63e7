/**
 * The Lambda environment schema on its own: what the runtime reads (trimmed, defaults,
 * SUBNET_IDS split, unknown variables ignored) and what the stack's synth check skips
 * (unresolved tokens) or refuses (a variable outside the contract).
 */
import { describe, expect, it } from 'vitest';
import { type LambdaEnvInput, lambdaEnvProblems, parseLambdaEnv } from '../../../lib/events/lambda-env.js';

const STACK_ENV: LambdaEnvInput = {
  CLUSTER_NAME: 'pi-lab',
  CONFIG_JSON: '{}',
  EVENT_BUS_NAME: 'k3s-burst-pi-lab',
  TABLE_NAME: 'k3s-burst-pi-lab',
  COMMAND_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/123456789012/k3s-burst-pi-lab-commands',
  TAILSCALE_OAUTH_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:ts-AbCdEf',
  K3S_JOIN_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:k3s-AbCdEf',
  LAUNCH_TEMPLATE_ID: '',
  SUBNET_IDS: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  INSTANCE_PROFILE_ARN: 'arn:aws:iam::123456789012:instance-profile/k3s-burst-pi-lab-node',
  AMI_PARAMETER_ARM64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
  AMI_PARAMETER_AMD64: '',
  POWERTOOLS_SERVICE_NAME: 'k3s-burst',
  POWERTOOLS_METRICS_NAMESPACE: 'k3s-burst',
  NODE_OPTIONS: '--enable-source-maps',
};

describe('parseLambdaEnv', () => {
  it('reads trimmed values, splits SUBNET_IDS and defaults what is optional to empty', () => {
    const r = parseLambdaEnv({ ...STACK_ENV, TABLE_NAME: ' k3s-burst-pi-lab\n', HOME: '/root' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.TABLE_NAME).toBe('k3s-burst-pi-lab');
    expect(r.value.SUBNET_IDS).toEqual(['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
    expect(r.value.TAILSCALE_API_URL).toBe('');
    expect(r.value.AWS_REGION).toBe('');
    expect(r.value).not.toHaveProperty('HOME');
  });

  it('lists every problem, each naming its variable, in the order of the contract', () => {
    const r = parseLambdaEnv({ ...STACK_ENV, CLUSTER_NAME: undefined, SECURITY_GROUP_ID: 'default' });
    expect(r.ok ? [] : r.problems).toEqual([
      { variable: 'CLUSTER_NAME', message: 'is not set' },
      { variable: 'SECURITY_GROUP_ID', message: 'is malformed (expected sg-…; got 7 chars)' },
    ]);
  });
});

describe('lambdaEnvProblems (the stack at synth)', () => {
  const token = (v: string) => v.startsWith('<unresolved ');

  it('accepts the environment the stack writes', () => {
    expect(lambdaEnvProblems(STACK_ENV, token)).toEqual([]);
  });

  it('skips values CloudFormation resolves later and checks the literal ones', () => {
    const env = { ...STACK_ENV, SECURITY_GROUP_ID: '<unresolved GroupId>', TABLE_NAME: 'x' };
    expect(lambdaEnvProblems(env, token)).toEqual([
      { variable: 'TABLE_NAME', message: 'is malformed (expected a DynamoDB table name; got 1 chars)' },
    ]);
  });

  it('refuses a variable the runtime does not read', () => {
    const env = { ...STACK_ENV, TAILSCALE_OAUTH_SECRET: 'x' } as LambdaEnvInput;
    expect(lambdaEnvProblems(env, token)).toEqual([
      { variable: 'TAILSCALE_OAUTH_SECRET', message: 'is not part of the Lambda environment contract' },
    ]);
  });
});
