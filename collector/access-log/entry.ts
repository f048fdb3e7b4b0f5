/**
 * One Envoy access-log entry, whatever it came from (gRPC ALS, Istio text or JSON lines, a custom
 * Envoy format). Every source fills what it has; absent values stay undefined, never "-".
 * `toOtlpLogRecord` turns it into the OTLP log record that travels on the bus.
 */
export interface AccessLogEntry {
  /** `http` for L7 entries, `tcp` for L4 connection entries. */
  kind: 'http' | 'tcp';
  /** Request (or connection) start, nanoseconds since the epoch. */
  startTimeUnixNano: bigint;
  /** Total duration in nanoseconds (Envoy's %DURATION%). */
  durationNanos?: bigint;
  /** X-ENVOY-UPSTREAM-SERVICE-TIME in milliseconds. */
  upstreamServiceTimeMs?: number;
  method?: string;
  /** Original path (X-ENVOY-ORIGINAL-PATH) if present, else :path. */
  path?: string;
  scheme?: string;
  authority?: string;
  /** `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`, `HTTP/3`. */
  protocol?: string;
  /** HTTP status; 0 when no response was sent (connect failure, reset). */
  responseCode?: number;
  /** gRPC status code when the call was gRPC. */
  grpcStatus?: number;
  /** Envoy response flags as short codes (`UF`, `UO`, `URX`, …), empty when none. */
  responseFlags: string[];
  responseCodeDetails?: string;
  connectionTerminationDetails?: string;
  upstreamTransportFailureReason?: string;
  bytesReceived?: bigint;
  bytesSent?: bigint;
  upstreamCluster?: string;
  upstreamHost?: string;
  upstreamLocalAddress?: string;
  downstreamLocalAddress?: string;
  downstreamRemoteAddress?: string;
  /** SPIFFE id (or DNS SAN) of the peer's certificate on the downstream connection. */
  downstreamPeerUriSan?: string;
  /** SPIFFE id of this proxy's own certificate on the downstream connection. */
  downstreamLocalUriSan?: string;
  /** SPIFFE id of the upstream peer's certificate. */
  upstreamPeerUriSan?: string;
  requestedServerName?: string;
  routeName?: string;
  xForwardedFor?: string;
  userAgent?: string;
  requestId?: string;
  /** W3C traceparent header, when logged. */
  traceparent?: string;
  /** Further logged request headers (lower-case names), such as `x-user-id`. */
  requestHeaders?: Record<string, string>;
  /** Whether the downstream connection was TLS (mTLS when a peer certificate is present). */
  tls?: boolean;

  // Both ends of an L4 connection, as Istio ambient's ztunnel logs them. A ztunnel proxies for every
  // pod on its node, so its own node identity names neither end; only these fields do. Envoy sources
  // leave them unset (their peer comes from the node identity plus the SAN fields above).
  /** Which side wrote the entry: `outbound` at the source's ztunnel, `inbound` at the destination's. */
  direction?: 'inbound' | 'outbound';
  /** ztunnel `src.workload`: the source pod name (or its canonical service when the pod is unknown). */
  sourceWorkload?: string;
  sourceNamespace?: string;
  /** SPIFFE id of the source, present only when the connection was mTLS. */
  sourcePrincipal?: string;
  /** ztunnel `dst.workload`: the destination pod name (or canonical service). */
  destinationWorkload?: string;
  destinationNamespace?: string;
  /** Destination service hostname (`reviews.bookinfo.svc.cluster.local`). */
  destinationService?: string;
  /** SPIFFE id of the destination, present only when the connection was mTLS. */
  destinationPrincipal?: string;
}

/**
 * The identity of the proxy that wrote the entries: Envoy's node and Istio's node metadata. ALS sends
 * it once per stream; for lines it comes from the sender's configuration or the line's own fields.
 */
export interface ProxyIdentity {
  nodeId?: string;
  nodeCluster?: string;
  /** Istio node metadata: NAME (pod), NAMESPACE, CLUSTER_ID, WORKLOAD_NAME, MESH_ID, … */
  podName?: string;
  namespace?: string;
  clusterId?: string;
  workloadName?: string;
  meshId?: string;
  serviceAccount?: string;
  /** Pod labels (app, version, service.istio.io/canonical-name, …). */
  labels?: Record<string, string>;
  /** `sidecar`, `router` (gateway), `waypoint`, from the node id's first part. */
  proxyType?: string;
  logName?: string;
}
