import type { AccessLogEntry } from './entry.ts';
import { flagFromLongName } from './response-flags.ts';

/**
 * What a line parser returns: the entry, or a string saying why the line was refused (which field,
 * and what was wrong with it). Parsers never throw on bad input: exceptions are slow, and one bad line
 * must not cost the batch.
 */
export type LineResult = AccessLogEntry | string;

/** True when a line parser refused the line; the value is then the reason. */
export function isRejection(result: LineResult): result is string {
  return typeof result === 'string';
}

/**
 * The Envoy values Meshsight understands, one slot each. Scanners (Istio text, compiled Envoy
 * formats, Istio JSON) only cut a line into raw strings per slot; `buildEntry` converts them, so every
 * source applies the same rules.
 */
export enum Slot {
  START_TIME,
  METHOD,
  PATH,
  PROTOCOL,
  RESPONSE_CODE,
  RESPONSE_FLAGS,
  RESPONSE_FLAGS_LONG,
  RESPONSE_CODE_DETAILS,
  CONNECTION_TERMINATION_DETAILS,
  UPSTREAM_TRANSPORT_FAILURE_REASON,
  BYTES_RECEIVED,
  BYTES_SENT,
  DURATION,
  UPSTREAM_SERVICE_TIME,
  X_FORWARDED_FOR,
  USER_AGENT,
  REQUEST_ID,
  AUTHORITY,
  SCHEME,
  TRACEPARENT,
  GRPC_STATUS,
  UPSTREAM_HOST,
  UPSTREAM_CLUSTER,
  UPSTREAM_LOCAL_ADDRESS,
  DOWNSTREAM_LOCAL_ADDRESS,
  DOWNSTREAM_REMOTE_ADDRESS,
  REQUESTED_SERVER_NAME,
  ROUTE_NAME,
  DOWNSTREAM_PEER_URI_SAN,
  DOWNSTREAM_LOCAL_URI_SAN,
  UPSTREAM_PEER_URI_SAN,
  DOWNSTREAM_TLS_VERSION,
  /** Number of fixed slots; custom request headers get slots from here on. */
  COUNT,
}

/** Each slot's Envoy command operator, the name error messages use for text formats. */
export const OPERATOR_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  names[Slot.START_TIME] = 'START_TIME';
  names[Slot.METHOD] = 'REQ(:METHOD)';
  names[Slot.PATH] = 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)';
  names[Slot.PROTOCOL] = 'PROTOCOL';
  names[Slot.RESPONSE_CODE] = 'RESPONSE_CODE';
  names[Slot.RESPONSE_FLAGS] = 'RESPONSE_FLAGS';
  names[Slot.RESPONSE_FLAGS_LONG] = 'RESPONSE_FLAGS_LONG';
  names[Slot.RESPONSE_CODE_DETAILS] = 'RESPONSE_CODE_DETAILS';
  names[Slot.CONNECTION_TERMINATION_DETAILS] = 'CONNECTION_TERMINATION_DETAILS';
  names[Slot.UPSTREAM_TRANSPORT_FAILURE_REASON] = 'UPSTREAM_TRANSPORT_FAILURE_REASON';
  names[Slot.BYTES_RECEIVED] = 'BYTES_RECEIVED';
  names[Slot.BYTES_SENT] = 'BYTES_SENT';
  names[Slot.DURATION] = 'DURATION';
  names[Slot.UPSTREAM_SERVICE_TIME] = 'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)';
  names[Slot.X_FORWARDED_FOR] = 'REQ(X-FORWARDED-FOR)';
  names[Slot.USER_AGENT] = 'REQ(USER-AGENT)';
  names[Slot.REQUEST_ID] = 'REQ(X-REQUEST-ID)';
  names[Slot.AUTHORITY] = 'REQ(:AUTHORITY)';
  names[Slot.SCHEME] = 'REQ(:SCHEME)';
  names[Slot.TRACEPARENT] = 'REQ(TRACEPARENT)';
  names[Slot.GRPC_STATUS] = 'GRPC_STATUS';
  names[Slot.UPSTREAM_HOST] = 'UPSTREAM_HOST';
  names[Slot.UPSTREAM_CLUSTER] = 'UPSTREAM_CLUSTER_RAW';
  names[Slot.UPSTREAM_LOCAL_ADDRESS] = 'UPSTREAM_LOCAL_ADDRESS';
  names[Slot.DOWNSTREAM_LOCAL_ADDRESS] = 'DOWNSTREAM_LOCAL_ADDRESS';
  names[Slot.DOWNSTREAM_REMOTE_ADDRESS] = 'DOWNSTREAM_REMOTE_ADDRESS';
  names[Slot.REQUESTED_SERVER_NAME] = 'REQUESTED_SERVER_NAME';
  names[Slot.ROUTE_NAME] = 'ROUTE_NAME';
  names[Slot.DOWNSTREAM_PEER_URI_SAN] = 'DOWNSTREAM_PEER_URI_SAN';
  names[Slot.DOWNSTREAM_LOCAL_URI_SAN] = 'DOWNSTREAM_LOCAL_URI_SAN';
  names[Slot.UPSTREAM_PEER_URI_SAN] = 'UPSTREAM_PEER_URI_SAN';
  names[Slot.DOWNSTREAM_TLS_VERSION] = 'DOWNSTREAM_TLS_VERSION';
  return names;
})();

/** Raw values per slot; `undefined`, `''` and `-` all mean absent. */
export type RawFields = Array<string | undefined>;

/** Parses a START_TIME value into nanoseconds since the epoch, or undefined when malformed. */
export type TimeParser = (value: string) => bigint | undefined;

export interface BuildOptions {
  /** Display name of each slot for error messages (the operator or JSON key the source used). */
  names: readonly string[];
  /** Lower-case header name for each slot from `Slot.COUNT` on (`%REQ(X-USER-ID)%` and the like). */
  headerKeys?: readonly string[];
  parseTime?: TimeParser;
  /** Start time to use when the source has no START_TIME (a `kubectl logs --timestamps` prefix). */
  fallbackStart?: bigint;
}

const NANOS_PER_MS = 1_000_000n;

function present(v: string | undefined): v is string {
  return v !== undefined && v !== '-' && v !== '';
}

/** Turns raw slot values into an entry, or says which slot is wrong and why. */
export function buildEntry(raw: RawFields, options: BuildOptions): LineResult {
  const names = options.names;

  let start: bigint | undefined;
  const rawStart = raw[Slot.START_TIME];
  if (present(rawStart)) {
    start = (options.parseTime ?? parseRfc3339Nanos)(rawStart);
    if (start === undefined) return `${names[Slot.START_TIME]}: not a valid time: ${show(rawStart)}`;
  } else if (options.fallbackStart !== undefined) {
    start = options.fallbackStart;
  } else {
    return `${names[Slot.START_TIME]}: missing (the start time is required)`;
  }

  const method = raw[Slot.METHOD];
  const protocol = raw[Slot.PROTOCOL];
  const rawCode = raw[Slot.RESPONSE_CODE];
  // A TCP proxy logs `"- - -" 0`: no method, protocol, response, path or authority.
  const http =
    present(method) || present(protocol) || (present(rawCode) && rawCode !== '0') || present(raw[Slot.PATH]) || present(raw[Slot.AUTHORITY]);

  let flags: string[];
  const rawFlags = raw[Slot.RESPONSE_FLAGS];
  const rawLongFlags = raw[Slot.RESPONSE_FLAGS_LONG];
  if (present(rawFlags)) {
    const parsed = parseResponseFlags(rawFlags);
    if (parsed === undefined) return `${names[Slot.RESPONSE_FLAGS]}: expected comma-separated upper-case codes, got ${show(rawFlags)}`;
    flags = parsed;
  } else if (present(rawLongFlags)) {
    const parsed = parseLongResponseFlags(rawLongFlags);
    if (parsed === undefined) return `${names[Slot.RESPONSE_FLAGS_LONG]}: expected comma-separated PascalCase names, got ${show(rawLongFlags)}`;
    flags = parsed;
  } else {
    flags = [];
  }

  const e: AccessLogEntry = { kind: http ? 'http' : 'tcp', startTimeUnixNano: start, responseFlags: flags };

  if (present(raw[Slot.DURATION])) {
    const ms = parseUint(raw[Slot.DURATION]);
    if (ms < 0) return `${names[Slot.DURATION]}: expected milliseconds as an integer, got ${show(raw[Slot.DURATION])}`;
    e.durationNanos = BigInt(ms) * NANOS_PER_MS;
  }
  if (present(raw[Slot.UPSTREAM_SERVICE_TIME])) {
    const ms = parseUint(raw[Slot.UPSTREAM_SERVICE_TIME]);
    if (ms < 0) return `${names[Slot.UPSTREAM_SERVICE_TIME]}: expected milliseconds as an integer, got ${show(raw[Slot.UPSTREAM_SERVICE_TIME])}`;
    e.upstreamServiceTimeMs = ms;
  }
  if (present(method)) e.method = method;
  if (present(raw[Slot.PATH])) e.path = raw[Slot.PATH];
  if (present(raw[Slot.SCHEME])) e.scheme = raw[Slot.SCHEME];
  if (present(raw[Slot.AUTHORITY])) e.authority = raw[Slot.AUTHORITY];
  if (present(protocol)) e.protocol = protocol;
  if (present(rawCode) && http) {
    const code = parseUint(rawCode);
    if (code < 0 || code > 999) return `${names[Slot.RESPONSE_CODE]}: expected an HTTP status code, got ${show(rawCode)}`;
    e.responseCode = code;
  }
  if (present(raw[Slot.GRPC_STATUS])) {
    const status = parseGrpcStatus(raw[Slot.GRPC_STATUS]);
    if (status === undefined) return `${names[Slot.GRPC_STATUS]}: expected a gRPC status code or name, got ${show(raw[Slot.GRPC_STATUS])}`;
    e.grpcStatus = status;
  }
  if (present(raw[Slot.RESPONSE_CODE_DETAILS])) e.responseCodeDetails = raw[Slot.RESPONSE_CODE_DETAILS];
  if (present(raw[Slot.CONNECTION_TERMINATION_DETAILS])) e.connectionTerminationDetails = raw[Slot.CONNECTION_TERMINATION_DETAILS];
  if (present(raw[Slot.UPSTREAM_TRANSPORT_FAILURE_REASON])) e.upstreamTransportFailureReason = raw[Slot.UPSTREAM_TRANSPORT_FAILURE_REASON];
  if (present(raw[Slot.BYTES_RECEIVED])) {
    const n = parseUint64(raw[Slot.BYTES_RECEIVED]);
    if (n === undefined) return `${names[Slot.BYTES_RECEIVED]}: expected a byte count, got ${show(raw[Slot.BYTES_RECEIVED])}`;
    e.bytesReceived = n;
  }
  if (present(raw[Slot.BYTES_SENT])) {
    const n = parseUint64(raw[Slot.BYTES_SENT]);
    if (n === undefined) return `${names[Slot.BYTES_SENT]}: expected a byte count, got ${show(raw[Slot.BYTES_SENT])}`;
    e.bytesSent = n;
  }
  if (present(raw[Slot.UPSTREAM_CLUSTER])) e.upstreamCluster = raw[Slot.UPSTREAM_CLUSTER];
  if (present(raw[Slot.UPSTREAM_HOST])) e.upstreamHost = raw[Slot.UPSTREAM_HOST];
  if (present(raw[Slot.UPSTREAM_LOCAL_ADDRESS])) e.upstreamLocalAddress = raw[Slot.UPSTREAM_LOCAL_ADDRESS];
  if (present(raw[Slot.DOWNSTREAM_LOCAL_ADDRESS])) e.downstreamLocalAddress = raw[Slot.DOWNSTREAM_LOCAL_ADDRESS];
  if (present(raw[Slot.DOWNSTREAM_REMOTE_ADDRESS])) e.downstreamRemoteAddress = raw[Slot.DOWNSTREAM_REMOTE_ADDRESS];
  if (present(raw[Slot.DOWNSTREAM_PEER_URI_SAN])) e.downstreamPeerUriSan = raw[Slot.DOWNSTREAM_PEER_URI_SAN];
  if (present(raw[Slot.DOWNSTREAM_LOCAL_URI_SAN])) e.downstreamLocalUriSan = raw[Slot.DOWNSTREAM_LOCAL_URI_SAN];
  if (present(raw[Slot.UPSTREAM_PEER_URI_SAN])) e.upstreamPeerUriSan = raw[Slot.UPSTREAM_PEER_URI_SAN];
  if (present(raw[Slot.REQUESTED_SERVER_NAME])) e.requestedServerName = raw[Slot.REQUESTED_SERVER_NAME];
  if (present(raw[Slot.ROUTE_NAME])) e.routeName = raw[Slot.ROUTE_NAME];
  if (present(raw[Slot.X_FORWARDED_FOR])) e.xForwardedFor = raw[Slot.X_FORWARDED_FOR];
  if (present(raw[Slot.USER_AGENT])) e.userAgent = raw[Slot.USER_AGENT];
  if (present(raw[Slot.REQUEST_ID])) e.requestId = raw[Slot.REQUEST_ID];
  if (present(raw[Slot.TRACEPARENT])) e.traceparent = raw[Slot.TRACEPARENT];

  const headerKeys = options.headerKeys;
  if (headerKeys !== undefined) {
    for (let i = 0; i < headerKeys.length; i++) {
      const v = raw[Slot.COUNT + i];
      if (present(v)) (e.requestHeaders ??= {})[headerKeys[i]!] = v;
    }
  }

  // A line only says "TLS" when it logs something that exists only on TLS connections; otherwise
  // `tls` stays unknown (undefined) rather than guessing "plaintext".
  const tlsVersion = raw[Slot.DOWNSTREAM_TLS_VERSION];
  if (tlsVersion !== undefined) e.tls = present(tlsVersion);
  else if (e.downstreamPeerUriSan !== undefined || e.requestedServerName !== undefined) e.tls = true;
  return e;
}

/** Quotes a value for an error message, cut so that a reason stays short whatever the input. */
export function show(value: string | undefined): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** A non-negative decimal integer below 2^53 made only of ASCII digits (at most 15), or -1. */
export function parseUint(s: string | undefined, start = 0, end = s?.length ?? 0): number {
  if (s === undefined) return -1;
  const n = end - start;
  if (n <= 0 || n > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** A uint64 in decimal ASCII digits, or undefined. */
export function parseUint64(s: string | undefined): bigint | undefined {
  if (s === undefined) return undefined;
  if (s.length <= 15) {
    const v = parseUint(s);
    return v < 0 ? undefined : BigInt(v);
  }
  if (s.length > 20) return undefined;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return undefined;
  }
  const v = BigInt(s);
  return v <= 0xffff_ffff_ffff_ffffn ? v : undefined;
}

/** `UF,URX` → `['UF','URX']`; undefined when a code is not upper-case letters (custom flags are too). */
export function parseResponseFlags(s: string): string[] | undefined {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 44;
    if (c === 44 /* , */) {
      if (i === from) return undefined;
      out.push(s.slice(from, i));
      from = i + 1;
    } else if (!(c >= 65 && c <= 90)) {
      return undefined;
    }
  }
  return out;
}

/** `%RESPONSE_FLAGS_LONG%` (`UpstreamConnectionFailure,…`) → short codes; unknown names are refused. */
export function parseLongResponseFlags(s: string): string[] | undefined {
  const out: string[] = [];
  for (const name of s.split(',')) {
    const code = flagFromLongName(name);
    if (code === undefined) return undefined;
    out.push(code);
  }
  return out;
}

const GRPC_STATUS_BY_NAME = new Map<string, number>([
  ['OK', 0],
  ['CANCELED', 1],
  ['CANCELLED', 1],
  ['UNKNOWN', 2],
  ['INVALIDARGUMENT', 3],
  ['DEADLINEEXCEEDED', 4],
  ['NOTFOUND', 5],
  ['ALREADYEXISTS', 6],
  ['PERMISSIONDENIED', 7],
  ['RESOURCEEXHAUSTED', 8],
  ['FAILEDPRECONDITION', 9],
  ['ABORTED', 10],
  ['OUTOFRANGE', 11],
  ['UNIMPLEMENTED', 12],
  ['INTERNAL', 13],
  ['UNAVAILABLE', 14],
  ['DATALOSS', 15],
  ['UNAUTHENTICATED', 16],
]);

/**
 * A gRPC status as Envoy may print it: `%GRPC_STATUS(NUMBER)%` (`14`), `CAMEL_STRING` (`Unavailable`,
 * the default) or `SNAKE_STRING` (`UNAVAILABLE`); also the raw `grpc-status` header value.
 */
export function parseGrpcStatus(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = parseUint(s);
  if (n >= 0) return n <= 1000 ? n : undefined;
  if (s.length > 24) return undefined;
  return GRPC_STATUS_BY_NAME.get(s.toUpperCase().replaceAll('_', ''));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const d = s.charCodeAt(k) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** True when year/month/day name a real calendar day. */
export function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0);
}

/** Seconds, milliseconds-free fraction in nanoseconds → bigint nanoseconds, with one BigInt multiply. */
export function toNanos(epochSeconds: number, fractionNanos: number): bigint {
  const ms = epochSeconds * 1000 + Math.floor(fractionNanos / 1_000_000);
  const rest = fractionNanos % 1_000_000;
  const nanos = BigInt(ms) * NANOS_PER_MS;
  return rest === 0 ? nanos : nanos + BigInt(rest);
}

/**
 * RFC 3339 (`2020-11-25T21:26:18.409Z`; any fraction precision up to nanoseconds, more digits are
 * truncated; `Z`, `+hh:mm` or `+hhmm`; `T`, `t` or a space between date and time) → nanoseconds since
 * the epoch, or undefined. Hand-written because `Date.parse` allocates and drops sub-milliseconds.
 */
export function parseRfc3339Nanos(s: string, start = 0, end = s.length): bigint | undefined {
  if (end - start < 20) return undefined;
  // Lines of a batch mostly share their second: reuse the last date-and-time decoding.
  if (sameSecond(s, start)) return finishRfc3339(s, start + 19, end, lastSecondEpoch);
  const year = digitsAt(s, start, 4);
  const month = digitsAt(s, start + 5, 2);
  const day = digitsAt(s, start + 8, 2);
  const hour = digitsAt(s, start + 11, 2);
  const minute = digitsAt(s, start + 14, 2);
  const second = digitsAt(s, start + 17, 2);
  const sep = s.charCodeAt(start + 10);
  if (
    year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 ||
    s.charCodeAt(start + 4) !== 45 || s.charCodeAt(start + 7) !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) ||
    s.charCodeAt(start + 13) !== 58 || s.charCodeAt(start + 16) !== 58 ||
    !validDate(year, month, day) || hour > 23 || minute > 59 || second > 60
  ) {
    return undefined;
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  // Only a leap-second-free value can be reused as is by the next line.
  if (second < 60) {
    for (let k = 0; k < 19; k++) lastSecond[k] = s.charCodeAt(start + k);
    lastSecondEpoch = seconds;
  }
  return finishRfc3339(s, start + 19, end, seconds);
}

// The cached characters are copied, not sliced, so the cache never keeps a batch's text alive.
const lastSecond = new Uint16Array(19);
let lastSecondEpoch = 0;

// Seeded with a real value so that the all-zero initial cache can never match anything.
for (let k = 0; k < 19; k++) lastSecond[k] = '1970-01-01T00:00:00'.charCodeAt(k);

function sameSecond(s: string, start: number): boolean {
  for (let k = 18; k >= 0; k--) if (s.charCodeAt(start + k) !== lastSecond[k]) return false;
  return true;
}

/** Fraction and offset of an RFC 3339 time from `i` on, added to the local date-time's epoch seconds. */
function finishRfc3339(s: string, i: number, end: number, localSeconds: number): bigint | undefined {
  let fraction = 0;
  if (s.charCodeAt(i) === 46 /* . */) {
    i++;
    let digits = 0;
    for (; i < end; i++) {
      const d = s.charCodeAt(i) - 48;
      if (!(d >= 0 && d <= 9)) break;
      if (digits < 9) fraction = fraction * 10 + d;
      digits++;
    }
    if (digits === 0) return undefined;
    for (let k = digits; k < 9; k++) fraction *= 10;
  }
  let offset = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    i++;
  } else if (z === 43 || z === 45) {
    const oh = digitsAt(s, i + 1, 2);
    const colon = s.charCodeAt(i + 3) === 58;
    const om = digitsAt(s, i + (colon ? 4 : 3), 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
    offset = (z === 43 ? 1 : -1) * (oh * 3600 + om * 60);
    i += colon ? 6 : 5;
  } else {
    return undefined;
  }
  if (i !== end) return undefined;
  return toNanos(localSeconds - offset, fraction);
}

/**
 * Where a `kubectl logs --timestamps` prefix (an RFC 3339 time and one space) ends, or 0 when the line
 * has none.
 */
export function kubectlPrefixEnd(line: string): number {
  const c = line.charCodeAt(0);
  if (!(c >= 48 && c <= 57)) return 0;
  const sp = line.indexOf(' ', 20);
  if (sp < 0 || sp > 40) return 0;
  return parseRfc3339Nanos(line, 0, sp) === undefined ? 0 : sp + 1;
}
