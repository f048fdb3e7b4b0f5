import type { AccessLogEntry } from './entry.ts';
import { kubectlPrefixEnd, parseRfc3339Nanos, parseUint64, show, type LineResult } from './fields.ts';

/**
 * What the ztunnel parser returns: an entry, a reason to refuse the line, or `null` for a well-formed
 * ztunnel line that is not a connection record (other scopes, and `connection opened`, whose
 * connection is logged again with its byte counts as `connection complete`).
 */
export type ZtunnelResult = LineResult | null;

// ztunnel's access-log fields (istio/ztunnel `src/proxy/metrics.rs`, `ConnectionResult` and
// `log_early_deny`). Anything else on the line is ignored.
const KEY_INDEX = new Map<string, number>([
  ['src.addr', 0],
  ['src.workload', 1],
  ['src.namespace', 2],
  ['src.identity', 3],
  ['dst.addr', 4],
  ['dst.hbone_addr', 5],
  ['dst.service', 6],
  ['dst.workload', 7],
  ['dst.namespace', 8],
  ['dst.identity', 9],
  ['direction', 10],
  ['bytes_sent', 11],
  ['bytes_recv', 12],
  ['duration', 13],
  ['error', 14],
]);
const enum K {
  SRC_ADDR, SRC_WORKLOAD, SRC_NAMESPACE, SRC_IDENTITY, DST_ADDR, DST_HBONE_ADDR, DST_SERVICE, DST_WORKLOAD, DST_NAMESPACE,
  DST_IDENTITY, DIRECTION, BYTES_SENT, BYTES_RECV, DURATION, ERROR, COUNT,
}
const values: Array<string | undefined> = new Array<string | undefined>(K.COUNT).fill(undefined);

const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/;
const UNIT_NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** `8ms` (ztunnel writes whole milliseconds), `1.5s`, … → nanoseconds. */
export function parseDurationNanos(s: string): bigint | undefined {
  const m = DURATION.exec(s);
  if (m === null) return undefined;
  const amount = m[1]!;
  const unit = UNIT_NANOS[m[2]!]!;
  if (!amount.includes('.') && amount.length <= 15) return BigInt(amount) * BigInt(unit);
  const nanos = Math.round(Number(amount) * unit);
  return Number.isSafeInteger(nanos) ? BigInt(nanos) : undefined;
}

/**
 * Parses one ztunnel log line, text (`<time>\t<level>\t<scope>\t<message>\tkey=value …`, values bare
 * or Rust-debug `"quoted"`) or JSON (`{"time":…,"scope":"access","message":…,"src.addr":…}`),
 * optionally after a `kubectl logs --timestamps` prefix, into a `tcp` entry.
 */
export function parseZtunnelLine(line: string): ZtunnelResult {
  const jsonStart = line.charCodeAt(0) === 0x7b ? 0 : kubectlPrefixEnd(line);
  if (line.charCodeAt(jsonStart) === 0x7b) return parseZtunnelJson(jsonStart === 0 ? line : line.slice(jsonStart));
  const t1 = line.indexOf('\t');
  const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
  const t3 = t2 < 0 ? -1 : line.indexOf('\t', t2 + 1);
  if (t3 < 0) return 'not a ztunnel log line (expected "<time>\\t<level>\\t<scope>\\t<message>\\t<fields>")';
  // `kubectl logs --timestamps` puts its own time and a space before ztunnel's.
  const space = line.lastIndexOf(' ', t1);
  const time = line.slice(space + 1, t1);
  if (line.slice(t2 + 1, t3) !== 'access') return null;
  let t4 = line.indexOf('\t', t3 + 1);
  if (t4 < 0) t4 = line.length;
  const message = line.slice(t3 + 1, t4);
  if (message === 'connection opened') return null;

  values.fill(undefined);
  let p = t4 + 1;
  const n = line.length;
  // Escapes are rare: find backslashes lazily so that a clean line is scanned once.
  let backslash = line.indexOf('\\', p);
  while (p < n) {
    let c = line.charCodeAt(p);
    if (c === 0x20 || c === 0x09) {
      p++;
      continue;
    }
    const eq = line.indexOf('=', p);
    if (eq < 0) return `expected key=value at column ${p + 1}, got ${show(line.slice(p, p + 40))}`;
    const key = line.slice(p, eq);
    if (key.includes(' ')) return `expected key=value at column ${p + 1}, got ${show(key)}`;
    p = eq + 1;
    let value: string;
    if (line.charCodeAt(p) === 0x22 /* " */) {
      const close = line.indexOf('"', p + 1);
      if (backslash >= 0 && backslash <= p) backslash = line.indexOf('\\', p + 1);
      if (close >= 0 && (backslash < 0 || backslash > close)) {
        value = line.slice(p + 1, close);
        p = close + 1;
      } else {
        const unquoted = unquote(line, p + 1);
        if (unquoted === undefined) return `${key}: unterminated or malformed quoted value`;
        value = unquoted;
        p = unquoteEnd;
      }
    } else {
      let end = p;
      while (end < n && (c = line.charCodeAt(end)) !== 0x20 && c !== 0x09) end++;
      value = line.slice(p, end);
      p = end;
    }
    const index = KEY_INDEX.get(key);
    if (index !== undefined) values[index] = value;
  }
  return buildZtunnelEntry(time, message);
}

let unquoteEnd = 0;

/** Reads a Rust-debug quoted string body from `from` (escapes \" \\ \n \t \r \0 \u{…}); sets unquoteEnd. */
function unquote(line: string, from: number): string | undefined {
  let out = '';
  let i = from;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x22) {
      unquoteEnd = i + 1;
      return out + line.slice(from, i);
    }
    if (c !== 0x5c) continue;
    out += line.slice(from, i);
    const next = line[i + 1];
    if (next === 'u' && line[i + 2] === '{') {
      const close = line.indexOf('}', i + 3);
      const code = close < 0 ? NaN : parseInt(line.slice(i + 3, close), 16);
      if (!(code >= 0 && code <= 0x10ffff)) return undefined;
      out += String.fromCodePoint(code);
      i = close;
    } else {
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : next === '0' ? '\0' : (next ?? '');
      i++;
    }
    from = i + 1;
  }
  return undefined;
}

function parseZtunnelJson(json: string): ZtunnelResult {
  let object: unknown;
  try {
    object = JSON.parse(json);
  } catch {
    return 'not valid JSON';
  }
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return 'expected a JSON object ("{…}")';
  return ztunnelJsonToEntry(object as Record<string, unknown>);
}

/** Maps an already parsed ztunnel JSON log record to an entry (see parseZtunnelLine). */
export function ztunnelJsonToEntry(object: Record<string, unknown>): ZtunnelResult {
  if (object.scope !== 'access' && object.target !== 'access') return null;
  const message = typeof object.message === 'string' ? object.message : '';
  if (message === 'connection opened') return null;
  values.fill(undefined);
  for (const [key, index] of KEY_INDEX) {
    const v = object[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') values[index] = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) values[index] = String(v);
    else return `${key}: expected a string or an integer`;
  }
  const time = object.time ?? object.timestamp;
  return buildZtunnelEntry(typeof time === 'string' ? time : '', message);
}

const present = (v: string | undefined): v is string => v !== undefined && v !== '' && v !== 'unknown';

function buildZtunnelEntry(time: string, message: string): LineResult {
  const logged = parseRfc3339Nanos(time);
  if (logged === undefined) return `time: not an RFC 3339 time: ${show(time)}`;
  const direction = values[K.DIRECTION];
  if (direction !== undefined && direction !== 'inbound' && direction !== 'outbound') {
    return `direction: expected "inbound" or "outbound", got ${show(direction)}`;
  }
  let duration: bigint | undefined;
  if (values[K.DURATION] !== undefined) {
    duration = parseDurationNanos(values[K.DURATION]);
    if (duration === undefined) return `duration: expected a duration such as "8ms", got ${show(values[K.DURATION])}`;
  }
  let sent: bigint | undefined;
  let recv: bigint | undefined;
  if (values[K.BYTES_SENT] !== undefined) {
    sent = parseUint64(values[K.BYTES_SENT]);
    if (sent === undefined) return `bytes_sent: expected a byte count, got ${show(values[K.BYTES_SENT])}`;
  }
  if (values[K.BYTES_RECV] !== undefined) {
    recv = parseUint64(values[K.BYTES_RECV]);
    if (recv === undefined) return `bytes_recv: expected a byte count, got ${show(values[K.BYTES_RECV])}`;
  }
  if (values[K.SRC_ADDR] === undefined && values[K.DST_ADDR] === undefined) return 'src.addr, dst.addr: neither is present; not a connection record';

  // "connection complete" is written when the connection closes: its start is that time minus the duration.
  const start = message === 'connection complete' && duration !== undefined ? logged - duration : logged;
  const e: AccessLogEntry = { kind: 'tcp', startTimeUnixNano: start, responseFlags: [] };
  if (duration !== undefined) e.durationNanos = duration;
  // ztunnel logs bytes from its own side of the HBONE hop (metrics.rs "unflips" the source reporter):
  // outbound sent = towards the destination, inbound sent = back to the source. Envoy's TCP
  // BYTES_RECEIVED/BYTES_SENT are from the downstream's side, i.e. request and response direction.
  const outbound = direction === 'outbound';
  const request = outbound ? sent : recv;
  const response = outbound ? recv : sent;
  if (request !== undefined) e.bytesReceived = request;
  if (response !== undefined) e.bytesSent = response;
  if (present(values[K.ERROR])) e.connectionTerminationDetails = values[K.ERROR];
  if (present(values[K.DST_ADDR])) e.upstreamHost = values[K.DST_ADDR];
  if (present(values[K.DST_HBONE_ADDR])) e.downstreamLocalAddress = values[K.DST_HBONE_ADDR];
  if (present(values[K.SRC_ADDR])) e.downstreamRemoteAddress = values[K.SRC_ADDR];
  const srcIdentity = present(values[K.SRC_IDENTITY]) ? values[K.SRC_IDENTITY] : undefined;
  const dstIdentity = present(values[K.DST_IDENTITY]) ? values[K.DST_IDENTITY] : undefined;
  // The Envoy-style SAN fields only where their Envoy meaning holds: inbound, the source is the
  // downstream mTLS peer and the destination identity is ztunnel's own certificate; outbound, the
  // destination is the upstream peer (the app's hop to ztunnel is plaintext).
  if (direction === 'inbound') {
    if (srcIdentity !== undefined) e.downstreamPeerUriSan = srcIdentity;
    if (dstIdentity !== undefined) e.downstreamLocalUriSan = dstIdentity;
    e.tls = srcIdentity !== undefined;
  } else if (outbound && dstIdentity !== undefined) {
    e.upstreamPeerUriSan = dstIdentity;
  }
  if (direction !== undefined) e.direction = direction;
  if (present(values[K.SRC_WORKLOAD])) e.sourceWorkload = values[K.SRC_WORKLOAD];
  if (present(values[K.SRC_NAMESPACE])) e.sourceNamespace = values[K.SRC_NAMESPACE];
  if (srcIdentity !== undefined) e.sourcePrincipal = srcIdentity;
  if (present(values[K.DST_WORKLOAD])) e.destinationWorkload = values[K.DST_WORKLOAD];
  if (present(values[K.DST_NAMESPACE])) e.destinationNamespace = values[K.DST_NAMESPACE];
  if (present(values[K.DST_SERVICE])) e.destinationService = values[K.DST_SERVICE];
  if (dstIdentity !== undefined) e.destinationPrincipal = dstIdentity;
  return e;
}
