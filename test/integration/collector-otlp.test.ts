import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter as OTLPTraceExporterGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafkaBus, type Bus, type ConsumedRecord } from '../../bus/index.ts';
import { decodeProtobuf, type OtlpRequestMap, type OtlpSignal } from '../../collector/otlp/index.ts';
import type { Component } from '../../runtime/component.ts';
import { loadConfig } from '../../runtime/config.ts';
import { silentLogger } from '../../runtime/log.ts';
import { buildProcess } from '../../runtime/roles.ts';

const TOKEN_A = 'token-for-cluster-a-0123456789';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const stringAttr = (attributes: Array<{ key: string; value?: { value: { case?: string; value?: unknown } } }>, key: string) =>
  attributes.find((kv) => kv.key === key)?.value?.value.value;

describe('collector: OTLP from the OpenTelemetry SDK exporters to Kafka', () => {
  const suffix = `${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const topics = { spans: `spans_${suffix}`, logs: `logs_${suffix}`, metrics: `metrics_${suffix}`, deadLetter: `dlq_${suffix}` };
  const dataDir = mkdtempSync(join(tmpdir(), 'meshsight-collector-'));
  let components: Component[] = [];
  let httpUrl = '';
  let grpcUrl = '';
  let consumerBus: Bus;
  const received: Record<OtlpSignal, Array<{ record: ConsumedRecord; request: OtlpRequestMap[OtlpSignal] }>> = { traces: [], logs: [], metrics: [] };

  beforeAll(async () => {
    const [httpPort, grpcPort, alsPort, opsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    httpUrl = `http://127.0.0.1:${httpPort}`;
    grpcUrl = `http://127.0.0.1:${grpcPort}`;
    const config = loadConfig({
      env: {
        KAFKA_BROKERS: inject('kafkaBrokers'),
        MESHSIGHT_DATA_DIR: dataDir,
        MESHSIGHT_KAFKA__PARTITIONS: '3',
        MESHSIGHT_BUS__TOPICS: JSON.stringify(topics),
        MESHSIGHT_COLLECTOR__HTTP_LISTEN: `127.0.0.1:${httpPort}`,
        MESHSIGHT_COLLECTOR__OTLP__GRPC_LISTEN: `127.0.0.1:${grpcPort}`,
        MESHSIGHT_COLLECTOR__ENVOY_ALS__LISTEN: `127.0.0.1:${alsPort}`,
        MESHSIGHT_OPS__LISTEN: `127.0.0.1:${opsPort}`,
        MESHSIGHT_COLLECTOR__AUTH__TOKENS: JSON.stringify([{ token: TOKEN_A, origin: { mesh: 'prod', cluster: 'cluster-a', network: 'net-1' } }]),
        MESHSIGHT_COLLECTOR__LIMITS__MAX_REQUEST_BYTES: String(256 * 1024),
        MESHSIGHT_COLLECTOR__LIMITS__MAX_DECODED_BYTES: String(1024 * 1024),
      },
    });
    components = await buildProcess('collector', config, silentLogger());
    for (const component of components) await component.start();

    consumerBus = createKafkaBus({ brokers: inject('kafkaBrokers').split(','), clientId: 'collector-test', log: silentLogger(), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
    await consumerBus.subscribe({
      groupId: `collector-test-${suffix}`,
      topics: [topics.spans, topics.logs, topics.metrics],
      handler: (batch) => {
        const signal: OtlpSignal = batch.topic === topics.spans ? 'traces' : batch.topic === topics.logs ? 'logs' : 'metrics';
        for (const record of batch.records) received[signal].push({ record, request: decodeProtobuf(signal, record.value) });
        return Promise.resolve();
      },
    });
  });

  afterAll(async () => {
    await consumerBus?.close();
    for (const component of [...components].reverse()) await component.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = probe();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('takes spans over gRPC and HTTP/JSON, stamps the authenticated origin over a claimed one, and keys by trace id', async () => {
    const resource = resourceFromAttributes({ 'service.name': 'checkout', 'meshsight.origin.cluster': 'cluster-b' });
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TOKEN_A}`);
    const grpcProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporterGrpc({ url: grpcUrl, metadata, credentials: credentials.createInsecure() }))],
    });
    const jsonProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporterJson({ url: `${httpUrl}/v1/traces`, headers: { Authorization: `Bearer ${TOKEN_A}` } }))],
    });
    const grpcSpan = grpcProvider.getTracer('test').startSpan('GET /cart', { attributes: { 'http.request.method': 'GET' } });
    grpcSpan.end();
    const jsonSpan = jsonProvider.getTracer('test').startSpan('POST /pay', { attributes: { 'http.response.status_code': 502 } });
    jsonSpan.end();
    await Promise.all([grpcProvider.forceFlush(), jsonProvider.forceFlush()]);

    const spans = await waitFor('both spans on Kafka', () => {
      const all = received.traces.flatMap(({ record, request }) =>
        (request as OtlpRequestMap['traces']).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, rs, record })))),
      );
      return all.length >= 2 ? all : undefined;
    });
    const byName = new Map(spans.map((s) => [s.span.name, s]));
    const grpcOne = byName.get('GET /cart')!;
    expect(Buffer.from(grpcOne.span.traceId).toString('hex')).toBe(grpcSpan.spanContext().traceId);
    expect(Buffer.from(grpcOne.span.spanId).toString('hex')).toBe(grpcSpan.spanContext().spanId);
    expect(stringAttr(grpcOne.span.attributes, 'http.request.method')).toBe('GET');
    const attributes = grpcOne.rs.resource!.attributes;
    expect(stringAttr(attributes, 'service.name')).toBe('checkout');
    expect(stringAttr(attributes, 'meshsight.origin.cluster')).toBe('cluster-a');
    expect(stringAttr(attributes, 'meshsight.origin.mesh')).toBe('prod');
    expect(stringAttr(attributes, 'meshsight.origin.network')).toBe('net-1');
    expect(attributes.filter((kv) => kv.key === 'meshsight.origin.cluster')).toHaveLength(1);
    const jsonOne = byName.get('POST /pay')!;
    expect(jsonOne.span.attributes.find((kv) => kv.key === 'http.response.status_code')?.value?.value).toEqual({ case: 'intValue', value: 502n });
    expect(jsonOne.record.headers?.['meshsight-signal']).toBe('traces');
    await Promise.all([grpcProvider.shutdown(), jsonProvider.shutdown()]);
  });

  it('takes logs over HTTP/JSON (the OTLP example payload) and metrics over HTTP/protobuf', async () => {
    const logsJson = readFileSync(fileURLToPath(new URL('../../../shared/fixtures/otlp-logs.json', import.meta.url)), 'utf8');
    const logsResponse = await fetch(`${httpUrl}/v1/logs`, {
      method: 'POST',
      body: logsJson,
      headers: { Authorization: `Bearer ${TOKEN_A}`, 'Content-Type': 'application/json' },
    });
    expect(logsResponse.status).toBe(200);

    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporterProto({ url: `${httpUrl}/v1/metrics`, headers: { Authorization: `Bearer ${TOKEN_A}` } }),
      exportIntervalMillis: 60_000,
    });
    const meterProvider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'payments' }), readers: [reader] });
    meterProvider.getMeter('test').createCounter('payments_total').add(7, { outcome: 'declined' });
    await meterProvider.forceFlush();

    const log = await waitFor('the log record', () =>
      received.logs.flatMap(({ request }) => (request as OtlpRequestMap['logs']).resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)))[0],
    );
    expect(log.body?.value).toEqual({ case: 'stringValue', value: 'Example log record' });
    expect(Buffer.from(log.traceId).toString('hex')).toBe('5b8efff798038103d269b633813fc60c');
    expect(stringAttr(log.attributes, 'string.attribute')).toBe('some string');
    const metric = await waitFor('the counter', () =>
      received.metrics
        .flatMap(({ request }) => (request as OtlpRequestMap['metrics']).resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)))
        .find((m) => m.name === 'payments_total'),
    );
    expect(metric.data.case).toBe('sum');
    if (metric.data.case === 'sum') expect(metric.data.value.dataPoints[0]!.value).toEqual({ case: 'asDouble', value: 7 });
    await meterProvider.shutdown();
  });

  it('refuses bad input in OTLP/HTTP terms, with a reason', async () => {
    const post = (body: Uint8Array | string, headers: Record<string, string>) =>
      fetch(`${httpUrl}/v1/traces`, { method: 'POST', body, headers: { Authorization: `Bearer ${TOKEN_A}`, ...headers } });

    const noToken = await fetch(`${httpUrl}/v1/traces`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { message: string }).message).toContain('bearer token');

    const badToken = await post('{}', { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-real-token-at-all' });
    expect(badToken.status).toBe(401);

    const wrongType = await post('hello', { 'Content-Type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { message: string }).message).toContain('unsupported Content-Type "text/plain"');

    const badProtobuf = await post(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), { 'Content-Type': 'application/x-protobuf' });
    expect(badProtobuf.status).toBe(400);
    expect(badProtobuf.headers.get('content-type')).toContain('application/x-protobuf');

    const badJson = await post('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"0102030405060708"}]}]}]}', { 'Content-Type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { message: string }).message).toContain('traceId');

    const oversize = await post(new Uint8Array(300 * 1024), { 'Content-Type': 'application/x-protobuf' });
    expect(oversize.status).toBe(413);

    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(256 * 1024);
    const bombed = await post(bomb, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    expect(bombed.status).toBe(413);
    expect(((await bombed.json()) as { message: string }).message).toContain('decodes to more than the limit');
  });

  it('refuses a bad token over gRPC with UNAUTHENTICATED', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer wrong-token-0123456789');
    const exporter = new OTLPTraceExporterGrpc({ url: grpcUrl, metadata, credentials: credentials.createInsecure() });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const result = await new Promise<{ code: number; error?: Error }>((resolve) => {
      const span = provider.getTracer('t').startSpan('x');
      span.end();
      exporter.export([(span as unknown as Parameters<typeof exporter.export>[0][number])], resolve);
    });
    expect(result.code).not.toBe(0);
    expect(String(result.error?.message)).toMatch(/UNAUTHENTICATED|16/);
    await provider.shutdown();
  });
});
