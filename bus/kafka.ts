/**
 * The Kafka adapter (kafkajs): an idempotent, acks=all producer and consumer groups that commit a
 * partition's offset only after the handler resolved for the batch.
 */
import {
  CompressionTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaMessage,
  type logCreator,
  type Producer,
} from 'kafkajs';
import type { Logger } from '../runtime/log.ts';
import {
  BusUnavailableError,
  type Bus,
  type BusRecord,
  type ConsumedRecord,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './port.ts';

/** Options of {@link createKafkaBus}. Durations are milliseconds. */
export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Compression of produced batches (default gzip). */
  compression?: 'gzip' | 'none';
  /** Receives the adapter's logs and kafkajs' own warnings and errors. */
  log: Logger;
  /** A member that sends no heartbeat for this long is dropped from its group (default 30 000). */
  sessionTimeoutMs?: number;
  /** Heartbeat period, also while a handler runs (default 3 000). */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin; should exceed the slowest handler call (default 60 000). */
  rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for new records; also bounds how fast an idle member notices a rebalance (default 1 000). */
  maxWaitMs?: number;
  /** Largest fetch per partition, so roughly the largest batch (default 1 MiB). */
  maxBytesPerPartition?: number;
  /** Batches of different partitions one member handles at the same time (default 4). */
  partitionsConsumedConcurrently?: number;
  /** Delay before a rejected batch is delivered again: doubles from `initialMs` up to `maxMs`. */
  retryBackoff?: { initialMs: number; maxMs: number };
}

const CONNECTION_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 30_000;
const PING_TIMEOUT_MS = 5_000;
const TOPIC_READY_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_BACKOFF = { initialMs: 100, maxMs: 30_000 };
// Bounded (about 6 s in all) so that calls fail over to the caller's spool instead of hanging;
// kafkajs would retry an idempotent producer forever by default.
const CLIENT_RETRY = { initialRetryTime: 200, maxRetryTime: 5_000, retries: 5 };
// kafkajs errors that mean "the cluster is not reachable right now".
const UNAVAILABLE_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

/** Creates the Kafka bus. Nothing connects until the first call that needs the cluster. */
export function createKafkaBus(options: KafkaBusOptions): Bus {
  return new KafkaBus(options);
}

/** True when `err` (or an error it wraps) says the cluster is away or overloaded, not that the request is wrong. */
function isUnavailable(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof BusUnavailableError || UNAVAILABLE_ERRORS.has(e.name)) return true;
    // Protocol errors Kafka marks retriable: NOT_LEADER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, ...
    if (e.name === 'KafkaJSProtocolError' && (e as Error & { retriable?: boolean }).retriable === true) return true;
  }
  return false;
}

/** Wraps `err` with what was being done; cluster outages become {@link BusUnavailableError}. */
function withContext(err: unknown, doing: string): Error {
  const message = `${doing}: ${err instanceof Error ? err.message : String(err)}`;
  return isUnavailable(err) ? new BusUnavailableError(message, { cause: err }) : new Error(message, { cause: err });
}

async function withTimeout<T>(work: Promise<T>, ms: number, doing: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BusUnavailableError(`${doing}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** kafkajs messages that are part of normal operation but logged as if they were not. */
function isRoutine(namespace: string, message: string, extra: Record<string, unknown>): boolean {
  // Each rebalance fails a heartbeat with REBALANCE_IN_PROGRESS; the Runner's own warning reports it once.
  if (namespace === 'Connection' && message.startsWith('Response Heartbeat') && String(extra['error']).includes('rebalancing')) {
    return true;
  }
  // Producer retries are bounded on purpose (CLIENT_RETRY).
  return message.startsWith('Limiting retries for the idempotent producer');
}

/** Routes kafkajs' own logs to pino. */
function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry;
      const fields = { kafkajs: namespace, ...extra };
      if (isRoutine(namespace, message, extra)) log.debug(fields, message);
      else if (level === logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else if (level === logLevel.INFO) log.info(fields, message);
      else log.debug(fields, message);
    };
}

function toHeaders(headers: IHeaders | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // Kafka allows repeated header names; the port has one value per name, so the last wins.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function toConsumedRecord(message: KafkaMessage): ConsumedRecord {
  const headers = toHeaders(message.headers);
  return {
    key: message.key,
    value: message.value ?? Buffer.alloc(0),
    ...(headers ? { headers } : {}),
    offset: BigInt(message.offset),
    timestamp: Number(message.timestamp),
  };
}

/** The first explicit partition of `records` that a topic with `partitions` partitions lacks. */
function outOfRange(records: BusRecord[], partitions: number): number | undefined {
  for (const { partition } of records) {
    if (partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition >= partitions)) return partition;
  }
  return undefined;
}

/** Creates `connect()` once and again after a failure, so callers share one attempt at a time. */
function lazyConnection(connect: () => Promise<void>): () => Promise<void> {
  let connecting: Promise<void> | undefined;
  return () => {
    connecting ??= connect().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    });
    return connecting;
  };
}

class KafkaBus implements Bus {
  readonly kind = 'kafka';
  private readonly kafka: Kafka;
  private readonly log: Logger;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly connectAdmin: () => Promise<void>;
  private readonly connectProducer: () => Promise<void>;
  /** Partition counts of the topics known to exist. */
  private readonly partitionCounts = new Map<string, number>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: KafkaBusOptions) {
    this.log = options.log.child({ component: 'bus', bus: 'kafka' });
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      retry: CLIENT_RETRY,
      logLevel: logLevel.WARN,
      logCreator: pinoLogCreator(this.log),
    });
    this.admin = this.kafka.admin();
    // Idempotence needs acks from all in-sync replicas and retries; one request in flight per
    // broker keeps kafkajs' sequence numbers in order.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: CLIENT_RETRY,
    });
    this.connectAdmin = lazyConnection(() => this.admin.connect());
    this.connectProducer = lazyConnection(() => this.producer.connect());
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    const names = topics.map((topic) => topic.name).join(', ');
    try {
      await this.connectAdmin();
      const existing = new Set(await this.admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic.name));
      if (missing.length > 0) {
        // createTopics waits for partition leaders; it resolves false when another process won the race.
        await this.admin.createTopics({
          waitForLeaders: true,
          timeout: TOPIC_READY_TIMEOUT_MS,
          topics: missing.map((topic) => ({
            topic: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: topic.replicationFactor,
            // The record timestamp is then the time the broker accepted it, as the port defines.
            configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
          })),
        });
        this.log.info({ topics: missing.map((topic) => topic.name) }, 'created Kafka topics');
      }
      const metadata = await this.admin.fetchTopicMetadata({ topics: topics.map((topic) => topic.name) });
      for (const topic of metadata.topics) this.partitionCounts.set(topic.name, topic.partitions.length);
    } catch (err) {
      throw withContext(err, `ensuring Kafka topics ${names}`);
    }
  }

  async produce(topic: string, records: BusRecord[]): Promise<void> {
    this.assertOpen();
    if (records.length === 0) return;
    // kafkajs would retry a partition that does not exist until it gives up; refuse it at once.
    // Partitions may have been added since the count was read, so look again before refusing.
    let partitions = await this.partitionCount(topic, 'produce to');
    if (outOfRange(records, partitions) !== undefined) partitions = await this.partitionCount(topic, 'produce to', true);
    const bad = outOfRange(records, partitions);
    if (bad !== undefined) throw new Error(`partition ${bad} is out of range for topic "${topic}" (${partitions} partitions)`);
    try {
      await this.connectProducer();
      await this.producer.send({
        topic,
        acks: -1,
        timeout: REQUEST_TIMEOUT_MS,
        compression: this.options.compression === 'none' ? CompressionTypes.None : CompressionTypes.GZIP,
        messages: records.map((record) => ({
          key: record.key,
          value: record.value,
          headers: record.headers,
          partition: record.partition,
        })),
      });
    } catch (err) {
      throw withContext(err, `producing ${records.length} records to Kafka topic ${topic}`);
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    for (const topic of options.topics) await this.partitionCount(topic, 'subscribe to');
    const o = this.options;
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
      maxWaitTimeInMs: o.maxWaitMs ?? 1_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1024 ** 2,
      allowAutoTopicCreation: false,
    });
    const subscription = new KafkaSubscription(consumer, options, {
      log: this.log.child({ groupId: options.groupId }),
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 3_000,
      retryBackoff: o.retryBackoff ?? DEFAULT_RETRY_BACKOFF,
      onStopped: () => this.subscriptions.delete(subscription),
    });
    this.subscriptions.add(subscription);
    try {
      await subscription.start(o.partitionsConsumedConcurrently ?? 4);
    } catch (err) {
      await subscription.stop();
      throw withContext(err, `subscribing group ${options.groupId} to ${options.topics.join(', ')}`);
    }
    return subscription;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    const work = (async () => {
      await this.connectAdmin();
      await this.admin.describeCluster();
    })();
    try {
      await withTimeout(work, PING_TIMEOUT_MS, 'pinging Kafka');
    } catch (err) {
      throw withContext(err, `pinging Kafka at ${this.options.brokers.join(',')}`);
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
      // disconnect() is harmless on clients that never connected.
      await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('Kafka bus is closed');
  }

  /**
   * The topic's partition count, read once (again with `refresh`). Rejects clearly for a topic that
   * does not exist, instead of letting kafkajs retry for it.
   */
  private async partitionCount(topic: string, action: string, refresh = false): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined && !refresh) return known;
    let count: number | undefined;
    try {
      await this.connectAdmin();
      // listTopics first: a metadata request for a missing topic could create it on clusters
      // with auto.create.topics.enable.
      if ((await this.admin.listTopics()).includes(topic)) {
        const metadata = await this.admin.fetchTopicMetadata({ topics: [topic] });
        count = metadata.topics[0]?.partitions.length;
      }
    } catch (err) {
      throw withContext(err, `looking up Kafka topic ${topic}`);
    }
    if (count === undefined) {
      this.partitionCounts.delete(topic);
      throw new Error(`cannot ${action} unknown topic "${topic}": create it with ensureTopics first`);
    }
    this.partitionCounts.set(topic, count);
    return count;
  }

}

interface SubscriptionSettings {
  log: Logger;
  heartbeatIntervalMs: number;
  retryBackoff: { initialMs: number; maxMs: number };
  onStopped: () => void;
}

class KafkaSubscription implements Subscription {
  private assigned: string[] = [];
  /** Consecutive handler failures per `topic:partition`, for the backoff. */
  private readonly failures = new Map<string, number>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: SubscribeOptions,
    private readonly settings: SubscriptionSettings,
  ) {}

  async start(partitionsConsumedConcurrently: number): Promise<void> {
    const { consumer, settings } = this;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = Object.entries(payload.memberAssignment)
        .flatMap(([topic, partitions]) => partitions.map((partition) => `${topic}:${partition}`))
        .sort();
      settings.log.info({ assignment: this.assigned }, 'joined Kafka consumer group');
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      settings.log.error({ err: payload.error, restart: payload.restart }, 'Kafka consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    // run() resolves once the member has joined the group.
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  assignment(): string[] {
    return [...this.assigned];
  }

  stop(): Promise<void> {
    // disconnect() lets the batches in progress finish (and commit), then leaves the group, so the
    // partitions move to the other members at once instead of after the session timeout.
    this.stopping ??= (async () => {
      for (const timer of this.resumeTimers) clearTimeout(timer);
      this.resumeTimers.clear();
      try {
        await this.consumer.disconnect();
      } catch (err) {
        this.settings.log.warn({ err }, 'disconnecting Kafka consumer failed');
      }
      this.assigned = [];
      this.settings.onStopped();
    })();
    return this.stopping;
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    // Batches fetched before a stop are left alone: neither handled nor committed, so the next
    // owner of the partition gets them.
    if (!payload.isRunning()) return;
    const { topic, partition } = batch;
    const key = `${topic}:${partition}`;
    // kafkajs only heartbeats between batches; a slow handler would otherwise cost the partitions.
    const beat = setInterval(() => {
      payload.heartbeat().catch(() => undefined);
    }, this.settings.heartbeatIntervalMs);
    try {
      await this.options.handler({ topic, partition, records: batch.messages.map(toConsumedRecord) });
    } catch (err) {
      // Nothing was resolved, so the next fetch of this partition starts at this batch again;
      // pausing the partition until then is the backoff, and other partitions keep flowing.
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const { initialMs, maxMs } = this.settings.retryBackoff;
      const delayMs = Math.min(maxMs, initialMs * 2 ** (failures - 1));
      this.settings.log.warn(
        { err, topic, partition, offset: batch.firstOffset(), records: batch.messages.length, failures, retryInMs: delayMs },
        'batch handler failed; the batch will be delivered again',
      );
      if (this.stopping) return;
      const resume = payload.pause();
      const timer = setTimeout(() => {
        this.resumeTimers.delete(timer);
        resume();
      }, delayMs);
      this.resumeTimers.add(timer);
      return;
    } finally {
      clearInterval(beat);
    }
    this.failures.delete(key);
    // lastOffset() also covers trailing control records, which never reach the handler.
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
    payload.resolveOffset(batch.lastOffset());
  }
}
