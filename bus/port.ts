/**
 * The bus port: how the collector hands OTLP batches to the processor. Two adapters implement it,
 * an in-process queue (all-in-one) and Kafka (distributed); one contract suite runs against both.
 */

/** A record to produce. The key picks the partition, so every hop of one request lands together. */
export interface BusRecord {
  key: Buffer | null;
  /**
   * Explicit partition. Producers that batch many keys into one record (the collector groups every
   * item of a request by the partition of its trace id) set it; otherwise the key decides.
   */
  partition?: number;
  value: Buffer;
  headers?: Record<string, string>;
}

/** A record as consumed, with the coordinates that make redelivery detectable. */
export interface ConsumedRecord extends BusRecord {
  offset: bigint;
  /** Epoch milliseconds at which the bus accepted the record. */
  timestamp: number;
}

/** Records of one topic-partition handed to a handler in offset order. */
export interface ConsumedBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
}

/**
 * Called with each batch. Resolving means "the effect of this batch is durable": only then is the
 * offset committed. Rejecting keeps the offset where it was, and the batch is delivered again.
 */
export type BatchHandler = (batch: ConsumedBatch) => Promise<void>;

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  handler: BatchHandler;
  /** Start from the earliest offset when the group has none committed (default true). */
  fromBeginning?: boolean;
}

export interface Subscription {
  /** Leaves the group; partitions move to the remaining members. Idempotent. */
  stop(): Promise<void>;
  /** Partitions this member owns now, as `topic:partition`. */
  assignment(): string[];
}

export interface Bus {
  /** Adapter name for logs and metrics: `memory` or `kafka`. */
  readonly kind: string;
  /** Creates the topics that are missing; existing ones are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /** Resolves once every record is durably accepted by the bus (acks from all in-sync replicas). */
  produce(topic: string, records: BusRecord[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Rejects when the bus cannot be reached; used by readiness checks. */
  ping(): Promise<void>;
  /** Stops every subscription and producer. Idempotent, safe without any use. */
  close(): Promise<void>;
}

/** The bus is away or overloaded: keep the data and try again later. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
  readonly retryable = true;
}
