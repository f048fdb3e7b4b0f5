import { describe, expect, it } from 'vitest';
import {
  accessLogsFromMessage,
  formatAddress,
  httpEntryToAccessLog,
  identityFromNode,
  responseFlagCodes,
  tcpEntryToAccessLog,
} from '../../collector/envoy-als/decode.ts';
import {
  accessLogServiceClient,
  accessLogServiceDefinition,
  decodeStreamAccessLogsMessage,
  encodeStreamAccessLogsMessage,
  STREAM_ACCESS_LOGS_PATH,
} from '../../collector/envoy-als/protos.ts';
import type { StreamAccessLogsMessage, Struct } from '../../collector/envoy-als/types.ts';
import { RESPONSE_FLAGS } from '../../collector/access-log/response-flags.ts';

// Istio sidecar node metadata, shaped like istio/proxy testdata/client_node_metadata.json.tmpl.
const struct = (values: Record<string, string | Record<string, string>>): Struct => ({
  fields: Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? { stringValue: v } : { structValue: struct(v) }]),
  ),
});

const identifier = {
  node: {
    id: 'sidecar~10.44.1.23~sleep-7d9c5d7d8f-x2x4k.foo~foo.svc.cluster.local',
    cluster: 'sleep.foo',
    metadata: struct({
      NAME: 'sleep-7d9c5d7d8f-x2x4k',
      NAMESPACE: 'foo',
      CLUSTER_ID: 'Kubernetes',
      WORKLOAD_NAME: 'sleep',
      MESH_ID: 'cluster.local',
      SERVICE_ACCOUNT: 'sleep',
      ISTIO_VERSION: '1.24.0',
      LABELS: { app: 'sleep', 'service.istio.io/canonical-name': 'sleep', 'service.istio.io/canonical-revision': 'latest' },
    }),
  },
  log_name: 'http_envoy_accesslog',
};

const socket = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

/** Encodes with the real proto definition and decodes back, as the gRPC server will receive it. */
const wire = (message: StreamAccessLogsMessage): StreamAccessLogsMessage => decodeStreamAccessLogsMessage(encodeStreamAccessLogsMessage(message));

const httpMessage: StreamAccessLogsMessage = {
  identifier,
  http_logs: {
    log_entry: [
      {
        common_properties: {
          downstream_remote_address: socket('10.44.1.23', 46520),
          downstream_local_address: socket('10.0.45.184', 8000),
          start_time: { seconds: '1606339578', nanos: 409_000_123 },
          duration: { seconds: '1', nanos: 5_000_000 },
          upstream_remote_address: socket('2a02:cf40::4e36', 80),
          upstream_local_address: { envoy_internal_address: { server_listener_name: 'internal_client_address', endpoint_id: '' } },
          upstream_cluster: 'outbound|8000||httpbin.foo.svc.cluster.local',
          response_flags: { upstream_connection_failure: true },
          upstream_transport_failure_reason: 'delayed_connect_error:_111',
          route_name: 'default',
          tls_properties: {
            tls_version: 'TLSv1_3',
            tls_sni_hostname: 'outbound_.8000_._.httpbin.foo.svc.cluster.local',
            peer_certificate_properties: { subject_alt_name: [{ dns: 'sleep.foo' }, { uri: 'spiffe://cluster.local/ns/foo/sa/sleep' }] },
            local_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/foo/sa/httpbin' }] },
          },
        },
        protocol_version: 'HTTP2',
        request: {
          request_method: 'POST',
          scheme: 'http',
          authority: 'httpbin:8000',
          path: '/status/503',
          original_path: '/api/status/503',
          user_agent: 'grpc-go/1.60',
          forwarded_for: '203.0.113.9',
          request_id: '84961386-6d84-929d-98bd-c5aee93b5c88',
          request_body_bytes: '12',
          request_headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-user-id': 'alice' },
        },
        response: {
          response_code: { value: 503 },
          response_body_bytes: '91',
          response_code_details: 'upstream_reset_before_response_started{connection_failure}',
          response_headers: { 'x-envoy-upstream-service-time': '7' },
          response_trailers: { 'grpc-status': '14' },
        },
      },
    ],
  },
};

describe('ALS protos', () => {
  it('loads the service from the grpc-js-xds proto tree', () => {
    const definition = accessLogServiceDefinition();
    expect(definition.StreamAccessLogs?.path).toBe(STREAM_ACCESS_LOGS_PATH);
    expect(definition.StreamAccessLogs?.requestStream).toBe(true);
    expect(definition.StreamAccessLogs?.responseStream).toBe(false);
    expect(typeof accessLogServiceClient()).toBe('function');
  });

  it('round-trips a message through protobuf bytes', () => {
    const bytes = encodeStreamAccessLogsMessage(httpMessage);
    expect(bytes.length).toBeGreaterThan(300);
    const decoded = decodeStreamAccessLogsMessage(bytes);
    expect(decoded.log_entries).toBe('http_logs');
    expect(decoded.identifier?.node?.metadata?.fields?.NAME?.stringValue).toBe('sleep-7d9c5d7d8f-x2x4k');
    expect(decoded.http_logs?.log_entry?.[0]?.common_properties?.start_time).toEqual({ seconds: '1606339578', nanos: 409_000_123 });
  });

  it('refuses bytes that are not a message', () => {
    expect(() => decodeStreamAccessLogsMessage(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toThrow();
  });
});

describe('identityFromNode', () => {
  it('reads Istio node metadata and the node id', () => {
    expect(identityFromNode(wire({ identifier }).identifier?.node, 'http_envoy_accesslog')).toStrictEqual({
      nodeId: 'sidecar~10.44.1.23~sleep-7d9c5d7d8f-x2x4k.foo~foo.svc.cluster.local',
      nodeCluster: 'sleep.foo',
      podName: 'sleep-7d9c5d7d8f-x2x4k',
      namespace: 'foo',
      clusterId: 'Kubernetes',
      workloadName: 'sleep',
      meshId: 'cluster.local',
      serviceAccount: 'sleep',
      labels: { app: 'sleep', 'service.istio.io/canonical-name': 'sleep', 'service.istio.io/canonical-revision': 'latest' },
      proxyType: 'sidecar',
      logName: 'http_envoy_accesslog',
    });
  });

  it('falls back to the node id for pod and namespace (a waypoint without metadata)', () => {
    expect(identityFromNode({ id: 'waypoint~10.244.0.28~waypoint-5b7c754ccb-55jwk.bookinfo~bookinfo.svc.cluster.local' })).toStrictEqual({
      nodeId: 'waypoint~10.244.0.28~waypoint-5b7c754ccb-55jwk.bookinfo~bookinfo.svc.cluster.local',
      proxyType: 'waypoint',
      podName: 'waypoint-5b7c754ccb-55jwk',
      namespace: 'bookinfo',
    });
    expect(identityFromNode({ id: 'plain-envoy' })).toStrictEqual({ nodeId: 'plain-envoy' });
    expect(identityFromNode(undefined)).toStrictEqual({});
  });
});

describe('httpEntryToAccessLog', () => {
  it('converts every field of a decoded HTTP entry', () => {
    const entry = wire(httpMessage).http_logs!.log_entry![0]!;
    expect(httpEntryToAccessLog(entry)).toStrictEqual({
      kind: 'http',
      startTimeUnixNano: 1606339578_409_000_123n,
      responseFlags: ['UF'],
      durationNanos: 1_005_000_000n,
      upstreamServiceTimeMs: 7,
      method: 'POST',
      path: '/api/status/503',
      scheme: 'http',
      authority: 'httpbin:8000',
      protocol: 'HTTP/2',
      responseCode: 503,
      grpcStatus: 14,
      responseCodeDetails: 'upstream_reset_before_response_started{connection_failure}',
      bytesReceived: 12n,
      bytesSent: 91n,
      upstreamTransportFailureReason: 'delayed_connect_error:_111',
      upstreamCluster: 'outbound|8000||httpbin.foo.svc.cluster.local',
      upstreamHost: '[2a02:cf40::4e36]:80',
      upstreamLocalAddress: 'envoy://internal_client_address/',
      downstreamLocalAddress: '10.0.45.184:8000',
      downstreamRemoteAddress: '10.44.1.23:46520',
      downstreamPeerUriSan: 'spiffe://cluster.local/ns/foo/sa/sleep',
      downstreamLocalUriSan: 'spiffe://cluster.local/ns/foo/sa/httpbin',
      requestedServerName: 'outbound_.8000_._.httpbin.foo.svc.cluster.local',
      routeName: 'default',
      tls: true,
      xForwardedFor: '203.0.113.9',
      userAgent: 'grpc-go/1.60',
      requestId: '84961386-6d84-929d-98bd-c5aee93b5c88',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      requestHeaders: { 'x-user-id': 'alice' },
    });
  });

  it('reads a minimal entry the way text logs print it: code 0, zero bytes, no TLS', () => {
    const decoded = wire({ http_logs: { log_entry: [{ common_properties: { start_time: { seconds: '10' } }, request: {}, response: {} }] } });
    expect(httpEntryToAccessLog(decoded.http_logs!.log_entry![0]!)).toStrictEqual({
      kind: 'http',
      startTimeUnixNano: 10_000_000_000n,
      responseFlags: [],
      responseCode: 0,
      bytesReceived: 0n,
      bytesSent: 0n,
      tls: false,
    });
  });

  it('takes the gRPC status from headers for trailers-only responses, and the old duration field', () => {
    const decoded = wire({
      http_logs: {
        log_entry: [
          {
            common_properties: { start_time: { seconds: '1' }, time_to_last_downstream_tx_byte: { nanos: 2_500_000 } },
            protocol_version: 'HTTP11',
            response: { response_code: { value: 200 }, response_headers: { 'grpc-status': '5' } },
          },
        ],
      },
    });
    expect(httpEntryToAccessLog(decoded.http_logs!.log_entry![0]!)).toMatchObject({ grpcStatus: 5, durationNanos: 2_500_000n, protocol: 'HTTP/1.1' });
  });
});

describe('tcpEntryToAccessLog', () => {
  it('converts a decoded TCP entry', () => {
    const message = wire({
      identifier,
      tcp_logs: {
        log_entry: [
          {
            common_properties: {
              start_time: { seconds: '1712917064', nanos: 78_629_000 },
              duration: { nanos: 2_000_000 },
              downstream_remote_address: socket('10.244.0.16', 52008),
              downstream_local_address: socket('10.96.0.10', 3306),
              upstream_remote_address: socket('10.244.0.14', 3306),
              upstream_cluster: 'outbound|3306||mysqldb.travel-agency.svc.cluster.local',
              response_flags: { no_route_found: true, upstream_retry_limit_exceeded: true, unauthorized_details: { reason: 'EXTERNAL_SERVICE' } },
              connection_termination_details: 'rbac_access_denied_matched_policy[none]',
            },
            connection_properties: { received_bytes: '200', sent_bytes: '9007199254740993' },
          },
        ],
      },
    });
    expect(message.log_entries).toBe('tcp_logs');
    expect(tcpEntryToAccessLog(message.tcp_logs!.log_entry![0]!)).toStrictEqual({
      kind: 'tcp',
      startTimeUnixNano: 1712917064_078_629_000n,
      responseFlags: ['NR', 'UAEX', 'URX'],
      durationNanos: 2_000_000n,
      // uint64 above 2^53 survives: proto-loader gives a string, the converter a bigint.
      bytesReceived: 200n,
      bytesSent: 9007199254740993n,
      connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]',
      upstreamCluster: 'outbound|3306||mysqldb.travel-agency.svc.cluster.local',
      upstreamHost: '10.244.0.14:3306',
      downstreamLocalAddress: '10.96.0.10:3306',
      downstreamRemoteAddress: '10.244.0.16:52008',
      tls: false,
    });
    const { identity, entries } = accessLogsFromMessage(message);
    expect(identity?.podName).toBe('sleep-7d9c5d7d8f-x2x4k');
    expect(entries).toHaveLength(1);
    expect(accessLogsFromMessage(wire({ tcp_logs: { log_entry: [] } }))).toStrictEqual({ entries: [] });
  });
});

describe('response flags', () => {
  it('maps every ALS boolean to its short code, in the order %RESPONSE_FLAGS% prints', () => {
    const all = Object.fromEntries(RESPONSE_FLAGS.filter((f) => f.alsField).map((f) => [f.alsField!, f.alsField === 'unauthorized_details' ? { reason: 'EXTERNAL_SERVICE' } : true]));
    const decoded = wire({ http_logs: { log_entry: [{ common_properties: { response_flags: all } }] } });
    expect(responseFlagCodes(decoded.http_logs!.log_entry![0]!.common_properties!.response_flags)).toEqual(
      'LH,UH,UT,LR,UR,UF,UC,UO,NR,DI,FI,RL,UAEX,RLSE,DC,URX,SI,IH,DPE,UMSDR,RFCF,NFCF,DT,UPE,NC,OM,DF,DR'.split(','),
    );
    expect(responseFlagCodes({ upstream_connection_failure: true })).toEqual(['UF']);
    expect(responseFlagCodes({ upstream_overflow: false })).toEqual([]);
  });
});

describe('formatAddress', () => {
  it.each([
    [socket('10.0.0.1', 80), '10.0.0.1:80'],
    [socket('::1', 15006), '[::1]:15006'],
    [{ socket_address: { address: '10.0.0.1', named_port: 'http' } }, '10.0.0.1:http'],
    [{ envoy_internal_address: { server_listener_name: 'connect_originate', endpoint_id: '10.244.0.32:9080' } }, 'envoy://connect_originate/10.244.0.32:9080'],
    [{ pipe: { path: '/var/run/envoy.sock' } }, '/var/run/envoy.sock'],
    [{}, undefined],
  ])('%j → %s', (address, text) => {
    expect(formatAddress(address)).toBe(text);
  });
});
