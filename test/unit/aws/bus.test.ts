import {
  EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeBus } from '../../../lib/aws/bus.js';
import { type BusEntry, EventTooLargeError } from '../../../lib/core/ports.js';
import { PUT_EVENTS_MAX_ENTRY_BYTES } from '../../../lib/events/index.js';

const entry = (i: number): BusEntry => ({
  source: 'k3s-burst.reconcile',
  detailType: 'ScaleOutRequested',
  detail: { n: i },
});

describe('EventBridgeBus', () => {
  const ebMock = mockClient(EventBridgeClient);
  let sleeps: number[];
  let bus: EventBridgeBus;

  beforeEach(() => {
    ebMock.reset();
    sleeps = [];
    bus = new EventBridgeBus({
      client: new EventBridgeClient({ region: 'eu-central-1' }),
      eventBusName: 'k3s-burst-pi-lab',
      maxAttempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      clock: {
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
      random: () => 0.5,
    });
  });

  afterEach(() => {
    ebMock.reset();
  });

  it('sends 25 entries in batches of 10, 10 and 5, in order', async () => {
    // Given EventBridge accepts everything
    ebMock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `id-${i}` })),
    }));

    // When 25 entries are put
    const result = await bus.put(Array.from({ length: 25 }, (_, i) => entry(i)));

    // Then three requests, each ≤ 10 entries, addressed to the bus
    const calls = ebMock.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 5]);
    expect(calls[0]?.args[0].input.Entries?.[0]).toMatchObject({
      EventBusName: 'k3s-burst-pi-lab',
      Source: 'k3s-burst.reconcile',
      DetailType: 'ScaleOutRequested',
      Detail: '{"n":0}',
    });
    expect(calls[2]?.args[0].input.Entries?.[4]?.Detail).toBe('{"n":24}');
    expect(result.failed).toEqual([]);
    expect(result.eventIds.every((id) => typeof id === 'string')).toBe(true);
    expect(sleeps).toEqual([]);
  });

  it('retries only the entries that failed, after a jittered backoff', async () => {
    // Given the 2nd and 4th entries fail once with a throttle
    ebMock
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
          { EventId: 'c' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
        ],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }, { EventId: 'd' }] });

    // When four entries are put
    const result = await bus.put([entry(0), entry(1), entry(2), entry(3)]);

    // Then the second request carries exactly the two failed entries
    const calls = ebMock.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.Entries?.map((e) => e.Detail)).toEqual(['{"n":1}', '{"n":3}']);
    expect(result).toEqual({ eventIds: ['a', 'b', 'c', 'd'], failed: [] });
    expect(sleeps).toEqual([50]);
  });

  it('gives up after maxAttempts and reports the entries still failing', async () => {
    // Given one entry always fails
    ebMock.on(PutEventsCommand).callsFake((input: { Entries: { Detail?: string }[] }) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((e) =>
        e.Detail === '{"n":1}'
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'still failing' }
          : { EventId: 'ok' },
      ),
    }));

    // When two entries are put
    const result = await bus.put([entry(0), entry(1)]);

    // Then it tried 3 times (bounded) and reports the failure by index
    expect(ebMock.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(result.failed).toEqual([
      { index: 1, errorCode: 'InternalFailure', errorMessage: 'still failing' },
    ]);
    expect(result.eventIds).toEqual(['ok', undefined]);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry an entry that fails permanently', async () => {
    // Given a malformed entry
    ebMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }],
    });

    // When put
    const result = await bus.put([entry(0)]);

    // Then one request, and the failure returned
    expect(ebMock.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(result.failed[0]?.errorCode).toBe('MalformedDetail');
  });

  it('retries a whole batch whose request failed', async () => {
    // Given the first request throws
    ebMock
      .on(PutEventsCommand)
      .rejectsOnce(
        new EventBridgeServiceException({
          name: 'InternalException',
          $fault: 'server',
          $metadata: {},
          message: 'internal',
        }),
      )
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }, { EventId: 'y' }] });

    // When put
    const result = await bus.put([entry(0), entry(1)]);

    // Then both were sent again and succeeded
    expect(ebMock.commandCalls(PutEventsCommand)).toHaveLength(2);
    expect(result).toEqual({ eventIds: ['x', 'y'], failed: [] });
  });

  it('refuses an entry over 256 KB naming it and its size, and sends nothing', async () => {
    // Given one small and one oversized entry
    const big: BusEntry = {
      source: 'k3s-burst.agent',
      detailType: 'ClusterSnapshot',
      detail: JSON.stringify({ pad: 'x'.repeat(PUT_EVENTS_MAX_ENTRY_BYTES) }),
    };

    // When put
    const error = await bus.put([entry(0), big]).catch((e: unknown) => e);

    // Then EventTooLargeError says which event and how big; no request was made
    expect(error).toBeInstanceOf(EventTooLargeError);
    const e = error as EventTooLargeError;
    expect(e.message).toContain('k3s-burst.agent / ClusterSnapshot');
    expect(e.bytes).toBeGreaterThan(PUT_EVENTS_MAX_ENTRY_BYTES);
    expect(e.message).toContain(String(e.bytes));
    expect(ebMock.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('accepts an entry of exactly 256 KB', async () => {
    // Given an entry whose counted size is exactly the limit
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'z' }] });
    const source = 'k3s-burst.agent';
    const detailType = 'ClusterSnapshot';
    const overhead = 14 + source.length + detailType.length;
    const detail = 'x'.repeat(PUT_EVENTS_MAX_ENTRY_BYTES - overhead);

    // When put
    const result = await bus.put([{ source, detailType, detail }]);

    // Then it is sent
    expect(result.failed).toEqual([]);
  });
});
