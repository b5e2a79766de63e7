/**
 * AWS SDK implementations of the agent's ports, for callers that already hold SDK clients. Only
 * user: the end-to-end test (test/e2e/world.ts), which wires them to moto. The agent process itself uses aws-lite.ts: the same
 * contracts without the SDK's ~22 MiB of memory. Credentials are never logged.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { putEventsEntries, putResults, queueMessages, receiveMessageParams } from './aws-lite.js';
import type { BusEntry, CommandQueuePort, EventBusPort, PutResult, QueueMessage } from './ports.js';

export function eventBridgeBus(
  region: string,
  client = new EventBridgeClient({ region, maxAttempts: 3 }),
): EventBusPort {
  return {
    async putEvents(entries: BusEntry[]): Promise<PutResult[]> {
      const out = await client.send(new PutEventsCommand({ Entries: putEventsEntries(entries) }));
      return putResults(entries, out.Entries);
    },
  };
}

export function sqsQueue(
  region: string,
  queueUrl: string,
  client = new SQSClient({ region, maxAttempts: 3 }),
): CommandQueuePort {
  return {
    async receive({ maxMessages, waitSeconds, visibilitySeconds, signal }): Promise<QueueMessage[]> {
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          ...receiveMessageParams(maxMessages, waitSeconds, visibilitySeconds),
        }),
        { abortSignal: signal },
      );
      return queueMessages(out.Messages);
    },
    async delete(receiptHandle) {
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
    },
    async changeVisibility(receiptHandle, visibilitySeconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: visibilitySeconds,
        }),
      );
    },
  };
}
