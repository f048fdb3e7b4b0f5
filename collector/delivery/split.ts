import type { ExportLogsServiceRequest } from '../otlp/generated/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts';
import type { ExportMetricsServiceRequest } from '../otlp/generated/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts';
import type { ExportTraceServiceRequest } from '../otlp/generated/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts';
import { create } from '@bufbuild/protobuf';
import { KeyValueSchema, type KeyValue } from '../otlp/generated/opentelemetry/proto/common/v1/common_pb.ts';
import { ResourceSchema, type Resource } from '../otlp/generated/opentelemetry/proto/resource/v1/resource_pb.ts';
import { ORIGIN_ATTRIBUTES, type Origin } from '../auth/origin.ts';
import { partitionFor } from './partition.ts';

/**
 * Splitting an export request by partition: every span or log record goes to the partition of its
 * trace id (else its x-request-id), every metric to the partition of its series family, so one
 * processor sees every report of one request. Resources and scopes are shared, not copied, and
 * fields the collector does not know travel on untouched.
 */

const REQUEST_ID_ATTRIBUTE = 'http.request.header.x-request-id';
const utf8 = new TextEncoder();

/** Replaces any origin attributes a payload brought with the authenticated ones. */
export function stampOrigin(resource: Resource | undefined, origin: Origin): Resource {
  const attributes: KeyValue[] = (resource?.attributes ?? []).filter((kv) => !ORIGIN_KEYS.has(kv.key));
  attributes.push(stringAttribute(ORIGIN_ATTRIBUTES.mesh, origin.mesh), stringAttribute(ORIGIN_ATTRIBUTES.cluster, origin.cluster), stringAttribute(ORIGIN_ATTRIBUTES.kind, origin.kind));
  if (origin.network) attributes.push(stringAttribute(ORIGIN_ATTRIBUTES.network, origin.network));
  if (!resource) return create(ResourceSchema, { attributes });
  resource.attributes = attributes;
  return resource;
}

const ORIGIN_KEYS = new Set<string>(Object.values(ORIGIN_ATTRIBUTES));

function stringAttribute(key: string, value: string): KeyValue {
  return create(KeyValueSchema, { key, value: { value: { case: 'stringValue', value } } });
}

/** Groups items into per-partition copies of the nested resource → scope → items structure. */
function splitNested<R, S, I>(
  resources: R[],
  scopesOf: (r: R) => S[],
  itemsOf: (s: S) => I[],
  partitionOf: (item: I, resource: R) => number,
  rebuild: (resource: R, scopes: Map<S, I[]>) => R,
): Map<number, R[]> {
  const byPartition = new Map<number, Map<R, Map<S, I[]>>>();
  for (const resource of resources) {
    for (const scope of scopesOf(resource)) {
      for (const item of itemsOf(scope)) {
        const partition = partitionOf(item, resource);
        let resourcesHere = byPartition.get(partition);
        if (!resourcesHere) byPartition.set(partition, (resourcesHere = new Map<R, Map<S, I[]>>()));
        let scopesHere = resourcesHere.get(resource);
        if (!scopesHere) resourcesHere.set(resource, (scopesHere = new Map<S, I[]>()));
        let items = scopesHere.get(scope);
        if (!items) scopesHere.set(scope, (items = []));
        items.push(item);
      }
    }
  }
  const result = new Map<number, R[]>();
  for (const [partition, resourcesHere] of byPartition) {
    result.set(partition, [...resourcesHere].map(([resource, scopes]) => rebuild(resource, scopes)));
  }
  return result;
}

let roundRobin = 0;
const nextPartition = (partitions: number) => (roundRobin = (roundRobin + 1) % partitions);

export function splitTraces(request: ExportTraceServiceRequest, partitions: number): Map<number, ExportTraceServiceRequest> {
  const parts = splitNested(
    request.resourceSpans,
    (r) => r.scopeSpans,
    (s) => s.spans,
    (span) => (span.traceId.length > 0 ? partitionFor(span.traceId, partitions) : nextPartition(partitions)),
    (resource, scopes) => ({ ...resource, scopeSpans: [...scopes].map(([scope, spans]) => ({ ...scope, spans })) }),
  );
  return new Map([...parts].map(([p, resourceSpans]) => [p, { ...request, resourceSpans }]));
}

export function splitLogs(request: ExportLogsServiceRequest, partitions: number): Map<number, ExportLogsServiceRequest> {
  const parts = splitNested(
    request.resourceLogs,
    (r) => r.scopeLogs,
    (s) => s.logRecords,
    (record) => {
      if (record.traceId.length > 0) return partitionFor(record.traceId, partitions);
      const requestId = record.attributes.find((kv) => kv.key === REQUEST_ID_ATTRIBUTE)?.value?.value;
      if (requestId?.case === 'stringValue' && requestId.value) return partitionFor(utf8.encode(requestId.value), partitions);
      return nextPartition(partitions);
    },
    (resource, scopes) => ({ ...resource, scopeLogs: [...scopes].map(([scope, logRecords]) => ({ ...scope, logRecords })) }),
  );
  return new Map([...parts].map(([p, resourceLogs]) => [p, { ...request, resourceLogs }]));
}

export function splitMetrics(request: ExportMetricsServiceRequest, partitions: number): Map<number, ExportMetricsServiceRequest> {
  const parts = splitNested(
    request.resourceMetrics,
    (r) => r.scopeMetrics,
    (s) => s.metrics,
    // A series family (one metric of one resource) stays together, so cumulative counters are read
    // in order by one processor that can turn them into deltas.
    (metric, resource) => partitionFor(utf8.encode(`${resourceKey(resource.resource)}\u0000${metric.name}`), partitions),
    (resource, scopes) => ({ ...resource, scopeMetrics: [...scopes].map(([scope, metrics]) => ({ ...scope, metrics })) }),
  );
  return new Map([...parts].map(([p, resourceMetrics]) => [p, { ...request, resourceMetrics }]));
}

function resourceKey(resource: Resource | undefined): string {
  if (!resource) return '';
  return resource.attributes
    .map((kv) => `${kv.key}=${kv.value?.value.case === 'stringValue' ? kv.value.value.value : ''}`)
    .sort()
    .join(',');
}
