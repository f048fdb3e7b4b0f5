/**
 * Raw OpenTelemetry tables, column-for-column compatible with the OpenTelemetry Collector
 * ClickHouse exporter (`exporter/clickhouseexporter/internal/sqltemplates/*_table.sql`, the
 * map-based layout with the bloom-filter index variant): same table names, column names, types,
 * codecs, partitioning and sorting keys, so an exporter configured with `create_schema: false`
 * can write into them and tools built for that layout can read them.
 *
 * Deliberate differences: retention is configurable per table (`TTL <expr> + toIntervalDay(n)`),
 * and every raw table carries `non_replicated_deduplication_window` so retried batch inserts
 * with an `insert_deduplication_token` are dropped on single-node MergeTree too (Replicated
 * engines deduplicate by default).
 */
import type { ColumnDef, IndexDef, MaterializedViewDef, TableDef } from './schema.ts';

const Z = 'ZSTD(1)';
const ATTR_MAP = 'Map(LowCardinality(String), String)';

const RAW_SETTINGS = {
  index_granularity: 8192,
  ttl_only_drop_parts: 1,
  non_replicated_deduplication_window: 1000,
} as const;

const bloom = (name: string, expr: string, rate = 0.01): IndexDef => ({ name, expr, type: `bloom_filter(${rate})`, granularity: 1 });
const itemsAlias = (name: string, map: string): ColumnDef => ({
  name,
  type: 'Array(String)',
  default: { kind: 'ALIAS', expr: `arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(${map}, 'Array(Tuple(String, String))'))` },
});

export const OTEL_TRACES: TableDef = {
  name: 'otel_traces',
  columns: [
    { name: 'Timestamp', type: 'DateTime64(9)', codec: `Delta(8), ${Z}` },
    { name: 'TraceId', type: 'String', codec: Z },
    { name: 'SpanId', type: 'String', codec: Z },
    { name: 'ParentSpanId', type: 'String', codec: Z },
    { name: 'TraceState', type: 'String', codec: Z },
    { name: 'SpanName', type: 'LowCardinality(String)', codec: Z },
    { name: 'SpanKind', type: 'LowCardinality(String)', codec: Z },
    { name: 'ServiceName', type: 'LowCardinality(String)', codec: Z },
    { name: 'ResourceAttributes', type: ATTR_MAP, codec: Z },
    { name: 'ScopeName', type: 'String', codec: Z },
    { name: 'ScopeVersion', type: 'String', codec: Z },
    { name: 'SpanAttributes', type: ATTR_MAP, codec: Z },
    { name: 'Duration', type: 'UInt64', codec: `T64, ${Z}` },
    { name: 'StatusCode', type: 'LowCardinality(String)', codec: Z },
    { name: 'StatusMessage', type: 'String', codec: Z },
    {
      name: 'Events',
      type: `Nested(Timestamp DateTime64(9), Name LowCardinality(String), Attributes ${ATTR_MAP})`,
      codec: Z,
    },
    {
      name: 'Links',
      type: `Nested(TraceId String, SpanId String, TraceState String, Attributes ${ATTR_MAP})`,
      codec: Z,
    },
    itemsAlias('ResourceAttributeItems', 'ResourceAttributes'),
    itemsAlias('SpanAttributeItems', 'SpanAttributes'),
  ],
  indexes: [
    bloom('idx_trace_id', 'TraceId', 0.001),
    bloom('idx_res_attr_key', 'mapKeys(ResourceAttributes)'),
    bloom('idx_res_attr_value', 'mapValues(ResourceAttributes)'),
    bloom('idx_span_attr_key', 'mapKeys(SpanAttributes)'),
    bloom('idx_span_attr_value', 'mapValues(SpanAttributes)'),
    { name: 'idx_duration', expr: 'Duration', type: 'minmax', granularity: 1 },
    { name: 'idx_lower_span_name', expr: 'lower(SpanName)', type: 'tokenbf_v1(32768, 3, 0)', granularity: 8 },
  ],
  engine: { kind: 'MergeTree' },
  partitionBy: 'toDate(Timestamp)',
  primaryKey: ['ServiceName', 'SpanName', 'toDateTime(Timestamp)'],
  orderBy: ['ServiceName', 'SpanName', 'toDateTime(Timestamp)', 'Timestamp'],
  ttl: { expr: 'toDateTime(Timestamp)', class: 'raw' },
  settings: RAW_SETTINGS,
  // Spans of one trace land on one shard, so trace assembly and the trace-id lookup stay local.
  shardingKey: 'cityHash64(TraceId)',
};

/** Trace id -> time range lookup, filled by {@link OTEL_TRACES_TRACE_ID_TS_MV}. */
export const OTEL_TRACES_TRACE_ID_TS: TableDef = {
  name: 'otel_traces_trace_id_ts',
  columns: [
    { name: 'TraceId', type: 'String', codec: Z },
    { name: 'Start', type: 'SimpleAggregateFunction(min, DateTime)', codec: Z },
    { name: 'End', type: 'SimpleAggregateFunction(max, DateTime)', codec: Z },
  ],
  engine: { kind: 'AggregatingMergeTree' },
  partitionBy: 'toStartOfWeek(Start)',
  orderBy: ['TraceId'],
  ttl: { expr: 'toDateTime(Start)', class: 'raw' },
  settings: { index_granularity: 8192, ttl_only_drop_parts: 1 },
  shardingKey: 'cityHash64(TraceId)',
};

export const OTEL_TRACES_TRACE_ID_TS_MV: MaterializedViewDef = {
  name: 'otel_traces_trace_id_ts_mv',
  to: 'otel_traces_trace_id_ts',
  select: [
    'SELECT',
    '    TraceId,',
    '    min(Timestamp) AS Start,',
    '    max(Timestamp) AS End',
    'FROM {{otel_traces}}',
    "WHERE TraceId != ''",
    'GROUP BY TraceId',
  ].join('\n'),
};

const materializedResource = (key: string): ColumnDef => ({
  name: `__otel_materialized_${key}`,
  type: 'LowCardinality(String)',
  default: { kind: 'MATERIALIZED', expr: `ResourceAttributes['${key}']` },
  codec: Z,
});

export const OTEL_LOGS: TableDef = {
  name: 'otel_logs',
  columns: [
    { name: 'Timestamp', type: 'DateTime64(9)', codec: `Delta(8), ${Z}` },
    { name: 'TraceId', type: 'String', codec: Z },
    { name: 'SpanId', type: 'String', codec: Z },
    { name: 'TraceFlags', type: 'UInt8' },
    { name: 'SeverityText', type: 'LowCardinality(String)', codec: Z },
    { name: 'SeverityNumber', type: 'UInt8' },
    { name: 'ServiceName', type: 'LowCardinality(String)', codec: Z },
    { name: 'Body', type: 'String', codec: Z },
    { name: 'ResourceSchemaUrl', type: 'LowCardinality(String)', codec: Z },
    { name: 'ResourceAttributes', type: ATTR_MAP, codec: Z },
    { name: 'ScopeSchemaUrl', type: 'LowCardinality(String)', codec: Z },
    { name: 'ScopeName', type: 'String', codec: Z },
    { name: 'ScopeVersion', type: 'LowCardinality(String)', codec: Z },
    { name: 'ScopeAttributes', type: ATTR_MAP, codec: Z },
    { name: 'LogAttributes', type: ATTR_MAP, codec: Z },
    { name: 'EventName', type: 'String', codec: Z },
    materializedResource('k8s.cluster.name'),
    materializedResource('k8s.container.name'),
    materializedResource('k8s.deployment.name'),
    materializedResource('k8s.namespace.name'),
    materializedResource('k8s.node.name'),
    materializedResource('k8s.pod.name'),
    materializedResource('k8s.pod.uid'),
    materializedResource('deployment.environment.name'),
    itemsAlias('ResourceAttributeItems', 'ResourceAttributes'),
    itemsAlias('ScopeAttributeItems', 'ScopeAttributes'),
    itemsAlias('LogAttributeItems', 'LogAttributes'),
  ],
  indexes: [
    bloom('idx_trace_id', 'TraceId', 0.001),
    bloom('idx_res_attr_key', 'mapKeys(ResourceAttributes)'),
    bloom('idx_res_attr_value', 'mapValues(ResourceAttributes)'),
    bloom('idx_scope_attr_key', 'mapKeys(ScopeAttributes)'),
    bloom('idx_scope_attr_value', 'mapValues(ScopeAttributes)'),
    bloom('idx_log_attr_key', 'mapKeys(LogAttributes)'),
    bloom('idx_log_attr_value', 'mapValues(LogAttributes)'),
    { name: 'idx_lower_body', expr: 'lower(Body)', type: 'tokenbf_v1(32768, 3, 0)', granularity: 8 },
  ],
  engine: { kind: 'MergeTree' },
  partitionBy: 'toDate(Timestamp)',
  orderBy: ['toStartOfFiveMinutes(Timestamp)', 'ServiceName', 'Timestamp'],
  ttl: { expr: 'toDateTime(Timestamp)', class: 'raw' },
  settings: RAW_SETTINGS,
};

// ---- metrics: five tables sharing the resource/scope/series prefix -----------------------------

const METRIC_PREFIX: readonly ColumnDef[] = [
  { name: 'ResourceAttributes', type: ATTR_MAP, codec: Z },
  { name: 'ResourceSchemaUrl', type: 'String', codec: Z },
  { name: 'ScopeName', type: 'String', codec: Z },
  { name: 'ScopeVersion', type: 'String', codec: Z },
  { name: 'ScopeAttributes', type: ATTR_MAP, codec: Z },
  { name: 'ScopeDroppedAttrCount', type: 'UInt32', codec: Z },
  { name: 'ScopeSchemaUrl', type: 'String', codec: Z },
  { name: 'ServiceName', type: 'LowCardinality(String)', codec: Z },
  { name: 'MetricName', type: 'LowCardinality(String)', codec: Z },
  { name: 'MetricDescription', type: 'String', codec: Z },
  { name: 'MetricUnit', type: 'String', codec: Z },
  { name: 'Attributes', type: ATTR_MAP, codec: Z },
  { name: 'StartTimeUnix', type: 'DateTime', codec: `Delta, ${Z}` },
  { name: 'TimeUnix', type: 'DateTime', codec: `Delta, ${Z}` },
];

const EXEMPLARS: ColumnDef = {
  name: 'Exemplars',
  type: `Nested(FilteredAttributes ${ATTR_MAP}, TimeUnix DateTime, Value Float64, SpanId String, TraceId String)`,
  codec: Z,
};

const METRIC_INDEXES: readonly IndexDef[] = [
  bloom('idx_res_attr_key', 'mapKeys(ResourceAttributes)'),
  bloom('idx_res_attr_value', 'mapValues(ResourceAttributes)'),
  bloom('idx_scope_attr_key', 'mapKeys(ScopeAttributes)'),
  bloom('idx_scope_attr_value', 'mapValues(ScopeAttributes)'),
  bloom('idx_attr_key', 'mapKeys(Attributes)'),
  bloom('idx_attr_value', 'mapValues(Attributes)'),
  { name: 'idx_time_minmax', expr: 'TimeUnix', type: 'minmax', granularity: 1 },
];

function metricTable(name: string, valueColumns: readonly ColumnDef[]): TableDef {
  return {
    name,
    columns: [...METRIC_PREFIX, ...valueColumns],
    indexes: METRIC_INDEXES,
    engine: { kind: 'MergeTree' },
    partitionBy: 'toDate(TimeUnix)',
    orderBy: ['ServiceName', 'MetricName', 'toStartOfHour(TimeUnix)', 'cityHash64(Attributes)', 'TimeUnix'],
    ttl: { expr: 'toDateTime(TimeUnix)', class: 'raw' },
    settings: RAW_SETTINGS,
    // One series stays on one shard, so rate()/delta computations never need a cross-shard merge.
    shardingKey: 'cityHash64(ServiceName, MetricName, Attributes)',
  };
}

export const OTEL_METRICS_GAUGE = metricTable('otel_metrics_gauge', [
  { name: 'Value', type: 'Float64', codec: Z },
  { name: 'Flags', type: 'UInt32', codec: Z },
  EXEMPLARS,
]);

export const OTEL_METRICS_SUM = metricTable('otel_metrics_sum', [
  { name: 'Value', type: 'Float64', codec: Z },
  { name: 'Flags', type: 'UInt32', codec: Z },
  EXEMPLARS,
  { name: 'AggregationTemporality', type: 'Int32', codec: Z },
  { name: 'IsMonotonic', type: 'Boolean', codec: `Delta, ${Z}` },
]);

export const OTEL_METRICS_HISTOGRAM = metricTable('otel_metrics_histogram', [
  { name: 'Count', type: 'UInt64', codec: `Delta, ${Z}` },
  { name: 'Sum', type: 'Float64', codec: Z },
  { name: 'BucketCounts', type: 'Array(UInt64)', codec: Z },
  { name: 'ExplicitBounds', type: 'Array(Float64)', codec: Z },
  EXEMPLARS,
  { name: 'Flags', type: 'UInt32', codec: Z },
  { name: 'Min', type: 'Float64', codec: Z },
  { name: 'Max', type: 'Float64', codec: Z },
  { name: 'AggregationTemporality', type: 'Int32', codec: Z },
]);

export const OTEL_METRICS_EXPONENTIAL_HISTOGRAM = metricTable('otel_metrics_exponential_histogram', [
  { name: 'Count', type: 'UInt64', codec: `Delta, ${Z}` },
  { name: 'Sum', type: 'Float64', codec: Z },
  { name: 'Scale', type: 'Int32', codec: Z },
  { name: 'ZeroCount', type: 'UInt64', codec: Z },
  { name: 'PositiveOffset', type: 'Int32', codec: Z },
  { name: 'PositiveBucketCounts', type: 'Array(UInt64)', codec: Z },
  { name: 'NegativeOffset', type: 'Int32', codec: Z },
  { name: 'NegativeBucketCounts', type: 'Array(UInt64)', codec: Z },
  EXEMPLARS,
  { name: 'Flags', type: 'UInt32', codec: Z },
  { name: 'Min', type: 'Float64', codec: Z },
  { name: 'Max', type: 'Float64', codec: Z },
  { name: 'AggregationTemporality', type: 'Int32', codec: Z },
]);

export const OTEL_METRICS_SUMMARY = metricTable('otel_metrics_summary', [
  { name: 'Count', type: 'UInt64', codec: `Delta, ${Z}` },
  { name: 'Sum', type: 'Float64', codec: Z },
  { name: 'ValueAtQuantiles', type: 'Nested(Quantile Float64, Value Float64)', codec: Z },
  { name: 'Flags', type: 'UInt32', codec: Z },
]);

/** Tables of migration 1, in creation order (MV targets before their views). */
export const OTEL_TABLES: readonly TableDef[] = [
  OTEL_TRACES,
  OTEL_TRACES_TRACE_ID_TS,
  OTEL_LOGS,
  OTEL_METRICS_GAUGE,
  OTEL_METRICS_SUM,
  OTEL_METRICS_HISTOGRAM,
  OTEL_METRICS_EXPONENTIAL_HISTOGRAM,
  OTEL_METRICS_SUMMARY,
];

export const OTEL_VIEWS: readonly MaterializedViewDef[] = [OTEL_TRACES_TRACE_ID_TS_MV];
