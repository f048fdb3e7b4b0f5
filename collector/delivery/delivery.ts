import { randomUUID } from 'node:crypto';
import type { Bus, BusRecord } from '../../bus/index.ts';
import type { Component } from '../../runtime/component.ts';
import type { Logger } from '../../runtime/log.ts';
import { counter, gauge, histogram, type Registry } from '../../runtime/metrics.ts';
import type { Origin } from '../auth/origin.ts';
import { encodeProtobuf, type OtlpRequestMap, type OtlpSignal } from '../otlp/codec.ts';
import { SpoolFullError, type Spool } from './spool.ts';
import { splitLogs, splitMetrics, splitTraces, stampOrigin } from './split.ts';

export type Signal = OtlpSignal;
export type SignalRequest = OtlpRequestMap;

/** Header names on every bus record, so a consumer can tell records apart without decoding them. */
export const RECORD_HEADERS = { signal: 'meshsight-signal', id: 'meshsight-id' } as const;

export interface DeliveryOptions {
  bus: Bus;
  topics: Record<Signal, string>;
  /** Partition count of the topics; records are grouped by the partition of their key. */
  partitions: number;
  spool: Spool;
  log: Logger;
  registry: Registry;
}

/**
 * The collector's last stage: stamps the authenticated origin, groups items by partition, produces
 * to the bus, and spools to disk while the bus is away. `deliver` resolves only once the data is
 * durable in the bus or the spool, which is when a receiver may acknowledge it.
 */
export interface Delivery extends Component {
  deliver<S extends Signal>(signal: S, request: SignalRequest[S], origin: Origin): Promise<void>;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;

export function createDelivery(options: DeliveryOptions): Delivery {
  const { bus, topics, partitions, spool, log, registry } = options;
  const producerId = randomUUID();
  let sequence = 0;
  let stopped = false;
  let replaying: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const produced = counter(registry, 'meshsight_collector_produced_records_total', 'Bus records produced, by signal.', ['signal']);
  const spooled = counter(registry, 'meshsight_collector_spooled_records_total', 'Bus records written to the disk spool while the bus was away.', ['signal']);
  const produceSeconds = histogram(registry, 'meshsight_collector_produce_duration_seconds', 'Time for the bus to accept a batch.', ['signal']);
  const spoolBytes = gauge(registry, 'meshsight_collector_spool_bytes', 'Bytes waiting in the disk spool.');
  const spoolBatches = gauge(registry, 'meshsight_collector_spool_batches', 'Batches waiting in the disk spool.');
  const updateSpoolGauges = () => {
    const size = spool.size();
    spoolBytes.set(size.bytes);
    spoolBatches.set(size.batches);
  };
  updateSpoolGauges();

  const encode = <S extends Signal>(signal: S, request: SignalRequest[S]): BusRecord[] => {
    const parts =
      signal === 'traces'
        ? splitTraces(request as SignalRequest['traces'], partitions)
        : signal === 'logs'
          ? splitLogs(request as SignalRequest['logs'], partitions)
          : splitMetrics(request as SignalRequest['metrics'], partitions);
    const records: BusRecord[] = [];
    for (const [partition, part] of parts as Map<number, SignalRequest[S]>) {
      const value = encodeProtobuf(signal, part);
      records.push({
        key: null,
        partition,
        value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        headers: { [RECORD_HEADERS.signal]: signal, [RECORD_HEADERS.id]: `${producerId}:${sequence++}` },
      });
    }
    return records;
  };

  const stamp = <S extends Signal>(signal: S, request: SignalRequest[S], origin: Origin): void => {
    const resources =
      signal === 'traces'
        ? (request as SignalRequest['traces']).resourceSpans
        : signal === 'logs'
          ? (request as SignalRequest['logs']).resourceLogs
          : (request as SignalRequest['metrics']).resourceMetrics;
    for (const r of resources) r.resource = stampOrigin(r.resource, origin);
  };

  const replay = async (): Promise<void> => {
    let backoff = RETRY_MIN_MS;
    while (!stopped) {
      const batch = spool.peek();
      if (!batch) return;
      try {
        await bus.produce(batch.topic, batch.records);
        spool.shift();
        updateSpoolGauges();
        backoff = RETRY_MIN_MS;
      } catch (err) {
        log.warn({ err: (err as Error).message, waiting: spool.size(), retryInMs: backoff }, 'bus still unavailable; spool kept');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoff);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        backoff = Math.min(backoff * 2, RETRY_MAX_MS);
      }
    }
  };
  const kickReplay = () => {
    replaying ??= replay().finally(() => {
      replaying = undefined;
      if (!stopped && spool.size().batches > 0) kickReplay();
    });
  };

  const toSpool = (signal: Signal, topic: string, records: BusRecord[]) => {
    spool.append({ topic, records });
    spooled.inc({ signal }, records.length);
    updateSpoolGauges();
    kickReplay();
  };

  return {
    name: 'delivery',
    start() {
      if (spool.size().batches > 0) {
        log.info({ waiting: spool.size() }, 'replaying the disk spool');
        kickReplay();
      }
      return Promise.resolve();
    },
    async deliver(signal, request, origin) {
      if (stopped) throw new SpoolFullError('the collector is shutting down; retry later');
      stamp(signal, request, origin);
      const records = encode(signal, request);
      if (records.length === 0) return;
      const topic = topics[signal];
      // While older data waits in the spool, newer data queues behind it so order is kept.
      if (spool.size().batches > 0) return toSpool(signal, topic, records);
      const timer = produceSeconds.startTimer({ signal });
      try {
        await bus.produce(topic, records);
        produced.inc({ signal }, records.length);
        timer();
      } catch (err) {
        log.warn({ err: (err as Error).message, signal, records: records.length }, 'bus unavailable; spooling');
        toSpool(signal, topic, records);
      }
    },
    async shutdown() {
      stopped = true;
      wake?.();
      await replaying;
    },
  };
}
