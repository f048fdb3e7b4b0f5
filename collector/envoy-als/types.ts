/**
 * The ALS messages as `@grpc/proto-loader` decodes them with the options in protos.ts (keepCase,
 * longs as strings, enums as strings, no defaults, oneof names). Only what Meshsight reads is typed;
 * every field is optional because proto3 omits defaults. Field names and numbers:
 * envoy/service/accesslog/v3/als.proto, envoy/data/accesslog/v3/accesslog.proto,
 * envoy/config/core/v3/{base,address}.proto.
 */

/** int64/uint64: a decimal string with `longs: String`; numbers and bigints are accepted too. */
export type Int64 = string | number | bigint;

export interface Timestamp {
  seconds?: Int64;
  nanos?: number;
}

export type Duration = Timestamp;

/** google.protobuf.Value; protobufjs's built-in Struct uses the JSON (camelCase) field names. */
export interface StructValue {
  nullValue?: string | number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: Struct;
  listValue?: { values?: StructValue[] };
  kind?: string;
}

export interface Struct {
  fields?: Record<string, StructValue>;
}

export interface Node {
  id?: string;
  cluster?: string;
  metadata?: Struct;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
}

export interface SocketAddress {
  protocol?: string | number;
  address?: string;
  port_value?: number;
  named_port?: string;
}

export interface Address {
  socket_address?: SocketAddress | null;
  pipe?: { path?: string; mode?: number } | null;
  envoy_internal_address?: { server_listener_name?: string; endpoint_id?: string } | null;
  /** Which of the oneof members is set (`oneofs: true`). */
  address?: string;
}

export interface CertificateProperties {
  subject_alt_name?: Array<{ uri?: string; dns?: string; san?: string }>;
  subject?: string;
  issuer?: string;
}

export interface TlsProperties {
  tls_version?: string | number;
  tls_cipher_suite?: { value?: number } | null;
  tls_sni_hostname?: string;
  local_certificate_properties?: CertificateProperties | null;
  peer_certificate_properties?: CertificateProperties | null;
  tls_session_id?: string;
  ja3_fingerprint?: string;
}

/** ResponseFlags: one bool per flag, plus `unauthorized_details` for UAEX. */
export type ResponseFlags = Record<string, boolean | { reason?: string | number } | null | undefined>;

export interface AccessLogCommon {
  sample_rate?: number;
  downstream_remote_address?: Address | null;
  downstream_local_address?: Address | null;
  tls_properties?: TlsProperties | null;
  start_time?: Timestamp | null;
  time_to_last_downstream_tx_byte?: Duration | null;
  upstream_remote_address?: Address | null;
  upstream_local_address?: Address | null;
  upstream_cluster?: string;
  response_flags?: ResponseFlags | null;
  upstream_transport_failure_reason?: string;
  route_name?: string;
  downstream_direct_remote_address?: Address | null;
  custom_tags?: Record<string, string>;
  duration?: Duration | null;
  upstream_request_attempt_count?: number;
  connection_termination_details?: string;
  stream_id?: string;
  intermediate_log_entry?: boolean;
  downstream_transport_failure_reason?: string;
  access_log_type?: string | number;
}

export interface HttpRequestProperties {
  request_method?: string | number;
  scheme?: string;
  authority?: string;
  port?: { value?: number } | null;
  path?: string;
  user_agent?: string;
  referer?: string;
  forwarded_for?: string;
  request_id?: string;
  original_path?: string;
  request_headers_bytes?: Int64;
  request_body_bytes?: Int64;
  request_headers?: Record<string, string>;
}

export interface HttpResponseProperties {
  response_code?: { value?: number } | null;
  response_headers_bytes?: Int64;
  response_body_bytes?: Int64;
  response_headers?: Record<string, string>;
  response_trailers?: Record<string, string>;
  response_code_details?: string;
}

export interface HttpAccessLogEntry {
  common_properties?: AccessLogCommon | null;
  protocol_version?: string | number;
  request?: HttpRequestProperties | null;
  response?: HttpResponseProperties | null;
}

export interface TcpAccessLogEntry {
  common_properties?: AccessLogCommon | null;
  connection_properties?: { received_bytes?: Int64; sent_bytes?: Int64 } | null;
}

export interface StreamAccessLogsMessage {
  /** Only in the first message of a stream. */
  identifier?: { node?: Node | null; log_name?: string } | null;
  http_logs?: { log_entry?: HttpAccessLogEntry[] } | null;
  tcp_logs?: { log_entry?: TcpAccessLogEntry[] } | null;
  /** Which of `http_logs` / `tcp_logs` is set (`oneofs: true`). */
  log_entries?: string;
}
