import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeBus } from '../../../lib/aws/bus.js';
import { DetailTypes, Sources } from '../../../lib/events/index.js';
import { type Moto, startMoto } from '../../support/moto.js';

const BUS = 'k3s-burst-pi-lab';

async function drain(sqs: SQSClient, queueUrl: string, want: number): Promise<Message[]> {
  const got: Message[] = [];
  // Bounded: at most 20 receives.
  for (let i = 0; i < 20 && got.length < want; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    got.push(...(r.Messages ?? []));
    if (!r.Messages?.length) await new Promise((res) => setTimeout(res, 100));
  }
  return got;
}

describe('EventBridgeBus against moto (rule → SQS)', () => {
  let moto: Moto;
  let eb: EventBridgeClient;
  let sqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    moto = await startMoto();
    eb = new EventBridgeClient(moto.clientConfig);
    sqs = new SQSClient(moto.clientConfig);
    await eb.send(new CreateEventBusCommand({ Name: BUS }));
    const q = await sqs.send(new CreateQueueCommand({ QueueName: 'agent-commands' }));
    queueUrl = q.QueueUrl ?? '';
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await eb.send(
      new PutRuleCommand({
        Name: 'drain-to-agent',
        EventBusName: BUS,
        EventPattern: JSON.stringify({ source: [Sources.reconcile], 'detail-type': [DetailTypes.drainNode] }),
      }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: 'drain-to-agent',
        EventBusName: BUS,
        Targets: [{ Id: 'agent-queue', Arn: attrs.Attributes?.QueueArn }],
      }),
    );
  });

  afterAll(async () => {
    eb?.destroy();
    sqs?.destroy();
    await moto?.stop();
  });

  it('delivers every entry of a 12-entry put through the rule to the queue, and only matching ones', async () => {
    // Given a bus adapter on the cluster bus
    const bus = new EventBridgeBus({ client: eb, eventBusName: BUS, clock: { sleep: async () => {} } });
    const drains = Array.from({ length: 12 }, (_, i) => ({
      source: Sources.reconcile,
      detailType: DetailTypes.drainNode,
      detail: { nodeName: `burst-${i}` },
    }));
    const other = { source: Sources.reconcile, detailType: DetailTypes.decisionRecorded, detail: { x: 1 } };

    // When 12 DrainNode events and one other are put (two batches)
    const result = await bus.put([...drains, other]);

    // Then all were accepted and exactly the 12 DrainNode events reach the queue, as EventBridge envelopes
    expect(result.failed).toEqual([]);
    expect(result.eventIds.filter(Boolean)).toHaveLength(13);
    const messages = await drain(sqs, queueUrl, 12);
    const extra = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    messages.push(...(extra.Messages ?? []));
    const envelopes = messages.map((m) => JSON.parse(m.Body ?? '{}'));
    expect(envelopes).toHaveLength(12);
    expect(
      envelopes.every((e) => e['detail-type'] === DetailTypes.drainNode && e.source === Sources.reconcile),
    ).toBe(true);
    expect(envelopes.map((e) => e.detail.nodeName).sort()).toEqual(
      drains.map((d) => d.detail.nodeName).sort(),
    );
  });
});
