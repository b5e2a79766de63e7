/**
 * The agent's two AWS ports. `aws-lite.ts` implements them (signed JSON calls, no SDK) for the
 * agent process and the end-to-end test; `lib/sim/world/agent-ports.ts` holds in-memory fakes with the same contracts for tests and the simulator.
 */

/** One PutEvents entry. `detail` is the JSON string EventBridge receives. */
export interface BusEntry {
  source: string;
  detailType: string;
  detail: string;
  eventBusName: string;
}

/** Per-entry result, in request order (PutEvents partial failure semantics). */
export type PutResult =
  | { ok: true; eventId: string }
  | { ok: false; errorCode: string; errorMessage: string };

/**
 * Contract: returns exactly one result per entry, in order. Throws only when the whole call
 * failed (network, credentials, throttling of the call itself).
 */
export interface EventBusPort {
  putEvents(entries: BusEntry[]): Promise<PutResult[]>;
}

export interface QueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** ApproximateReceiveCount: 1 on first delivery. */
  receiveCount: number;
}

/**
 * Contract (SQS standard queue): at-least-once; a received message is invisible for
 * `visibilitySeconds` and comes back unless deleted; after the queue's maxReceiveCount it is
 * moved to the dead-letter queue by the queue itself.
 */
export interface CommandQueuePort {
  receive(opts: {
    maxMessages: number;
    waitSeconds: number;
    visibilitySeconds: number;
    signal: AbortSignal;
  }): Promise<QueueMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  changeVisibility(receiptHandle: string, visibilitySeconds: number): Promise<void>;
}

/**
 * Where the agent publishes the current K3s join token for the launch Lambda: a Secrets
 * Manager secret only the agent may write (PutSecretValue, nothing else).
 * Contract: after `put` resolves, a read of the secret returns this value (AWSCURRENT);
 * throws when the write failed. The value is a secret: implementations never log it.
 */
export interface JoinTokenStorePort {
  put(value: import('../events/join-token.js').JoinTokenSecret): Promise<void>;
}
