import type { AccessLogEntry, ProxyIdentity } from '../access-log/entry.ts';
import { parseGrpcStatus } from '../access-log/fields.ts';
import { ALS_RESPONSE_FLAG_FIELDS } from '../access-log/response-flags.ts';
import type {
  AccessLogCommon,
  Address,
  CertificateProperties,
  HttpAccessLogEntry,
  Int64,
  Node,
  ResponseFlags,
  StreamAccessLogsMessage,
  Struct,
  StructValue,
  TcpAccessLogEntry,
  Timestamp,
  TlsProperties,
} from './types.ts';

const NANOS_PER_SECOND = 1_000_000_000n;

/**
 * The proxy identity from the Node of a stream's first message: Envoy's id and cluster, Istio's node
 * metadata (`NAME`, `NAMESPACE`, `CLUSTER_ID`, `WORKLOAD_NAME`, `MESH_ID`, `SERVICE_ACCOUNT`, `LABELS`),
 * and the proxy type from an Istio node id (`<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`), which
 * also gives the pod and namespace when the metadata lacks them.
 */
export function identityFromNode(node: Node | null | undefined, logName?: string): ProxyIdentity {
  const identity: ProxyIdentity = {};
  if (node?.id) identity.nodeId = node.id;
  if (node?.cluster) identity.nodeCluster = node.cluster;
  const fields = node?.metadata?.fields;
  if (fields !== undefined) {
    const set = (key: keyof ProxyIdentity, value: string | undefined): void => {
      if (value) (identity as Record<string, unknown>)[key] = value;
    };
    set('podName', stringOf(fields.NAME));
    set('namespace', stringOf(fields.NAMESPACE));
    set('clusterId', stringOf(fields.CLUSTER_ID));
    set('workloadName', stringOf(fields.WORKLOAD_NAME));
    set('meshId', stringOf(fields.MESH_ID));
    set('serviceAccount', stringOf(fields.SERVICE_ACCOUNT));
    const labels = structOf(fields.LABELS);
    if (labels !== undefined) {
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(labels.fields ?? {})) {
        const s = stringOf(value);
        if (s !== undefined) out[key] = s;
      }
      if (Object.keys(out).length > 0) identity.labels = out;
    }
  }
  const parts = node?.id?.split('~');
  if (parts?.length === 4 && parts[0]) {
    identity.proxyType = parts[0];
    const namespace = parts[3]!.split('.')[0];
    if (namespace && identity.namespace === undefined) identity.namespace = namespace;
    const pod = parts[2]!;
    if (identity.podName === undefined && pod) {
      identity.podName = namespace && pod.endsWith(`.${namespace}`) ? pod.slice(0, -namespace.length - 1) : pod;
    }
  }
  if (logName) identity.logName = logName;
  return identity;
}

// google.protobuf.Value as protobufjs's built-in Struct gives it (camelCase), or snake_case when a
// Struct was loaded from a .proto with keepCase.
function stringOf(value: StructValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = value.stringValue ?? (value as { string_value?: string }).string_value;
  return typeof s === 'string' ? s : undefined;
}

function structOf(value: StructValue | undefined): Struct | undefined {
  if (value === undefined || value === null) return undefined;
  return value.structValue ?? (value as { struct_value?: Struct }).struct_value ?? undefined;
}

/** int64/uint64 as proto-loader gives it (decimal string with `longs: String`) → bigint. */
export function int64(value: Int64 | undefined | null): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : undefined;
  try {
    return BigInt(String(value));
  } catch {
    return undefined;
  }
}

/** google.protobuf.Timestamp or Duration → nanoseconds. */
export function protoTimeNanos(value: Timestamp | null | undefined): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  return (int64(value.seconds) ?? 0n) * NANOS_PER_SECOND + BigInt(value.nanos ?? 0);
}

/**
 * An Envoy Address the way Envoy prints it in text logs: `ip:port` (IPv6 in brackets),
 * `envoy://<listener>/<endpoint id>` for internal addresses (waypoints), the path for a pipe.
 */
export function formatAddress(address: Address | null | undefined): string | undefined {
  if (address === undefined || address === null) return undefined;
  const socket = address.socket_address;
  if (socket) {
    const host = socket.address ?? '';
    const port = socket.named_port ?? String(socket.port_value ?? 0);
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }
  const internal = address.envoy_internal_address;
  if (internal) return `envoy://${internal.server_listener_name ?? ''}/${internal.endpoint_id ?? ''}`;
  if (address.pipe) return address.pipe.path;
  return undefined;
}

/** ResponseFlags (a struct of booleans) → the short codes `%RESPONSE_FLAGS%` prints, in its order. */
export function responseFlagCodes(flags: ResponseFlags | null | undefined): string[] {
  const codes: string[] = [];
  if (!flags) return codes;
  for (const [field, code] of ALS_RESPONSE_FLAG_FIELDS) {
    const value = flags[field];
    // unauthorized_details is a message: its presence is the flag.
    if (value === true || (field === 'unauthorized_details' && typeof value === 'object' && value !== null)) codes.push(code);
  }
  return codes;
}

const PROTOCOLS: Record<string, string> = { HTTP10: 'HTTP/1.0', HTTP11: 'HTTP/1.1', HTTP2: 'HTTP/2', HTTP3: 'HTTP/3' };
const PROTOCOL_NUMBERS = ['', 'HTTP10', 'HTTP11', 'HTTP2', 'HTTP3'];
const METHODS = ['METHOD_UNSPECIFIED', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
const TLS_UNSPECIFIED = new Set<string | number>(['VERSION_UNSPECIFIED', 0]);

// Request headers that have their own AccessLogEntry field, so stay out of requestHeaders.
const DEDICATED_HEADERS = new Set([':method', ':path', ':authority', ':scheme', 'host', 'user-agent', 'x-request-id', 'x-forwarded-for', 'x-envoy-original-path', 'traceparent']);

function firstUriSan(certificate: CertificateProperties | null | undefined): string | undefined {
  for (const san of certificate?.subject_alt_name ?? []) if (san.uri) return san.uri;
  return undefined;
}

function hasCertificate(certificate: CertificateProperties | null | undefined): boolean {
  return !!certificate && ((certificate.subject_alt_name?.length ?? 0) > 0 || !!certificate.subject);
}

/** Options for the entry converters. */
export interface ConvertOptions {
  /** Start time to use when an entry has none (Envoy always sends one); default 0. */
  fallbackStartNanos?: bigint;
}

function commonEntry(kind: 'http' | 'tcp', c: AccessLogCommon, options: ConvertOptions | undefined): AccessLogEntry {
  const e: AccessLogEntry = {
    kind,
    startTimeUnixNano: protoTimeNanos(c.start_time) ?? options?.fallbackStartNanos ?? 0n,
    responseFlags: responseFlagCodes(c.response_flags),
  };
  // `duration` is newer; older Envoys only sent the time to the last byte sent downstream.
  const duration = protoTimeNanos(c.duration ?? c.time_to_last_downstream_tx_byte);
  if (duration !== undefined) e.durationNanos = duration;
  return e;
}

function commonTail(e: AccessLogEntry, c: AccessLogCommon): void {
  if (c.connection_termination_details) e.connectionTerminationDetails = c.connection_termination_details;
  if (c.upstream_transport_failure_reason) e.upstreamTransportFailureReason = c.upstream_transport_failure_reason;
  if (c.upstream_cluster) e.upstreamCluster = c.upstream_cluster;
  const upstreamHost = formatAddress(c.upstream_remote_address);
  if (upstreamHost !== undefined) e.upstreamHost = upstreamHost;
  const upstreamLocal = formatAddress(c.upstream_local_address);
  if (upstreamLocal !== undefined) e.upstreamLocalAddress = upstreamLocal;
  const downstreamLocal = formatAddress(c.downstream_local_address);
  if (downstreamLocal !== undefined) e.downstreamLocalAddress = downstreamLocal;
  const downstreamRemote = formatAddress(c.downstream_remote_address);
  if (downstreamRemote !== undefined) e.downstreamRemoteAddress = downstreamRemote;
  const tls: TlsProperties | null | undefined = c.tls_properties;
  const peer = firstUriSan(tls?.peer_certificate_properties);
  if (peer !== undefined) e.downstreamPeerUriSan = peer;
  const local = firstUriSan(tls?.local_certificate_properties);
  if (local !== undefined) e.downstreamLocalUriSan = local;
  if (tls?.tls_sni_hostname) e.requestedServerName = tls.tls_sni_hostname;
  if (c.route_name) e.routeName = c.route_name;
  // Envoy fills tls_properties for SNI alone; the version and certificates exist only on TLS.
  e.tls =
    (tls?.tls_version !== undefined && !TLS_UNSPECIFIED.has(tls.tls_version)) ||
    hasCertificate(tls?.peer_certificate_properties) ||
    hasCertificate(tls?.local_certificate_properties);
}

// Envoy keys logged headers by their lower-case names (Http::LowerCaseString).
function header(headers: Record<string, string> | undefined, name: string): string | undefined {
  return headers === undefined ? undefined : headers[name];
}

/** An HTTPAccessLogEntry → AccessLogEntry (kind `http`). */
export function httpEntryToAccessLog(entry: HttpAccessLogEntry, options?: ConvertOptions): AccessLogEntry {
  const c = entry.common_properties ?? {};
  const request = entry.request ?? {};
  const response = entry.response ?? {};
  const e = commonEntry('http', c, options);

  const responseHeaders = response.response_headers;
  const serviceTime = header(responseHeaders, 'x-envoy-upstream-service-time');
  if (serviceTime !== undefined && /^\d{1,15}$/.test(serviceTime)) e.upstreamServiceTimeMs = Number(serviceTime);
  const method = typeof request.request_method === 'number' ? METHODS[request.request_method] : request.request_method;
  if (method && method !== 'METHOD_UNSPECIFIED') e.method = method;
  const path = request.original_path || request.path;
  if (path) e.path = path;
  if (request.scheme) e.scheme = request.scheme;
  if (request.authority) e.authority = request.authority;
  const version = typeof entry.protocol_version === 'number' ? PROTOCOL_NUMBERS[entry.protocol_version] : entry.protocol_version;
  const protocol = version === undefined ? undefined : PROTOCOLS[version];
  if (protocol !== undefined) e.protocol = protocol;
  // Envoy omits response_code when no response started; text logs print 0 for that.
  e.responseCode = response.response_code?.value ?? 0;
  const grpcStatus = parseGrpcStatus(header(response.response_trailers, 'grpc-status') ?? header(responseHeaders, 'grpc-status'));
  if (grpcStatus !== undefined) e.grpcStatus = grpcStatus;
  if (response.response_code_details) e.responseCodeDetails = response.response_code_details;
  // proto3 drops zeros: an absent body byte count is 0, as %BYTES_RECEIVED%/%BYTES_SENT% print it.
  e.bytesReceived = int64(request.request_body_bytes) ?? 0n;
  e.bytesSent = int64(response.response_body_bytes) ?? 0n;
  commonTail(e, c);
  if (request.forwarded_for) e.xForwardedFor = request.forwarded_for;
  if (request.user_agent) e.userAgent = request.user_agent;
  if (request.request_id) e.requestId = request.request_id;
  const headers = request.request_headers;
  if (headers !== undefined) {
    for (const [rawName, value] of Object.entries(headers)) {
      const name = rawName.toLowerCase();
      if (name === 'traceparent') e.traceparent = value;
      else if (name === 'user-agent') e.userAgent ??= value;
      else if (name === 'x-request-id') e.requestId ??= value;
      else if (name === 'x-forwarded-for') e.xForwardedFor ??= value;
      else if (!DEDICATED_HEADERS.has(name)) (e.requestHeaders ??= {})[name] = value;
    }
  }
  return e;
}

/** A TCPAccessLogEntry → AccessLogEntry (kind `tcp`; bytes from connection_properties). */
export function tcpEntryToAccessLog(entry: TcpAccessLogEntry, options?: ConvertOptions): AccessLogEntry {
  const c = entry.common_properties ?? {};
  const e = commonEntry('tcp', c, options);
  e.bytesReceived = int64(entry.connection_properties?.received_bytes) ?? 0n;
  e.bytesSent = int64(entry.connection_properties?.sent_bytes) ?? 0n;
  commonTail(e, c);
  return e;
}

/**
 * Converts one StreamAccessLogsMessage. `identity` is present only for the first message of a stream
 * (Envoy sends the Node once); the caller keeps it for the stream's later messages.
 */
export function accessLogsFromMessage(
  message: StreamAccessLogsMessage,
  options?: ConvertOptions,
): { identity?: ProxyIdentity; entries: AccessLogEntry[] } {
  const entries: AccessLogEntry[] = [];
  for (const entry of message.http_logs?.log_entry ?? []) entries.push(httpEntryToAccessLog(entry, options));
  for (const entry of message.tcp_logs?.log_entry ?? []) entries.push(tcpEntryToAccessLog(entry, options));
  const identifier = message.identifier;
  return identifier ? { identity: identityFromNode(identifier.node, identifier.log_name), entries } : { entries };
}
