// OTLP export requests and responses: binary protobuf and OTLP/JSON, for the three signals.
//
// Binary protobuf goes straight through protobuf-es (`fromBinary`/`toBinary`), which keeps
// unknown fields, so a request from a newer OTLP version is forwarded with its extra fields
// intact. OTLP/JSON is the proto3 JSON mapping with the OTLP deviations
// (opentelemetry-proto docs/specification.md, "JSON Protobuf Encoding"):
//   - trace and span ids are hex strings (case-insensitive), not base64;
//   - enums are integers (names are accepted here too, as protobuf JSON allows);
//   - 64-bit integers are decimal strings or numbers;
//   - keys are lowerCamelCase (the proto snake_case names are accepted too, as protobuf-es does);
//   - "OTLP/JSON receivers MUST ignore message fields with unknown names and MUST unmarshal the
//     message as if the unknown field was not present in the payload."
// Ids are converted between hex and base64 at their known paths, around protobuf-es
// `fromJson`/`toJson`.
//
// Every decoding problem surfaces as an OtlpDecodeError; ids of the wrong length (trace id not
// 16 bytes, span id not 8 bytes, empty allowed) are rejected in both formats, as the reference
// collector does.

import { create, fromBinary, fromJson, toBinary, toJson } from '@bufbuild/protobuf';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
import { base64Decode, base64Encode } from '@bufbuild/protobuf/wire';
import {
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
  LogsService,
} from './generated/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts';
import type {
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
} from './generated/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts';
import {
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
  MetricsService,
} from './generated/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts';
import type {
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
} from './generated/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.ts';
import {
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
  TraceService,
} from './generated/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts';
import type {
  ExportTraceServiceRequest,
  ExportTraceServiceResponse,
} from './generated/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts';

/** The three OTLP signals this collector receives. */
export type OtlpSignal = 'traces' | 'metrics' | 'logs';

/** All signals, in a fixed order. */
export const OTLP_SIGNALS: readonly OtlpSignal[] = ['traces', 'metrics', 'logs'];

/** The two OTLP payload encodings. */
export type OtlpFormat = 'protobuf' | 'json';

/** Export request message of each signal. */
export interface OtlpRequestMap {
  traces: ExportTraceServiceRequest;
  metrics: ExportMetricsServiceRequest;
  logs: ExportLogsServiceRequest;
}

/** Export response message of each signal. */
export interface OtlpResponseMap {
  traces: ExportTraceServiceResponse;
  metrics: ExportMetricsServiceResponse;
  logs: ExportLogsServiceResponse;
}

export type OtlpRequest<S extends OtlpSignal = OtlpSignal> = OtlpRequestMap[S];
export type OtlpResponse<S extends OtlpSignal = OtlpSignal> = OtlpResponseMap[S];

/** Default OTLP/HTTP path of each signal. */
export const OTLP_HTTP_PATHS: Readonly<Record<OtlpSignal, string>> = {
  traces: '/v1/traces',
  metrics: '/v1/metrics',
  logs: '/v1/logs',
};

/** gRPC method path of each signal's Export call: `/opentelemetry.proto.collector.trace.v1.TraceService/Export` etc. */
export const OTLP_GRPC_METHOD_PATHS: Readonly<Record<OtlpSignal, string>> = {
  traces: `/${TraceService.typeName}/${TraceService.method.export.name}`,
  metrics: `/${MetricsService.typeName}/${MetricsService.method.export.name}`,
  logs: `/${LogsService.typeName}/${LogsService.method.export.name}`,
};

/** A request (or response) that could not be decoded. `path` names the offending field when one is known. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
  readonly signal: OtlpSignal;
  readonly format: OtlpFormat;
  readonly path: string | undefined;

  constructor(signal: OtlpSignal, format: OtlpFormat, detail: string, options?: { path?: string; cause?: unknown }) {
    const where = options?.path === undefined ? '' : `${options.path}: `;
    super(`invalid OTLP/${format === 'json' ? 'JSON' : 'protobuf'} ${signal} payload: ${where}${detail}`, {
      cause: options?.cause,
    });
    this.signal = signal;
    this.format = format;
    this.path = options?.path;
  }
}

const requestSchemas: { readonly [S in OtlpSignal]: GenMessage<OtlpRequestMap[S]> } = {
  traces: ExportTraceServiceRequestSchema,
  metrics: ExportMetricsServiceRequestSchema,
  logs: ExportLogsServiceRequestSchema,
};

const responseSchemas: { readonly [S in OtlpSignal]: GenMessage<OtlpResponseMap[S]> } = {
  traces: ExportTraceServiceResponseSchema,
  metrics: ExportMetricsServiceResponseSchema,
  logs: ExportLogsServiceResponseSchema,
};

/** The protobuf-es schema of a signal's export request. */
export function requestSchema<S extends OtlpSignal>(signal: S): GenMessage<OtlpRequestMap[S]> {
  assertSignal(signal);
  return requestSchemas[signal];
}

/** The protobuf-es schema of a signal's export response. */
export function responseSchema<S extends OtlpSignal>(signal: S): GenMessage<OtlpResponseMap[S]> {
  assertSignal(signal);
  return responseSchemas[signal];
}

function assertSignal(signal: unknown): asserts signal is OtlpSignal {
  if (signal !== 'traces' && signal !== 'metrics' && signal !== 'logs') {
    throw new TypeError(`unknown OTLP signal ${JSON.stringify(signal)} (expected traces, metrics or logs)`);
  }
}

// ---------------------------------------------------------------------------------------------
// Binary protobuf

/** Decodes a binary protobuf export request. Unknown fields are kept and written back by `encodeProtobuf`. */
export function decodeProtobuf<S extends OtlpSignal>(signal: S, bytes: Uint8Array): OtlpRequestMap[S] {
  const schema = requestSchema(signal);
  let message: OtlpRequestMap[S];
  try {
    message = fromBinary(schema, bytes);
  } catch (err) {
    throw new OtlpDecodeError(signal, 'protobuf', errorText(err), { cause: err });
  }
  const bad = findBadId(signal, message);
  if (bad) throw new OtlpDecodeError(signal, 'protobuf', bad.detail, { path: bad.path });
  return message;
}

/** Encodes an export request as binary protobuf, including any unknown fields it was decoded with. */
export function encodeProtobuf<S extends OtlpSignal>(signal: S, message: OtlpRequestMap[S]): Uint8Array {
  return toBinary(requestSchema(signal), message);
}

// ---------------------------------------------------------------------------------------------
// OTLP/JSON

type JsonObject = { [key: string]: JsonValue };
type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

interface IdSpec {
  readonly json: string;
  readonly proto: string;
  readonly bytes: 16 | 8;
}

interface PathNode {
  readonly ids?: readonly IdSpec[];
  readonly children?: readonly ChildSpec[];
}

interface ChildSpec {
  readonly json: string;
  readonly proto: string;
  readonly list: boolean;
  readonly node: PathNode;
}

const TRACE_ID: IdSpec = { json: 'traceId', proto: 'trace_id', bytes: 16 };
const SPAN_ID: IdSpec = { json: 'spanId', proto: 'span_id', bytes: 8 };
const PARENT_SPAN_ID: IdSpec = { json: 'parentSpanId', proto: 'parent_span_id', bytes: 8 };

const list = (json: string, proto: string, node: PathNode): ChildSpec => ({ json, proto, list: true, node });
const single = (json: string, proto: string, node: PathNode): ChildSpec => ({ json, proto, list: false, node });

const exemplars: PathNode = { children: [list('exemplars', 'exemplars', { ids: [TRACE_ID, SPAN_ID] })] };
const withDataPoints: PathNode = { children: [list('dataPoints', 'data_points', exemplars)] };

// Where hex ids live in each request, as JSON key paths (lowerCamelCase and snake_case).
const ID_PATHS: Readonly<Record<OtlpSignal, PathNode>> = {
  traces: {
    children: [
      list('resourceSpans', 'resource_spans', {
        children: [
          list('scopeSpans', 'scope_spans', {
            children: [
              list('spans', 'spans', {
                ids: [TRACE_ID, SPAN_ID, PARENT_SPAN_ID],
                children: [list('links', 'links', { ids: [TRACE_ID, SPAN_ID] })],
              }),
            ],
          }),
        ],
      }),
    ],
  },
  metrics: {
    children: [
      list('resourceMetrics', 'resource_metrics', {
        children: [
          list('scopeMetrics', 'scope_metrics', {
            children: [
              list('metrics', 'metrics', {
                children: [
                  single('gauge', 'gauge', withDataPoints),
                  single('sum', 'sum', withDataPoints),
                  single('histogram', 'histogram', withDataPoints),
                  single('exponentialHistogram', 'exponential_histogram', withDataPoints),
                  single('summary', 'summary', withDataPoints),
                ],
              }),
            ],
          }),
        ],
      }),
    ],
  },
  logs: {
    children: [
      list('resourceLogs', 'resource_logs', {
        children: [
          list('scopeLogs', 'scope_logs', {
            children: [list('logRecords', 'log_records', { ids: [TRACE_ID, SPAN_ID] })],
          }),
        ],
      }),
    ],
  },
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes an OTLP/JSON export request (text, or UTF-8 bytes as received). Unknown fields are
 * ignored, as the OTLP specification requires.
 */
export function decodeJson<S extends OtlpSignal>(signal: S, text: string | Uint8Array): OtlpRequestMap[S] {
  const schema = requestSchema(signal);
  const root = parseJsonObject(signal, text);
  walkIds(root, ID_PATHS[signal], '', (holder, key, path, spec) => {
    holder[key] = hexIdToBase64(signal, holder[key] ?? null, path, spec);
  });
  try {
    return fromJson(schema, root, { ignoreUnknownFields: true });
  } catch (err) {
    throw new OtlpDecodeError(signal, 'json', errorText(err), { cause: err });
  }
}

/** Encodes an export request as OTLP/JSON: hex ids, integer enums, lowerCamelCase keys, 64-bit integers as strings. */
export function encodeJson<S extends OtlpSignal>(signal: S, message: OtlpRequestMap[S]): string {
  const json = toJson(requestSchema(signal), message, { enumAsInteger: true });
  if (isObject(json)) {
    walkIds(json, ID_PATHS[signal], '', (holder, key) => {
      const value = holder[key];
      if (typeof value === 'string') holder[key] = toHex(base64Decode(value));
    });
  }
  return JSON.stringify(json);
}

function parseJsonObject(signal: OtlpSignal, input: string | Uint8Array): JsonObject {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = utf8.decode(input);
    } catch (err) {
      throw new OtlpDecodeError(signal, 'json', 'body is not valid UTF-8', { cause: err });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(quoteUnsafeIntegers(text)) as unknown;
  } catch (err) {
    throw new OtlpDecodeError(signal, 'json', `not valid JSON (${errorText(err)})`, { cause: err });
  }
  if (!isObject(parsed)) {
    throw new OtlpDecodeError(signal, 'json', `expected a JSON object at the top level, got ${describeJson(parsed)}`);
  }
  return parsed;
}

/**
 * JSON.parse turns integers beyond 2^53 into imprecise doubles, and nanosecond timestamps are
 * beyond that. OTLP allows 64-bit integers as JSON numbers, so integer literals that are not safe
 * integers are quoted before parsing; protobuf-es reads 64-bit (and floating point) fields from
 * strings exactly. Only values are touched (a literal followed by `:` is left alone), and literals
 * with a leading zero stay invalid JSON.
 */
function quoteUnsafeIntegers(text: string): string {
  if (!/\d{16}/.test(text)) return text;
  let out = '';
  let copied = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i++;
      while (i < n && isNumberChar(text.charCodeAt(i))) i++;
      const token = text.slice(start, i);
      if (/^-?[1-9]\d{15,}$/.test(token) && !Number.isSafeInteger(Number(token)) && !followedByColon(text, i)) {
        out += `${text.slice(copied, start)}"${token}"`;
        copied = i;
      }
      continue;
    }
    i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

function followedByColon(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x3a;
  }
  return false;
}

function walkIds(
  holder: JsonObject,
  node: PathNode,
  path: string,
  visit: (holder: JsonObject, key: string, path: string, spec: IdSpec) => void,
): void {
  for (const spec of node.ids ?? []) {
    for (const key of keysOf(spec)) {
      if (Object.hasOwn(holder, key)) visit(holder, key, join(path, key), spec);
    }
  }
  for (const child of node.children ?? []) {
    for (const key of keysOf(child)) {
      if (!Object.hasOwn(holder, key)) continue;
      const value = holder[key];
      const childPath = join(path, key);
      if (child.list) {
        // Anything but an array of objects is left for fromJson to reject.
        if (!Array.isArray(value)) continue;
        value.forEach((item, index) => {
          if (isObject(item)) walkIds(item, child.node, `${childPath}[${index}]`, visit);
        });
      } else if (isObject(value)) {
        walkIds(value, child.node, childPath, visit);
      }
    }
  }
}

function keysOf(spec: { json: string; proto: string }): readonly string[] {
  return spec.json === spec.proto ? [spec.json] : [spec.json, spec.proto];
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function hexIdToBase64(signal: OtlpSignal, value: JsonValue, path: string, spec: IdSpec): JsonValue {
  if (value === null) return null; // proto3 JSON: null means the default (empty)
  const what = idName(spec.bytes);
  if (typeof value !== 'string') {
    throw new OtlpDecodeError(signal, 'json', `${what} must be a hex string, got ${describeJson(value)}`, { path });
  }
  if (value.length === 0) return value;
  if (value.length !== spec.bytes * 2 || !/^[0-9a-fA-F]*$/.test(value)) {
    const problem = /^[0-9a-fA-F]*$/.test(value)
      ? `${value.length} hex digits`
      : `${JSON.stringify(abbreviate(value))}, which is not hex (OTLP/JSON ids are hex, not base64)`;
    throw new OtlpDecodeError(
      signal,
      'json',
      `${what} must be ${spec.bytes * 2} hex digits (${spec.bytes} bytes) or empty, got ${problem}`,
      { path },
    );
  }
  return base64Encode(fromHex(value));
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

// ---------------------------------------------------------------------------------------------
// Id lengths in decoded messages (binary protobuf)

interface BadId {
  readonly path: string;
  readonly detail: string;
}

function checkId(bytes: Uint8Array, size: 16 | 8, path: string): BadId | undefined {
  if (bytes.length === 0 || bytes.length === size) return undefined;
  return { path, detail: `${idName(size)} must be ${size} bytes or empty, got ${bytes.length}` };
}

function findBadId(signal: OtlpSignal, request: OtlpRequest): BadId | undefined {
  switch (signal) {
    case 'traces':
      return findBadTraceId(request as ExportTraceServiceRequest);
    case 'metrics':
      return findBadMetricsId(request as ExportMetricsServiceRequest);
    case 'logs':
      return findBadLogsId(request as ExportLogsServiceRequest);
  }
}

function findBadTraceId(request: ExportTraceServiceRequest): BadId | undefined {
  for (const [i, rs] of request.resourceSpans.entries()) {
    for (const [j, ss] of rs.scopeSpans.entries()) {
      for (const [k, span] of ss.spans.entries()) {
        const p = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        const bad =
          checkId(span.traceId, 16, `${p}.traceId`) ??
          checkId(span.spanId, 8, `${p}.spanId`) ??
          checkId(span.parentSpanId, 8, `${p}.parentSpanId`);
        if (bad) return bad;
        for (const [l, link] of span.links.entries()) {
          const linkBad =
            checkId(link.traceId, 16, `${p}.links[${l}].traceId`) ?? checkId(link.spanId, 8, `${p}.links[${l}].spanId`);
          if (linkBad) return linkBad;
        }
      }
    }
  }
  return undefined;
}

function findBadMetricsId(request: ExportMetricsServiceRequest): BadId | undefined {
  for (const [i, rm] of request.resourceMetrics.entries()) {
    for (const [j, sm] of rm.scopeMetrics.entries()) {
      for (const [k, metric] of sm.metrics.entries()) {
        const data = metric.data;
        if (data.case === undefined || data.case === 'summary') continue; // summaries carry no exemplars
        for (const [l, point] of data.value.dataPoints.entries()) {
          for (const [m, exemplar] of point.exemplars.entries()) {
            const p =
              `resourceMetrics[${i}].scopeMetrics[${j}].metrics[${k}]` +
              `.${data.case}.dataPoints[${l}].exemplars[${m}]`;
            const bad = checkId(exemplar.traceId, 16, `${p}.traceId`) ?? checkId(exemplar.spanId, 8, `${p}.spanId`);
            if (bad) return bad;
          }
        }
      }
    }
  }
  return undefined;
}

function findBadLogsId(request: ExportLogsServiceRequest): BadId | undefined {
  for (const [i, rl] of request.resourceLogs.entries()) {
    for (const [j, sl] of rl.scopeLogs.entries()) {
      for (const [k, record] of sl.logRecords.entries()) {
        const p = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        const bad = checkId(record.traceId, 16, `${p}.traceId`) ?? checkId(record.spanId, 8, `${p}.spanId`);
        if (bad) return bad;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Counting and responses

/** Number of items in a request: spans (traces), data points of all metric kinds (metrics), log records (logs). */
export function countItems<S extends OtlpSignal>(signal: S, request: OtlpRequestMap[S]): number {
  assertSignal(signal);
  let count = 0;
  switch (signal) {
    case 'traces':
      for (const rs of (request as ExportTraceServiceRequest).resourceSpans) {
        for (const ss of rs.scopeSpans) count += ss.spans.length;
      }
      break;
    case 'metrics':
      for (const rm of (request as ExportMetricsServiceRequest).resourceMetrics) {
        for (const sm of rm.scopeMetrics) {
          for (const metric of sm.metrics) {
            if (metric.data.case !== undefined) count += metric.data.value.dataPoints.length;
          }
        }
      }
      break;
    case 'logs':
      for (const rl of (request as ExportLogsServiceRequest).resourceLogs) {
        for (const sl of rl.scopeLogs) count += sl.logRecords.length;
      }
      break;
  }
  return count;
}

/**
 * An export response. `partial_success` is left unset on full success (no rejected items and no
 * message), as the OTLP specification requires; otherwise it carries the rejected count
 * (rejected_spans / rejected_data_points / rejected_log_records) and the message.
 */
export function createExportResponse<S extends OtlpSignal>(
  signal: S,
  rejected: number | bigint = 0,
  errorMessage = '',
): OtlpResponseMap[S] {
  assertSignal(signal);
  const count = BigInt(rejected);
  if (count < 0n) throw new RangeError(`rejected item count must not be negative, got ${count}`);
  if (count === 0n && errorMessage === '') return create(responseSchema(signal));
  return partialSuccessResponse[signal](count, errorMessage);
}

const partialSuccessResponse: {
  readonly [S in OtlpSignal]: (rejected: bigint, errorMessage: string) => OtlpResponseMap[S];
} = {
  traces: (rejectedSpans, errorMessage) =>
    create(ExportTraceServiceResponseSchema, { partialSuccess: { rejectedSpans, errorMessage } }),
  metrics: (rejectedDataPoints, errorMessage) =>
    create(ExportMetricsServiceResponseSchema, { partialSuccess: { rejectedDataPoints, errorMessage } }),
  logs: (rejectedLogRecords, errorMessage) =>
    create(ExportLogsServiceResponseSchema, { partialSuccess: { rejectedLogRecords, errorMessage } }),
};

/** Encodes an export response as binary protobuf. */
export function encodeResponseProtobuf<S extends OtlpSignal>(signal: S, response: OtlpResponseMap[S]): Uint8Array {
  return toBinary(responseSchema(signal), response);
}

/** Encodes an export response as OTLP/JSON (64-bit counts as strings). */
export function encodeResponseJson<S extends OtlpSignal>(signal: S, response: OtlpResponseMap[S]): string {
  return JSON.stringify(toJson(responseSchema(signal), response, { enumAsInteger: true }));
}

/** Decodes a binary protobuf export response (the client side of an export). */
export function decodeResponseProtobuf<S extends OtlpSignal>(signal: S, bytes: Uint8Array): OtlpResponseMap[S] {
  const schema = responseSchema(signal);
  try {
    return fromBinary(schema, bytes);
  } catch (err) {
    throw new OtlpDecodeError(signal, 'protobuf', errorText(err), { cause: err });
  }
}

/** Decodes an OTLP/JSON export response (the client side of an export). Unknown fields are ignored. */
export function decodeResponseJson<S extends OtlpSignal>(signal: S, text: string | Uint8Array): OtlpResponseMap[S] {
  const schema = responseSchema(signal);
  const root = parseJsonObject(signal, text);
  try {
    return fromJson(schema, root, { ignoreUnknownFields: true });
  } catch (err) {
    throw new OtlpDecodeError(signal, 'json', errorText(err), { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idName(bytes: 16 | 8): string {
  return bytes === 16 ? 'trace id' : 'span id';
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(abbreviate(value))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function abbreviate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
