import { buildEntry, kubectlPrefixEnd, Slot, type BuildOptions, type LineResult, type RawFields } from './fields.ts';

/**
 * Keys of Istio's JSON access-log encoding (`meshConfig.accessLogEncoding: JSON`; istio/istio
 * `EnvoyJSONLogFormatIstio`), then a few a custom JSON format commonly adds.
 */
const KEYS: ReadonlyArray<readonly [key: string, slot: Slot]> = [
  ['start_time', Slot.START_TIME],
  ['route_name', Slot.ROUTE_NAME],
  ['method', Slot.METHOD],
  ['path', Slot.PATH],
  ['protocol', Slot.PROTOCOL],
  ['response_code', Slot.RESPONSE_CODE],
  ['response_flags', Slot.RESPONSE_FLAGS],
  ['response_code_details', Slot.RESPONSE_CODE_DETAILS],
  ['connection_termination_details', Slot.CONNECTION_TERMINATION_DETAILS],
  ['bytes_received', Slot.BYTES_RECEIVED],
  ['bytes_sent', Slot.BYTES_SENT],
  ['duration', Slot.DURATION],
  ['upstream_service_time', Slot.UPSTREAM_SERVICE_TIME],
  ['x_forwarded_for', Slot.X_FORWARDED_FOR],
  ['user_agent', Slot.USER_AGENT],
  ['request_id', Slot.REQUEST_ID],
  ['authority', Slot.AUTHORITY],
  ['upstream_host', Slot.UPSTREAM_HOST],
  ['upstream_cluster', Slot.UPSTREAM_CLUSTER],
  ['upstream_local_address', Slot.UPSTREAM_LOCAL_ADDRESS],
  ['downstream_local_address', Slot.DOWNSTREAM_LOCAL_ADDRESS],
  ['downstream_remote_address', Slot.DOWNSTREAM_REMOTE_ADDRESS],
  ['requested_server_name', Slot.REQUESTED_SERVER_NAME],
  ['upstream_transport_failure_reason', Slot.UPSTREAM_TRANSPORT_FAILURE_REASON],
  // Not in Istio's default JSON, but the names people give these operators in their own formats.
  ['scheme', Slot.SCHEME],
  ['traceparent', Slot.TRACEPARENT],
  ['grpc_status', Slot.GRPC_STATUS],
  ['downstream_peer_uri_san', Slot.DOWNSTREAM_PEER_URI_SAN],
  ['downstream_local_uri_san', Slot.DOWNSTREAM_LOCAL_URI_SAN],
  ['upstream_peer_uri_san', Slot.UPSTREAM_PEER_URI_SAN],
  ['downstream_tls_version', Slot.DOWNSTREAM_TLS_VERSION],
];

const NAMES: string[] = [];
for (const [key, slot] of KEYS) NAMES[slot] = key;
const BUILD: BuildOptions = { names: NAMES };
const raw: RawFields = new Array<string | undefined>(Slot.COUNT).fill(undefined);

/**
 * Parses one JSON line (optionally after a `kubectl logs --timestamps` prefix) as Istio's JSON
 * access-log encoding. Values may be typed (numbers, `null`) or strings (`"-"` is absent).
 */
export function parseIstioJsonLine(line: string): LineResult {
  const parsed = parseJsonObject(line);
  return typeof parsed === 'string' ? parsed : istioJsonToEntry(parsed);
}

/** Parses a line's JSON object, or says why it is not one. */
export function parseJsonObject(line: string): Record<string, unknown> | string {
  const start = line.charCodeAt(0) === 0x7b /* { */ ? 0 : kubectlPrefixEnd(line);
  if (line.charCodeAt(start) !== 0x7b) return 'expected a JSON object ("{…}")';
  let value: unknown;
  try {
    value = JSON.parse(start === 0 ? line : line.slice(start));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `not valid JSON: ${message.length > 120 ? `${message.slice(0, 120)}…` : message}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'expected a JSON object ("{…}")';
  return value as Record<string, unknown>;
}

/** Maps an already parsed Istio JSON access-log object to an entry. */
export function istioJsonToEntry(object: Record<string, unknown>): LineResult {
  raw.fill(undefined);
  for (let i = 0; i < KEYS.length; i++) {
    const [key, slot] = KEYS[i]!;
    const v = object[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') raw[slot] = v;
    else if (typeof v === 'number') {
      // Typed JSON renders counts and durations as numbers; buildEntry wants their decimal text.
      if (!Number.isSafeInteger(v) || v < 0) return `${key}: expected a non-negative integer, got ${v}`;
      raw[slot] = String(v);
    } else return `${key}: expected a string or a number, got ${Array.isArray(v) ? 'an array' : typeof v}`;
  }
  return buildEntry(raw, BUILD);
}
