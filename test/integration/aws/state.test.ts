import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoState, stateTableDefinition } from '../../../lib/aws/state.js';
import { at, describeStatePortContract, plan } from '../../support/fakes/state-contract.js';
import { type Moto, startMoto } from '../../support/moto.js';

describe('DynamoState against moto', () => {
  let moto: Moto;
  let ddb: DynamoDBClient;
  let state: DynamoState;

  beforeAll(async () => {
    moto = await startMoto();
    ddb = new DynamoDBClient(moto.clientConfig);
    await ddb.send(new CreateTableCommand(stateTableDefinition('k3s-burst-state')));
    state = new DynamoState({ client: ddb, tableName: 'k3s-burst-state' });
  });

  afterAll(async () => {
    ddb?.destroy();
    await moto?.stop();
  });

  describeStatePortContract(() => state);

  it('writes the journal TTL as epoch seconds in the expiresAt attribute', async () => {
    // Given a journaled decision with a one-hour TTL
    await state.journalDecision({ plan: plan('ttl-lab', 'd-ttl', at(120)), trigger: 'tick' }, 3600);

    // When the raw item is read
    const raw = await ddb.send(
      new GetItemCommand({
        TableName: 'k3s-burst-state',
        Key: { pk: { S: 'CLUSTER#ttl-lab' }, sk: { S: `DECISION#${at(120).toISOString()}#d-ttl` } },
      }),
    );

    // Then expiresAt = decidedAt + ttl, in epoch seconds (DynamoDB TTL format)
    expect(Number(raw.Item?.expiresAt?.N)).toBe(Math.floor(at(120).getTime() / 1000) + 3600);
  });
});
