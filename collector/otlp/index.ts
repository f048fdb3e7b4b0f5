// OTLP wire support for the collector: codec for the three export requests/responses, plus the
// generated protobuf-es schemas and types (opentelemetry-proto, see proto/ and buf.gen.yaml).

export {
  OTLP_GRPC_METHOD_PATHS,
  OTLP_HTTP_PATHS,
  OTLP_SIGNALS,
  OtlpDecodeError,
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
  responseSchema,
} from './codec.ts';
export type { OtlpFormat, OtlpRequest, OtlpRequestMap, OtlpResponse, OtlpResponseMap, OtlpSignal } from './codec.ts';

// Collector services (gRPC descriptors) and their messages.
export {
  ExportTracePartialSuccessSchema,
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
  TraceService,
} from './generated/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts';
export type {
  ExportTracePartialSuccess,
  ExportTraceServiceRequest,
  ExportTraceServiceResponse,
} from './generated/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts';
export {
  ExportMetricsPartialSuccessSchema,
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
  MetricsService,
} from './generated/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts';
export type {
  ExportMetricsPartialSuccess,
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
} from './generated/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts';
export {
  ExportLogsPartialSuccessSchema,
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
  LogsService,
} from './generated/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts';
export type {
  ExportLogsPartialSuccess,
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
} from './generated/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts';

// Common and resource.
export {
  AnyValueSchema,
  ArrayValueSchema,
  EntityRefSchema,
  InstrumentationScopeSchema,
  KeyValueListSchema,
  KeyValueSchema,
} from './generated/opentelemetry/proto/common/v1/common_pb.ts';
export type {
  AnyValue,
  ArrayValue,
  EntityRef,
  InstrumentationScope,
  KeyValue,
  KeyValueList,
} from './generated/opentelemetry/proto/common/v1/common_pb.ts';
export { ResourceSchema } from './generated/opentelemetry/proto/resource/v1/resource_pb.ts';
export type { Resource } from './generated/opentelemetry/proto/resource/v1/resource_pb.ts';

// Traces.
export {
  ResourceSpansSchema,
  ScopeSpansSchema,
  SpanFlags,
  SpanSchema,
  Span_EventSchema,
  Span_LinkSchema,
  Span_SpanKind,
  StatusSchema,
  Status_StatusCode,
  TracesDataSchema,
} from './generated/opentelemetry/proto/trace/v1/trace_pb.ts';
export type {
  ResourceSpans,
  ScopeSpans,
  Span,
  Span_Event,
  Span_Link,
  Status,
  TracesData,
} from './generated/opentelemetry/proto/trace/v1/trace_pb.ts';

// Metrics.
export {
  AggregationTemporality,
  DataPointFlags,
  ExemplarSchema,
  ExponentialHistogramDataPointSchema,
  ExponentialHistogramDataPoint_BucketsSchema,
  ExponentialHistogramSchema,
  GaugeSchema,
  HistogramDataPointSchema,
  HistogramSchema,
  MetricSchema,
  MetricsDataSchema,
  NumberDataPointSchema,
  ResourceMetricsSchema,
  ScopeMetricsSchema,
  SumSchema,
  SummaryDataPointSchema,
  SummaryDataPoint_ValueAtQuantileSchema,
  SummarySchema,
} from './generated/opentelemetry/proto/metrics/v1/metrics_pb.ts';
export type {
  Exemplar,
  ExponentialHistogram,
  ExponentialHistogramDataPoint,
  ExponentialHistogramDataPoint_Buckets,
  Gauge,
  Histogram,
  HistogramDataPoint,
  Metric,
  MetricsData,
  NumberDataPoint,
  ResourceMetrics,
  ScopeMetrics,
  Sum,
  Summary,
  SummaryDataPoint,
  SummaryDataPoint_ValueAtQuantile,
} from './generated/opentelemetry/proto/metrics/v1/metrics_pb.ts';

// Logs.
export {
  LogRecordFlags,
  LogRecordSchema,
  LogsDataSchema,
  ResourceLogsSchema,
  ScopeLogsSchema,
  SeverityNumber,
} from './generated/opentelemetry/proto/logs/v1/logs_pb.ts';
export type { LogRecord, LogsData, ResourceLogs, ScopeLogs } from './generated/opentelemetry/proto/logs/v1/logs_pb.ts';
