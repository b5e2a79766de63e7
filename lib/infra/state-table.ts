import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** Props of {@link StateTable}. */
export interface StateTableProps {
  /** Table name; one table per cluster. */
  readonly tableName: string;
  /**
   * `RETAIN` keeps the decision journal after `cdk destroy` (it then bills for storage).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The single DynamoDB table holding the reconcile lease, fleet state, in-flight launches
 * and the decision journal. Keys are generic (`pk`, `sk` strings) so the adapters own the
 * item layout; items expire through the `expiresAt` attribute (epoch seconds), the name
 * `lib/aws/state.ts` (`STATE_TABLE.ttlAttribute`) writes.
 */
export class StateTable extends Construct {
  static readonly PARTITION_KEY = 'pk';
  static readonly SORT_KEY = 'sk';
  static readonly TTL_ATTRIBUTE = 'expiresAt';
  readonly table: Table;

  constructor(scope: Construct, id: string, props: StateTableProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: StateTable.PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: StateTable.SORT_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: StateTable.TTL_ATTRIBUTE,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}
