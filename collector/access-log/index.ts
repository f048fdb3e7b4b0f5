export type { AccessLogEntry, ProxyIdentity } from './entry.ts';
export { isRejection, parseRfc3339Nanos, parseGrpcStatus, type LineResult } from './fields.ts';
export { RESPONSE_FLAGS, ALS_RESPONSE_FLAG_FIELDS, flagFromLongName } from './response-flags.ts';
export { parseIstioTextLine, ISTIO_TEXT_FORMAT, ENVOY_DEFAULT_FORMAT } from './istio-text.ts';
export { parseIstioJsonLine } from './istio-json.ts';
export { compileEnvoyFormat, compileStrftime, EnvoyFormatError, type CompiledEnvoyFormat } from './envoy-format.ts';
export { parseZtunnelLine, parseDurationNanos, type ZtunnelResult } from './ztunnel.ts';
export {
  parseLines,
  cachedEnvoyFormat,
  DEFAULT_MAX_LINE_LENGTH,
  type LineFormat,
  type ParseLinesOptions,
  type ParseLinesResult,
  type RejectedLine,
} from './lines.ts';
