export {
  accessLogServiceClient,
  accessLogServiceDefinition,
  alsPackageDefinition,
  decodeStreamAccessLogsMessage,
  encodeStreamAccessLogsMessage,
  PROTO_LOADER_OPTIONS,
  STREAM_ACCESS_LOGS_PATH,
  type AccessLogServiceClientConstructor,
} from './protos.ts';
export {
  accessLogsFromMessage,
  formatAddress,
  httpEntryToAccessLog,
  identityFromNode,
  int64,
  protoTimeNanos,
  responseFlagCodes,
  tcpEntryToAccessLog,
  type ConvertOptions,
} from './decode.ts';
export type {
  AccessLogCommon,
  Address,
  HttpAccessLogEntry,
  Node,
  StreamAccessLogsMessage,
  TcpAccessLogEntry,
} from './types.ts';
