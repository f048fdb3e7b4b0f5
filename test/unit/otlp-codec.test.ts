// OTLP codec: binary protobuf and OTLP/JSON for the three export requests.
//
// Fixtures otlp-trace.json, otlp-metrics.json and otlp-logs.json are the official OTLP/JSON examples
// of open-telemetry/opentelemetry-proto (examples/*.json), Apache-2.0; see shared/fixtures/README.md.

import { readFileSync } from 'node:fs';
import { create, equals, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AggregationTemporality,
  ExportLogsServiceRequestSchema,
  ExportMetricsServiceRequestSchema,
  ExportTraceServiceRequestSchema,
  OTLP_GRPC_METHOD_PATHS,
  OTLP_HTTP_PATHS,
  OTLP_SIGNALS,
  OtlpDecodeError,
  SeverityNumber,
  SpanSchema,
  Span_SpanKind,
  Status_StatusCode,
  countItems,
  createExportResponse,
  decodeJson,
  decodeProtobuf,
  decodeResponseJson,
  decodeResponseProtobuf,
  encodeJson,
  encodeProtobuf,
  encodeResponseJson,
  encodeResponseProtobuf,
  requestSchema,
} from '../../collector/otlp/index.ts';
import type { AnyValue, KeyValue, OtlpSignal } from '../../collector/otlp/index.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../../shared/fixtures/${name}`, import.meta.url));
const FIXTURES: Record<OtlpSignal, string> = {
  traces: 'otlp-trace.json',
  metrics: 'otlp-metrics.json',
  logs: 'otlp-logs.json',
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const attr = (attributes: KeyValue[], key: string): AnyValue['value'] | undefined =>
  attributes.find((kv) => kv.key === key)?.value?.value;

function decodeError(run: () => unknown): OtlpDecodeError {
  try {
    run();
  } catch (err) {
    if (err instanceof OtlpDecodeError) return err;
    throw err;
  }
  throw new Error('expected an OtlpDecodeError');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** JSON text of a traces request with one span holding the given fields. */
function traceRequestWithSpan(span: Record<string, unknown>): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
}

describe('OTLP/JSON fixtures (opentelemetry-proto examples)', () => {
  it('decodes the trace example: hex ids, integer kind, 64-bit times, attributes', () => {
    const request = decodeJson('traces', fixture(FIXTURES.traces));
    expect(countItems('traces', request)).toBe(1);
    const resourceSpans = request.resourceSpans[0]!;
    expect(attr(resourceSpans.resource!.attributes, 'service.name')).toEqual({
      case: 'stringValue',
      value: 'my.service',
    });
    const scopeSpans = resourceSpans.scopeSpans[0]!;
    expect(scopeSpans.scope?.name).toBe('my.library');
    expect(scopeSpans.scope?.version).toBe('1.0.0');
    expect(attr(scopeSpans.scope!.attributes, 'my.scope.attribute')).toEqual({
      case: 'stringValue',
      value: 'some scope attribute',
    });
    const span = scopeSpans.spans[0]!;
    expect(hex(span.traceId)).toBe('5b8efff798038103d269b633813fc60c');
    expect(hex(span.spanId)).toBe('eee19b7ec3c1b174');
    expect(hex(span.parentSpanId)).toBe('eee19b7ec3c1b173');
    expect(span.name).toBe("I'm a server span");
    expect(span.kind).toBe(Span_SpanKind.SERVER);
    expect(span.startTimeUnixNano).toBe(1544712660000000000n);
    expect(span.endTimeUnixNano).toBe(1544712661000000000n);
    expect(attr(span.attributes, 'my.span.attr')).toEqual({ case: 'stringValue', value: 'some value' });

    // Re-encoded: lowercase hex ids (the example uses uppercase), integer enum, 64-bit as strings.
    const json = JSON.parse(encodeJson('traces', request)) as {
      resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
    };
    const spanJson = json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(spanJson).toMatchObject({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      parentSpanId: 'eee19b7ec3c1b173',
      kind: 2,
      startTimeUnixNano: '1544712660000000000',
      endTimeUnixNano: '1544712661000000000',
    });
  });

  it('decodes the metrics example: sum, gauge, histogram and exponential histogram', () => {
    const request = decodeJson('metrics', fixture(FIXTURES.metrics));
    const metrics = request.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    expect(metrics.map((m) => [m.name, m.data.case])).toEqual([
      ['my.counter', 'sum'],
      ['my.gauge', 'gauge'],
      ['my.histogram', 'histogram'],
      ['my.exponential.histogram', 'exponentialHistogram'],
    ]);
    expect(countItems('metrics', request)).toBe(4);

    const [sum, gauge, histogram, exponential] = metrics.map((m) => m.data);
    if (sum?.case !== 'sum') throw new Error('expected a sum');
    expect(sum.value.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(sum.value.isMonotonic).toBe(true);
    expect(sum.value.dataPoints[0]!.value).toEqual({ case: 'asDouble', value: 5 });
    expect(sum.value.dataPoints[0]!.timeUnixNano).toBe(1544712660300000000n);
    expect(attr(sum.value.dataPoints[0]!.attributes, 'my.counter.attr')).toEqual({
      case: 'stringValue',
      value: 'some value',
    });

    if (gauge?.case !== 'gauge') throw new Error('expected a gauge');
    expect(gauge.value.dataPoints[0]!.value).toEqual({ case: 'asDouble', value: 10 });

    if (histogram?.case !== 'histogram') throw new Error('expected a histogram');
    const hp = histogram.value.dataPoints[0]!;
    expect(hp.count).toBe(2n);
    expect(hp.sum).toBe(2);
    expect(hp.bucketCounts).toEqual([1n, 1n]);
    expect(hp.explicitBounds).toEqual([1]);
    expect(hp.min).toBe(0);
    expect(hp.max).toBe(2);

    if (exponential?.case !== 'exponentialHistogram') throw new Error('expected an exponential histogram');
    expect(exponential.value.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    const ep = exponential.value.dataPoints[0]!;
    expect(ep.count).toBe(3n);
    expect(ep.sum).toBe(10);
    expect(ep.scale).toBe(0);
    expect(ep.zeroCount).toBe(1n);
    expect(ep.positive?.offset).toBe(1);
    expect(ep.positive?.bucketCounts).toEqual([0n, 2n]);
    expect(ep.max).toBe(5);
  });

  it('decodes the logs example: hex ids, severity, body and every attribute value type', () => {
    const request = decodeJson('logs', fixture(FIXTURES.logs));
    expect(countItems('logs', request)).toBe(1);
    const record = request.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(hex(record.traceId)).toBe('5b8efff798038103d269b633813fc60c');
    expect(hex(record.spanId)).toBe('eee19b7ec3c1b174');
    expect(record.timeUnixNano).toBe(1544712660300000000n);
    expect(record.observedTimeUnixNano).toBe(1544712660300000000n);
    expect(record.severityNumber).toBe(SeverityNumber.INFO2);
    expect(record.severityText).toBe('Information');
    expect(record.body?.value).toEqual({ case: 'stringValue', value: 'Example log record' });
    expect(attr(record.attributes, 'string.attribute')).toEqual({ case: 'stringValue', value: 'some string' });
    expect(attr(record.attributes, 'boolean.attribute')).toEqual({ case: 'boolValue', value: true });
    expect(attr(record.attributes, 'int.attribute')).toEqual({ case: 'intValue', value: 10n });
    expect(attr(record.attributes, 'double.attribute')).toEqual({ case: 'doubleValue', value: 637.704 });
    const array = attr(record.attributes, 'array.attribute');
    if (array?.case !== 'arrayValue') throw new Error('expected an array value');
    expect(array.value.values.map((v) => v.value.value)).toEqual(['many', 'values']);
    const map = attr(record.attributes, 'map.attribute');
    if (map?.case !== 'kvlistValue') throw new Error('expected a kvlist value');
    expect(attr(map.value.values, 'some.map.key')).toEqual({ case: 'stringValue', value: 'some value' });

    const json = JSON.parse(encodeJson('logs', request)) as {
      resourceLogs: { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[];
    };
    expect(json.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]).toMatchObject({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      severityNumber: 10,
    });
  });

  it.each(OTLP_SIGNALS)('%s: JSON -> proto -> binary -> proto -> JSON round trip is lossless', (signal) => {
    const first = decodeJson(signal, fixture(FIXTURES[signal]));
    const binary = encodeProtobuf(signal, first);
    const second = decodeProtobuf(signal, binary);
    expect(equals(requestSchema(signal), first, second)).toBe(true);
    expect(encodeJson(signal, second)).toBe(encodeJson(signal, first));
    // And the normalized JSON reads back to the same message.
    const third = decodeJson(signal, encodeJson(signal, second));
    expect(equals(requestSchema(signal), first, third)).toBe(true);
    expect(encodeProtobuf(signal, third)).toEqual(binary);
  });
});

describe('OTLP/JSON encoding rules', () => {
  it('decodes every metric kind, with exemplar ids, integer points and negative buckets', () => {
    const point = { timeUnixNano: '1700000000000000000', startTimeUnixNano: '1699999990000000000' };
    const exemplar = {
      timeUnixNano: '1700000000000000000',
      asInt: '7',
      traceId: '0102030405060708090a0b0c0d0e0f10',
      spanId: 'A1A2A3A4A5A6A7A8',
      filteredAttributes: [{ key: 'user', value: { stringValue: 'u1' } }],
    };
    const text = JSON.stringify({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'g', gauge: { dataPoints: [{ ...point, asInt: '-3', exemplars: [exemplar] }] } },
                {
                  name: 's',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: false,
                    dataPoints: [{ ...point, asDouble: 1.5 }, point],
                  },
                },
                {
                  name: 'h',
                  histogram: {
                    aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                    dataPoints: [
                      {
                        ...point,
                        count: 3,
                        bucketCounts: [1, '2', 0],
                        explicitBounds: [0.5, 1],
                        exemplars: [exemplar],
                      },
                    ],
                  },
                },
                {
                  name: 'e',
                  exponentialHistogram: {
                    aggregationTemporality: 1,
                    dataPoints: [
                      {
                        ...point,
                        count: '6',
                        scale: -2,
                        zeroCount: '1',
                        zeroThreshold: 0.001,
                        positive: { offset: -1, bucketCounts: ['2', '1'] },
                        negative: { offset: 3, bucketCounts: ['2'] },
                        flags: 1,
                      },
                    ],
                  },
                },
                {
                  name: 'q',
                  summary: {
                    dataPoints: [
                      {
                        ...point,
                        count: '10',
                        sum: 55,
                        quantileValues: [
                          { quantile: 0, value: 1 },
                          { quantile: 0.5, value: 5 },
                          { quantile: 1, value: 10 },
                        ],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const request = decodeJson('metrics', text);
    const metrics = request.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    expect(metrics.map((m) => m.data.case)).toEqual(['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']);
    expect(countItems('metrics', request)).toBe(6);

    const [gauge, sum, histogram, exponential, summary] = metrics.map((m) => m.data);
    if (gauge?.case !== 'gauge') throw new Error('expected a gauge');
    expect(gauge.value.dataPoints[0]!.value).toEqual({ case: 'asInt', value: -3n });
    const ex = gauge.value.dataPoints[0]!.exemplars[0]!;
    expect(hex(ex.traceId)).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(hex(ex.spanId)).toBe('a1a2a3a4a5a6a7a8');
    expect(ex.value).toEqual({ case: 'asInt', value: 7n });

    if (sum?.case !== 'sum') throw new Error('expected a sum');
    expect(sum.value.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(sum.value.dataPoints[1]!.value.case).toBeUndefined();

    if (histogram?.case !== 'histogram') throw new Error('expected a histogram');
    expect(histogram.value.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(histogram.value.dataPoints[0]!.bucketCounts).toEqual([1n, 2n, 0n]);
    expect(histogram.value.dataPoints[0]!.sum).toBeUndefined();
    expect(hex(histogram.value.dataPoints[0]!.exemplars[0]!.spanId)).toBe('a1a2a3a4a5a6a7a8');

    if (exponential?.case !== 'exponentialHistogram') throw new Error('expected an exponential histogram');
    const ep = exponential.value.dataPoints[0]!;
    expect([ep.scale, ep.zeroCount, ep.zeroThreshold, ep.flags]).toEqual([-2, 1n, 0.001, 1]);
    expect([ep.positive?.offset, ep.positive?.bucketCounts]).toEqual([-1, [2n, 1n]]);
    expect([ep.negative?.offset, ep.negative?.bucketCounts]).toEqual([3, [2n]]);

    if (summary?.case !== 'summary') throw new Error('expected a summary');
    expect(summary.value.dataPoints[0]!.count).toBe(10n);
    expect(summary.value.dataPoints[0]!.quantileValues.map((q) => [q.quantile, q.value])).toEqual([
      [0, 1],
      [0.5, 5],
      [1, 10],
    ]);

    // Exemplar ids go back out as lowercase hex, and the round trip through binary is lossless.
    const encoded = encodeJson('metrics', request);
    expect(encoded).toContain('"spanId":"a1a2a3a4a5a6a7a8"');
    expect(encoded).toContain('"traceId":"0102030405060708090a0b0c0d0e0f10"');
    const again = decodeProtobuf('metrics', encodeProtobuf('metrics', decodeJson('metrics', encoded)));
    expect(equals(ExportMetricsServiceRequestSchema, request, again)).toBe(true);
  });

  it('ignores unknown fields at every level, as the OTLP specification requires', () => {
    const request = decodeJson(
      'traces',
      JSON.stringify({
        fromTheFuture: { nested: [1, 2, 3] },
        resourceSpans: [
          {
            newResourceField: true,
            resource: { attributes: [], someday: 'x' },
            scopeSpans: [{ spans: [{ name: 'a', traceId: '0102030405060708090a0b0c0d0e0f10', novel: 12 }] }],
          },
        ],
      }),
    );
    const span = request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.name).toBe('a');
    expect(request.$unknown).toBeUndefined();
  });

  it('accepts snake_case keys, enum names, and 64-bit integers as numbers or strings without losing precision', () => {
    const request = decodeJson(
      'traces',
      '{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"0102030405060708090A0B0C0D0E0F10",' +
        '"span_id":"0102030405060708","parent_span_id":"","kind":"SPAN_KIND_CLIENT",' +
        '"start_time_unix_nano":1700000000123456789,"endTimeUnixNano":"1700000000987654321",' +
        '"status":{"code":"STATUS_CODE_ERROR","message":"boom"},' +
        '"attributes":[{"key":"big","value":{"intValue":-9223372036854775808}},{"key":"n","value":{"intValue":42}}],' +
        '"links":[{"trace_id":"1112131415161718191a1b1c1d1e1f20","span_id":"1112131415161718","flags":257}]}]}]}]}',
    );
    const span = request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(hex(span.traceId)).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(hex(span.spanId)).toBe('0102030405060708');
    expect(span.parentSpanId.length).toBe(0);
    expect(span.kind).toBe(Span_SpanKind.CLIENT);
    expect(span.startTimeUnixNano).toBe(1700000000123456789n);
    expect(span.endTimeUnixNano).toBe(1700000000987654321n);
    expect(span.status?.code).toBe(Status_StatusCode.ERROR);
    expect(attr(span.attributes, 'big')).toEqual({ case: 'intValue', value: -9223372036854775808n });
    expect(attr(span.attributes, 'n')).toEqual({ case: 'intValue', value: 42n });
    expect(hex(span.links[0]!.traceId)).toBe('1112131415161718191a1b1c1d1e1f20');
    expect(span.links[0]!.flags).toBe(257);
  });

  it('leaves digits inside strings and unsafe-looking keys alone while protecting big integers', () => {
    const request = decodeJson(
      'logs',
      '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":18446744073709551615,' +
        '"body":{"stringValue":"12345678901234567890 \\" 98765432109876543210"},' +
        '"attributes":[{"key":"12345678901234567890","value":{"doubleValue":12345678901234567890}}]}]}]}]}',
    );
    const record = request.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(record.timeUnixNano).toBe(18446744073709551615n);
    expect(record.body?.value).toEqual({ case: 'stringValue', value: '12345678901234567890 " 98765432109876543210' });
    expect(attr(record.attributes, '12345678901234567890')).toEqual({
      case: 'doubleValue',
      value: Number('12345678901234567890'),
    });
    // A leading zero is still invalid JSON.
    const err = decodeError(() => decodeJson('logs', '{"resourceLogs":[],"x":01234567890123456789}'));
    expect(err.message).toContain('not valid JSON');
  });

  it('reads JSON from UTF-8 bytes and rejects bytes that are not UTF-8', () => {
    const text = traceRequestWithSpan({ name: 'žluťoučký kůň', spanId: '0102030405060708' });
    const request = decodeJson('traces', new TextEncoder().encode(text));
    expect(request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name).toBe('žluťoučký kůň');
    const err = decodeError(() => decodeJson('traces', new Uint8Array([0x7b, 0xff, 0x7d])));
    expect(err.format).toBe('json');
    expect(err.message).toContain('not valid UTF-8');
  });
});

describe('decode errors', () => {
  it('names the field path of a hex id with the wrong length', () => {
    const text = traceRequestWithSpan({ traceId: '5b8efff798038103d269b633813fc6' });
    const err = decodeError(() => decodeJson('traces', text));
    expect(err).toMatchObject({
      signal: 'traces',
      format: 'json',
      path: 'resourceSpans[0].scopeSpans[0].spans[0].traceId',
    });
    expect(err.message).toContain('resourceSpans[0].scopeSpans[0].spans[0].traceId');
    expect(err.message).toContain('32 hex digits');
    expect(err.message).toContain('got 30 hex digits');
  });

  it('rejects base64 ids, non-hex characters and non-string ids, naming the path', () => {
    const base64 = decodeError(() => decodeJson('traces', traceRequestWithSpan({ spanId: '7uGbfsPBsXQ=' })));
    expect(base64.path).toBe('resourceSpans[0].scopeSpans[0].spans[0].spanId');
    expect(base64.message).toContain('not base64');

    const nonHex = decodeError(() => decodeJson('traces', traceRequestWithSpan({ parentSpanId: 'eee19b7ec3c1b17g' })));
    expect(nonHex.path).toBe('resourceSpans[0].scopeSpans[0].spans[0].parentSpanId');

    const number = decodeError(() => decodeJson('traces', traceRequestWithSpan({ spanId: 12 })));
    expect(number.message).toContain('must be a hex string, got the number 12');

    const link = decodeError(() =>
      decodeJson(
        'traces',
        traceRequestWithSpan({ links: [{ spanId: '0102030405060708' }, { spanId: '01020304050607' }] }),
      ),
    );
    expect(link.path).toBe('resourceSpans[0].scopeSpans[0].spans[0].links[1].spanId');

    const snake = decodeError(() =>
      decodeJson('logs', '{"resource_logs":[{"scope_logs":[{"log_records":[{},{"trace_id":"ab"}]}]}]}'),
    );
    expect(snake.path).toBe('resource_logs[0].scope_logs[0].log_records[1].trace_id');

    const exemplar = decodeError(() =>
      decodeJson(
        'metrics',
        JSON.stringify({
          resourceMetrics: [
            { scopeMetrics: [{ metrics: [{ histogram: { dataPoints: [{ exemplars: [{ traceId: '00' }] }] } }] }] },
          ],
        }),
      ),
    );
    expect(exemplar.path).toBe(
      'resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0].exemplars[0].traceId',
    );
  });

  it('accepts empty and null ids', () => {
    const request = decodeJson('traces', traceRequestWithSpan({ traceId: '', spanId: null, parentSpanId: '' }));
    const span = request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect([span.traceId.length, span.spanId.length, span.parentSpanId.length]).toEqual([0, 0, 0]);
  });

  it('reports malformed JSON, a non-object top level and wrongly typed fields as OtlpDecodeError', () => {
    expect(decodeError(() => decodeJson('metrics', '{"resourceMetrics": [')).message).toContain('not valid JSON');
    expect(decodeError(() => decodeJson('metrics', '[]')).message).toContain('expected a JSON object');
    expect(decodeError(() => decodeJson('metrics', 'null')).message).toContain('got null');
    const typed = decodeError(() => decodeJson('traces', traceRequestWithSpan({ name: 5 })));
    expect(typed).toMatchObject({ signal: 'traces', format: 'json' });
    expect(typed.message).toContain('Span.name');
    expect(decodeError(() => decodeJson('logs', '{"resourceLogs":{}}')).message).toContain('expected Array');
  });

  it('reports bad protobuf bytes as OtlpDecodeError', () => {
    for (const signal of OTLP_SIGNALS) {
      const truncated = decodeError(() => decodeProtobuf(signal, new Uint8Array([0x0a, 0x05, 0x0a])));
      expect(truncated).toMatchObject({ signal, format: 'protobuf' });
      expect(decodeError(() => decodeProtobuf(signal, new Uint8Array([0xff, 0xff, 0xff]))).format).toBe('protobuf');
    }
    // Field 1 is a message; a varint there is not a valid request.
    expect(decodeError(() => decodeProtobuf('traces', new Uint8Array([0x08, 0x01]))).signal).toBe('traces');
  });

  it('rejects ids of the wrong length in binary protobuf too, naming the path', () => {
    const request = create(ExportTraceServiceRequestSchema, {
      resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'ok' }, { traceId: new Uint8Array(5) }] }] }],
    });
    const err = decodeError(() => decodeProtobuf('traces', toBinary(ExportTraceServiceRequestSchema, request)));
    expect(err).toMatchObject({ format: 'protobuf', path: 'resourceSpans[0].scopeSpans[0].spans[1].traceId' });
    expect(err.message).toContain('trace id must be 16 bytes or empty, got 5');

    const logs = create(ExportLogsServiceRequestSchema, {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ spanId: new Uint8Array(16) }] }] }],
    });
    const logErr = decodeError(() => decodeProtobuf('logs', toBinary(ExportLogsServiceRequestSchema, logs)));
    expect(logErr.path).toBe('resourceLogs[0].scopeLogs[0].logRecords[0].spanId');
  });

  it('random bytes never throw anything but OtlpDecodeError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OTLP_SIGNALS), fc.uint8Array({ maxLength: 512 }), (signal, bytes) => {
        try {
          decodeProtobuf(signal, bytes);
        } catch (err) {
          if (!(err instanceof OtlpDecodeError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('corrupted real requests never throw anything but OtlpDecodeError, in either format', () => {
    const valid = Object.fromEntries(
      OTLP_SIGNALS.map((s) => {
        const json = fixture(FIXTURES[s]).toString();
        return [s, { bin: encodeProtobuf(s, decodeJson(s, json)), json }];
      }),
    ) as Record<OtlpSignal, { bin: Uint8Array; json: string }>;
    fc.assert(
      fc.property(
        fc.constantFrom(...OTLP_SIGNALS),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (signal, edits, cut) => {
          const bin = Uint8Array.from(valid[signal].bin);
          for (const [at, value] of edits) bin[at % bin.length] = value;
          const chars = [...valid[signal].json];
          for (const [at, value] of edits) chars[at % chars.length] = String.fromCharCode(value);
          for (const run of [
            () => decodeProtobuf(signal, bin),
            () => decodeProtobuf(signal, bin.subarray(0, cut % (bin.length + 1))),
            () => decodeJson(signal, chars.join('')),
            () => decodeJson(signal, chars.join('').slice(0, cut % (chars.length + 1))),
          ]) {
            try {
              run();
            } catch (err) {
              if (!(err instanceof OtlpDecodeError)) throw err;
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('arbitrary JSON values never throw anything but OtlpDecodeError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OTLP_SIGNALS), fc.jsonValue(), (signal, value) => {
        try {
          decodeJson(signal, JSON.stringify(value));
        } catch (err) {
          if (!(err instanceof OtlpDecodeError)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('unknown protobuf fields', () => {
  const unknownTail = new BinaryWriter()
    .tag(99, WireType.Varint)
    .uint64(123456789n)
    .tag(100, WireType.LengthDelimited)
    .string('a field from a newer OTLP')
    .tag(101, WireType.Bit64)
    .fixed64(42n)
    .tag(102, WireType.Bit32)
    .fixed32(7)
    .finish();

  it.each(OTLP_SIGNALS)('%s: survive decode -> encode byte for byte at the top level', (signal) => {
    const known = encodeProtobuf(signal, decodeJson(signal, fixture(FIXTURES[signal])));
    const bytes = concat(known, unknownTail);
    const decoded = decodeProtobuf(signal, bytes);
    expect(decoded.$unknown?.map((f) => f.no)).toEqual([99, 100, 101, 102]);
    expect(encodeProtobuf(signal, decoded)).toEqual(bytes);
  });

  it('survive decode -> encode byte for byte inside a nested span', () => {
    const span = create(SpanSchema, {
      traceId: Uint8Array.from(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex')),
      spanId: Uint8Array.from(Buffer.from('0102030405060708', 'hex')),
      name: 'GET /api',
      kind: Span_SpanKind.SERVER,
      startTimeUnixNano: 1700000000000000000n,
      endTimeUnixNano: 1700000000500000000n,
    });
    // A span carrying a field 17 that this version does not know (the next free Span field number).
    const futureSpan = concat(
      toBinary(SpanSchema, span),
      new BinaryWriter().tag(17, WireType.LengthDelimited).string('future').finish(),
    );
    const scopeSpans = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(futureSpan).finish();
    const resourceSpans = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(scopeSpans).finish();
    const request = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(resourceSpans).finish();

    const decoded = decodeProtobuf('traces', request);
    const decodedSpan = decoded.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(decodedSpan.name).toBe('GET /api');
    expect(decodedSpan.$unknown?.map((f) => f.no)).toEqual([17]);
    expect(encodeProtobuf('traces', decoded)).toEqual(request);
    // OTLP/JSON has no place for them: they are dropped there, and the rest is intact.
    expect(encodeJson('traces', decoded)).toContain('"name":"GET /api"');
  });
});

describe('responses and service names', () => {
  it('leaves partial_success unset on full success', () => {
    for (const signal of OTLP_SIGNALS) {
      const response = createExportResponse(signal);
      expect(response.partialSuccess).toBeUndefined();
      expect(encodeResponseProtobuf(signal, response)).toEqual(new Uint8Array(0));
      expect(encodeResponseJson(signal, response)).toBe('{}');
    }
  });

  it('carries the rejected count of each signal and the message', () => {
    const traces = createExportResponse('traces', 3, 'spans too large');
    expect(traces.partialSuccess).toMatchObject({ rejectedSpans: 3n, errorMessage: 'spans too large' });
    expect(JSON.parse(encodeResponseJson('traces', traces))).toEqual({
      partialSuccess: { rejectedSpans: '3', errorMessage: 'spans too large' },
    });
    const metrics = createExportResponse('metrics', 2n);
    const metricsBack = decodeResponseProtobuf('metrics', encodeResponseProtobuf('metrics', metrics));
    expect(metricsBack.partialSuccess?.rejectedDataPoints).toBe(2n);
    const logs = createExportResponse('logs', 0, 'deprecated attribute names seen');
    expect(decodeResponseJson('logs', encodeResponseJson('logs', logs)).partialSuccess).toMatchObject({
      rejectedLogRecords: 0n,
      errorMessage: 'deprecated attribute names seen',
    });
    expect(() => createExportResponse('logs', -1)).toThrow(RangeError);
    expect(decodeError(() => decodeResponseProtobuf('logs', new Uint8Array([0x0a, 0x09]))).format).toBe('protobuf');
  });

  it('uses the upstream gRPC method names and OTLP/HTTP paths', () => {
    expect(OTLP_GRPC_METHOD_PATHS).toEqual({
      traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
    });
    expect(OTLP_HTTP_PATHS).toEqual({ traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' });
  });

  it('rejects an unknown signal as a programming error', () => {
    expect(() => decodeProtobuf('profiles' as OtlpSignal, new Uint8Array())).toThrow(TypeError);
  });
});
