/**
 * Envoy response flags: the short codes of `%RESPONSE_FLAGS%` (and of Istio's `response_flags` metric
 * label), the PascalCase names of `%RESPONSE_FLAGS_LONG%`, and the boolean field of the gRPC access-log
 * `ResponseFlags` message that carries each one.
 *
 * Checked against envoyproxy/envoy `source/common/stream_info/utility.h` (the short/long name table,
 * `CORE_RESPONSE_FLAGS`) and `source/extensions/access_loggers/grpc/grpc_access_log_utils.cc`
 * (`responseFlagsToAccessLogResponseFlags`, flag → ALS field). Rows are in Envoy's table order, which
 * is the order `%RESPONSE_FLAGS%` prints them in, so ALS entries get the same comma-joined string.
 */
export const RESPONSE_FLAGS: ReadonlyArray<{ code: string; longName: string; alsField?: string }> = [
  { code: 'LH', longName: 'FailedLocalHealthCheck', alsField: 'failed_local_healthcheck' },
  { code: 'UH', longName: 'NoHealthyUpstream', alsField: 'no_healthy_upstream' },
  { code: 'UT', longName: 'UpstreamRequestTimeout', alsField: 'upstream_request_timeout' },
  { code: 'LR', longName: 'LocalReset', alsField: 'local_reset' },
  { code: 'UR', longName: 'UpstreamRemoteReset', alsField: 'upstream_remote_reset' },
  { code: 'UF', longName: 'UpstreamConnectionFailure', alsField: 'upstream_connection_failure' },
  { code: 'UC', longName: 'UpstreamConnectionTermination', alsField: 'upstream_connection_termination' },
  { code: 'UO', longName: 'UpstreamOverflow', alsField: 'upstream_overflow' },
  { code: 'NR', longName: 'NoRouteFound', alsField: 'no_route_found' },
  { code: 'DI', longName: 'DelayInjected', alsField: 'delay_injected' },
  { code: 'FI', longName: 'FaultInjected', alsField: 'fault_injected' },
  { code: 'RL', longName: 'RateLimited', alsField: 'rate_limited' },
  // ALS carries this one as a message (`unauthorized_details {reason}`), not a bool.
  { code: 'UAEX', longName: 'UnauthorizedExternalService', alsField: 'unauthorized_details' },
  { code: 'RLSE', longName: 'RateLimitServiceError', alsField: 'rate_limit_service_error' },
  { code: 'DC', longName: 'DownstreamConnectionTermination', alsField: 'downstream_connection_termination' },
  { code: 'URX', longName: 'UpstreamRetryLimitExceeded', alsField: 'upstream_retry_limit_exceeded' },
  { code: 'SI', longName: 'StreamIdleTimeout', alsField: 'stream_idle_timeout' },
  { code: 'IH', longName: 'InvalidEnvoyRequestHeaders', alsField: 'invalid_envoy_request_headers' },
  { code: 'DPE', longName: 'DownstreamProtocolError', alsField: 'downstream_protocol_error' },
  { code: 'UMSDR', longName: 'UpstreamMaxStreamDurationReached', alsField: 'upstream_max_stream_duration_reached' },
  { code: 'RFCF', longName: 'ResponseFromCacheFilter', alsField: 'response_from_cache_filter' },
  { code: 'NFCF', longName: 'NoFilterConfigFound', alsField: 'no_filter_config_found' },
  { code: 'DT', longName: 'DurationTimeout', alsField: 'duration_timeout' },
  { code: 'UPE', longName: 'UpstreamProtocolError', alsField: 'upstream_protocol_error' },
  { code: 'NC', longName: 'NoClusterFound', alsField: 'no_cluster_found' },
  { code: 'OM', longName: 'OverloadManagerTerminated', alsField: 'overload_manager' },
  { code: 'DF', longName: 'DnsResolutionFailed', alsField: 'dns_resolution_failure' },
  // No ALS field exists for DropOverload (Envoy's grpc logger does not export it).
  { code: 'DO', longName: 'DropOverload' },
  { code: 'DR', longName: 'DownstreamRemoteReset', alsField: 'downstream_remote_reset' },
];

const BY_LONG_NAME = new Map(RESPONSE_FLAGS.map((f) => [f.longName, f.code]));

/** `UpstreamConnectionFailure` → `UF`; undefined for a name Envoy does not define. */
export function flagFromLongName(name: string): string | undefined {
  return BY_LONG_NAME.get(name);
}

/** [ALS field, short code] pairs in Envoy's print order. */
export const ALS_RESPONSE_FLAG_FIELDS: ReadonlyArray<readonly [field: string, code: string]> = RESPONSE_FLAGS.flatMap((f) =>
  f.alsField === undefined ? [] : [[f.alsField, f.code] as const],
);
