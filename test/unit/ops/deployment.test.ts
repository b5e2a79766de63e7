import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { findDeployment, required } from '../../../lib/ops/deployment.js';
import { OpsError, StackNotFoundError, StackResourceMissingError } from '../../../lib/ops/errors.js';

/** A CloudFormation client that answers DescribeStacks / DescribeStackResources from fixtures. */
function fakeCfn(answers: { stacks?: unknown; resources?: unknown; error?: Error }): CloudFormationClient {
  return {
    send: async (cmd: { constructor: { name: string } }) => {
      if (answers.error) throw answers.error;
      if (cmd.constructor.name === 'DescribeStacksCommand') return { Stacks: answers.stacks };
      return { StackResources: answers.resources ?? [] };
    },
  } as unknown as CloudFormationClient;
}

const outputs = (o: Record<string, string>) =>
  Object.entries(o).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

/** The outputs every stack version has; newer stacks add TableName and DeadLetterQueueUrls. */
const REQUIRED_OUTPUTS = {
  EventBusName: 'k3s-burst-pi-lab',
  CommandQueueUrl: 'https://sqs/q',
  TailscaleOAuthSecretArn: 'arn:ts',
  K3sAgentTokenSecretArn: 'arn:tok',
};

describe('findDeployment', () => {
  it('reads every value from the outputs, no notes', async () => {
    const d = await findDeployment(
      fakeCfn({
        stacks: [
          {
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: outputs({
              ...REQUIRED_OUTPUTS,
              TableName: 'tbl',
              DeadLetterQueueUrls: 'https://sqs/a, https://sqs/b',
            }),
          },
        ],
      }),
      'K3sBurst-pi-lab',
      'eu-central-1',
    );
    expect(d).toMatchObject({
      tableName: 'tbl',
      deadLetterQueueUrls: ['https://sqs/a', 'https://sqs/b'],
      notes: [],
    });
  });

  it('an older stack without TableName/DeadLetterQueueUrls: found among the resources, with a note each', async () => {
    const d = await findDeployment(
      fakeCfn({
        stacks: [
          {
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: outputs(REQUIRED_OUTPUTS),
          },
        ],
        resources: [
          {
            ResourceType: 'AWS::DynamoDB::Table',
            LogicalResourceId: 'StateTable',
            PhysicalResourceId: 'tbl-xyz',
          },
          {
            ResourceType: 'AWS::SQS::Queue',
            LogicalResourceId: 'FunctionsDlq',
            PhysicalResourceId: 'https://sqs/f-dlq',
          },
          {
            ResourceType: 'AWS::SQS::Queue',
            LogicalResourceId: 'Commands',
            PhysicalResourceId: 'https://sqs/q',
          },
        ],
      }),
      'K3sBurst-pi-lab',
      'eu-central-1',
    );
    expect(d.tableName).toBe('tbl-xyz');
    expect(d.deadLetterQueueUrls).toEqual(['https://sqs/f-dlq']);
    expect(d.notes).toHaveLength(2);
    expect(d.notes[0]).toContain('stack output TableName is missing');
    expect(d.notes.join(' ')).toContain('npx cdk deploy');
  });

  it('a missing stack is StackNotFoundError; other failures an OpsError naming the code', async () => {
    const notFound = Object.assign(new Error('Stack with id K3sBurst-pi-lab does not exist'), {
      name: 'ValidationError',
    });
    await expect(
      findDeployment(fakeCfn({ error: notFound }), 'K3sBurst-pi-lab', 'eu-central-1'),
    ).rejects.toBeInstanceOf(StackNotFoundError);
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
    const err = await findDeployment(fakeCfn({ error: denied }), 'K3sBurst-pi-lab', 'eu-central-1').catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(OpsError);
    expect((err as Error).message).toContain('AccessDenied');
  });

  it('required() names what is missing', async () => {
    const d = await findDeployment(
      fakeCfn({ stacks: [{ StackStatus: 'CREATE_IN_PROGRESS', Outputs: [] }] }),
      'S',
      'r',
    );
    expect(() => required(d, d.tableName, 'DynamoDB state table')).toThrow(StackResourceMissingError);
    expect(() => required(d, d.tableName, 'DynamoDB state table')).toThrow(
      /stack S has no DynamoDB state table/,
    );
  });
});
