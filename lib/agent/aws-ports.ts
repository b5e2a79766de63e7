/**
 * AWS SDK implementations of the agent's ports, for callers that already hold SDK clients (the
 * end-to-end test wires them to moto). The agent process itself uses aws-lite.ts: the same
 * contracts without the SDK's ~22 MiB of memory. Credentials are never logged.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { BusEntry, CommandQueuePort, EventBusPort, PutResult, QueueMessage } from './ports.js';

export function eventBridgeBus(
  region: string,
  client = new EventBridgeClient({ region, maxAttempts: 3 }),
): EventBusPort {
  return {
    async putEvents(entries: BusEntry[]): Promise<PutResult[]> {
      const out = await client.send(
        new PutEventsCommand({
          Entries: entries.map((e) => ({
            Source: e.source,
            DetailType: e.detailType,
            Detail: e.detail,
            EventBusName: e.eventBusName,
          })),
        }),
      );
      return entries.map((_, i) => {
        const r = out.Entries?.[i];
        if (r?.EventId && !r.ErrorCode) return { ok: true, eventId: r.EventId };
        return {
          ok: false,
          errorCode: r?.ErrorCode ?? 'Unknown',
          errorMessage: r?.ErrorMessage ?? 'no result for entry',
        };
      });
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
          MaxNumberOfMessages: Math.max(1, Math.min(10, maxMessages)),
          WaitTimeSeconds: waitSeconds,
          VisibilityTimeout: visibilitySeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        { abortSignal: signal },
      );
      return (out.Messages ?? []).map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
      }));
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
