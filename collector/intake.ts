import type { Logger } from '../runtime/log.ts';
import { counter, type Registry } from '../runtime/metrics.ts';
import type { Origin } from './auth/origin.ts';
import type { Delivery, Signal, SignalRequest } from './delivery/delivery.ts';
import type { KeyValue } from './otlp/generated/opentelemetry/proto/common/v1/common_pb.ts';

/** Bounds every receiver applies, whatever its protocol. */
export interface IntakeLimits {
  maxItemsPerRequest: number;
  maxAttributesPerItem: number;
  maxStringLength: number;
  /** Items per second per origin, with a burst of twice that. */
  itemsPerSecondPerOrigin: number;
}

/** Why a request, or part of one, was refused; receivers map it to their protocol's codes. */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(
    message: string,
    /** Metric label: `rate_limited`, `too_many_items`, `spool_full`, … */
    readonly reason: string,
    /** True when the sender should retry later (a bound on load, not on the data). */
    readonly retryable: boolean,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface IntakeResult {
  accepted: number;
  /** Items dropped for breaking a per-item bound, reported as OTLP partial success. */
  rejected: number;
  rejectedReason?: string;
}

/**
 * What every receiver does after decoding: count, check bounds and the per-origin rate, drop items
 * that break a per-item bound (reporting them, never silently), and hand the rest to delivery.
 */
export interface Intake {
  accept<S extends Signal>(receiver: string, signal: S, request: SignalRequest[S], origin: Origin): Promise<IntakeResult>;
  /** Counts a refusal that happened before decoding (auth, size, content type). */
  refused(receiver: string, reason: string, origin?: Origin): void;
}

export function createIntake(options: { delivery: Delivery; limits: IntakeLimits; registry: Registry; log: Logger }): Intake {
  const { delivery, limits, registry } = options;
  const received = counter(registry, 'meshsight_collector_received_items_total', 'Spans, data points and log records received.', ['receiver', 'origin']);
  const accepted = counter(registry, 'meshsight_collector_accepted_items_total', 'Items accepted and handed to delivery.', ['receiver', 'origin']);
  const refused = counter(registry, 'meshsight_collector_refused_total', 'Requests or items refused, by reason.', ['receiver', 'origin', 'reason']);
  const buckets = new Map<string, { tokens: number; at: number }>();

  const takeTokens = (origin: string, n: number): boolean => {
    const now = Date.now();
    const capacity = limits.itemsPerSecondPerOrigin * 2;
    let bucket = buckets.get(origin);
    if (!bucket) buckets.set(origin, (bucket = { tokens: capacity, at: now }));
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * limits.itemsPerSecondPerOrigin);
    bucket.at = now;
    if (bucket.tokens < n) return false;
    bucket.tokens -= n;
    return true;
  };

  return {
    refused(receiver, reason, origin) {
      refused.inc({ receiver, origin: origin?.cluster ?? 'unauthenticated', reason });
    },
    async accept(receiver, signal, request, origin) {
      const originLabel = origin.cluster;
      const { total, rejected, reason } = enforceItemBounds(signal, request, limits);
      received.inc({ receiver, origin: originLabel }, total);
      const refuse = (error: RefusedError): never => {
        refused.inc({ receiver, origin: originLabel, reason: error.reason });
        throw error;
      };
      if (total > limits.maxItemsPerRequest) {
        refuse(new RefusedError(`request has ${total} items, more than the limit of ${limits.maxItemsPerRequest}; send smaller batches`, 'too_many_items', false));
      }
      if (!takeTokens(originLabel, total - rejected)) {
        refuse(new RefusedError(`origin ${originLabel} is over its rate of ${limits.itemsPerSecondPerOrigin} items/s; retry later`, 'rate_limited', true, 1));
      }
      if (rejected > 0) refused.inc({ receiver, origin: originLabel, reason: 'item_bounds' }, rejected);
      try {
        await delivery.deliver(signal, request, origin);
      } catch (err) {
        refuse(new RefusedError(`cannot keep the data now (${(err as Error).message})`, 'spool_full', true, 5));
      }
      accepted.inc({ receiver, origin: originLabel }, total - rejected);
      return rejected > 0 ? { accepted: total - rejected, rejected, rejectedReason: reason } : { accepted: total, rejected: 0 };
    },
  };
}

/** Drops items with too many attributes or too long strings, in place. Returns counts and the first reason. */
function enforceItemBounds<S extends Signal>(signal: S, request: SignalRequest[S], limits: IntakeLimits): { total: number; rejected: number; reason?: string } {
  let total = 0;
  let rejected = 0;
  let reason: string | undefined;
  const check = (attributes: KeyValue[], what: string): boolean => {
    if (attributes.length > limits.maxAttributesPerItem) {
      reason ??= `${what} has ${attributes.length} attributes, more than the limit of ${limits.maxAttributesPerItem}`;
      return false;
    }
    for (const kv of attributes) {
      const v = kv.value?.value;
      if (kv.key.length > limits.maxStringLength || (v?.case === 'stringValue' && v.value.length > limits.maxStringLength)) {
        reason ??= `${what} attribute "${kv.key.slice(0, 64)}" is longer than ${limits.maxStringLength} characters`;
        return false;
      }
    }
    return true;
  };
  const keep = <T>(items: T[], attributesOf: (item: T) => KeyValue[], what: string): T[] => {
    total += items.length;
    const kept = items.filter((item) => check(attributesOf(item), what));
    rejected += items.length - kept.length;
    return kept.length === items.length ? items : kept;
  };
  if (signal === 'traces') {
    for (const rs of (request as SignalRequest['traces']).resourceSpans)
      for (const ss of rs.scopeSpans) ss.spans = keep(ss.spans, (s) => s.attributes, 'span');
  } else if (signal === 'logs') {
    for (const rl of (request as SignalRequest['logs']).resourceLogs)
      for (const sl of rl.scopeLogs) sl.logRecords = keep(sl.logRecords, (r) => r.attributes, 'log record');
  } else {
    for (const rm of (request as SignalRequest['metrics']).resourceMetrics)
      for (const sm of rm.scopeMetrics)
        for (const metric of sm.metrics) {
          const data = metric.data;
          if (data.case === undefined) continue;
          const points = data.value.dataPoints as Array<{ attributes: KeyValue[] }>;
          (data.value as { dataPoints: unknown[] }).dataPoints = keep(points, (p) => p.attributes, `data point of ${metric.name}`);
        }
  }
  return reason === undefined ? { total, rejected } : { total, rejected, reason };
}
