import {
  buildEntry,
  daysFromCivil,
  kubectlPrefixEnd,
  OPERATOR_NAMES,
  parseRfc3339Nanos,
  Slot,
  toNanos,
  validDate,
  type BuildOptions,
  type LineResult,
  type RawFields,
  type TimeParser,
} from './fields.ts';

/** A format string that cannot be compiled; `position` is the 0-based offset in the format. */
export class EnvoyFormatError extends Error {
  override readonly name = 'EnvoyFormatError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/** An Envoy format string compiled once into a line parser. */
export interface CompiledEnvoyFormat {
  /** The format as given (one trailing newline removed). */
  readonly format: string;
  /** The command operators in order, as written (`%REQ(:METHOD)%`, …). */
  readonly operators: readonly string[];
  /** Parses one line (no newline); returns the entry or the reason the line was refused. */
  parse(line: string): LineResult;
}

/** Where an operator's value goes: a slot, a logged request header, or nowhere (known but unused). */
type Target = { slot: Slot; parseTime?: TimeParser } | { header: string } | { ignore: true };

// Operators Envoy documents whose values AccessLogEntry has no field for: accepted and skipped.
const IGNORED = new Set([
  'BYTES_RETRANSMITTED', 'PACKETS_RETRANSMITTED', 'REQUEST_HEADERS_BYTES', 'RESPONSE_HEADERS_BYTES', 'RESPONSE_TRAILERS_BYTES',
  'UPSTREAM_WIRE_BYTES_SENT', 'UPSTREAM_WIRE_BYTES_RECEIVED', 'UPSTREAM_HEADER_BYTES_SENT', 'UPSTREAM_HEADER_BYTES_RECEIVED',
  'DOWNSTREAM_WIRE_BYTES_SENT', 'DOWNSTREAM_WIRE_BYTES_RECEIVED', 'DOWNSTREAM_HEADER_BYTES_SENT', 'DOWNSTREAM_HEADER_BYTES_RECEIVED',
  'UPSTREAM_PROTOCOL', 'UPSTREAM_REQUEST_ATTEMPT_COUNT', 'REQUEST_DURATION', 'REQUEST_TX_DURATION', 'RESPONSE_DURATION',
  'RESPONSE_TX_DURATION', 'DOWNSTREAM_HANDSHAKE_DURATION', 'ROUNDTRIP_DURATION', 'UPSTREAM_CONNECTION_POOL_READY_DURATION',
  'COMMON_DURATION', 'CUSTOM_FLAGS', 'VIRTUAL_CLUSTER_NAME', 'UPSTREAM_HOST_NAME', 'UPSTREAM_HOST_NAME_WITHOUT_PORT',
  'UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT', 'UPSTREAM_LOCAL_PORT', 'UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', 'UPSTREAM_REMOTE_PORT',
  'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', 'DOWNSTREAM_REMOTE_PORT', 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS',
  'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT', 'DOWNSTREAM_DIRECT_REMOTE_PORT', 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_LOCAL_PORT', 'DOWNSTREAM_DIRECT_LOCAL_ADDRESS', 'DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_DIRECT_LOCAL_PORT', 'DOWNSTREAM_TRANSPORT_FAILURE_REASON', 'CONNECTION_ID', 'UPSTREAM_CONNECTION_ID', 'STREAM_ID',
  'UNIQUE_ID', 'TRACE_ID', 'ACCESS_LOG_TYPE', 'HOSTNAME', 'LOCAL_REPLY_BODY', 'FILTER_CHAIN_NAME', 'TLS_JA3_FINGERPRINT',
  'TLS_JA4_FINGERPRINT', 'DOWNSTREAM_LOCAL_DNS_SAN', 'DOWNSTREAM_LOCAL_IP_SAN', 'DOWNSTREAM_LOCAL_EMAIL_SAN',
  'DOWNSTREAM_LOCAL_OTHERNAME_SAN', 'DOWNSTREAM_PEER_DNS_SAN', 'DOWNSTREAM_PEER_IP_SAN', 'DOWNSTREAM_PEER_EMAIL_SAN',
  'DOWNSTREAM_PEER_OTHERNAME_SAN', 'DOWNSTREAM_LOCAL_SUBJECT', 'DOWNSTREAM_PEER_SUBJECT', 'DOWNSTREAM_PEER_ISSUER',
  'DOWNSTREAM_TLS_SESSION_ID', 'DOWNSTREAM_TLS_CIPHER', 'DOWNSTREAM_PEER_FINGERPRINT_256', 'DOWNSTREAM_PEER_FINGERPRINT_1',
  'DOWNSTREAM_PEER_SERIAL', 'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_256', 'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_1',
  'DOWNSTREAM_PEER_CHAIN_SERIALS', 'DOWNSTREAM_PEER_CERT', 'DOWNSTREAM_PEER_CERT_V_START', 'DOWNSTREAM_PEER_CERT_V_END',
  'UPSTREAM_LOCAL_URI_SAN', 'UPSTREAM_LOCAL_DNS_SAN', 'UPSTREAM_LOCAL_IP_SAN', 'UPSTREAM_LOCAL_SUBJECT', 'UPSTREAM_PEER_DNS_SAN',
  'UPSTREAM_PEER_IP_SAN', 'UPSTREAM_PEER_SUBJECT', 'UPSTREAM_PEER_ISSUER', 'UPSTREAM_TLS_SESSION_ID', 'UPSTREAM_TLS_CIPHER',
  'UPSTREAM_TLS_VERSION', 'UPSTREAM_PEER_CERT', 'UPSTREAM_PEER_CERT_V_START', 'UPSTREAM_PEER_CERT_V_END', 'EMIT_TIME',
  'EMIT_TIME_LOCAL', 'DYNAMIC_METADATA', 'CLUSTER_METADATA', 'UPSTREAM_METADATA', 'METADATA', 'FILTER_STATE',
  'UPSTREAM_FILTER_STATE', 'ENVIRONMENT', 'CEL', 'QUERY_PARAM', 'DOWNSTREAM_DETECTED_CLOSE_TYPE', 'UPSTREAM_DETECTED_CLOSE_TYPE',
]);

// Operators that fill a slot and take no argument.
const DIRECT = new Map<string, Slot>([
  ['PROTOCOL', Slot.PROTOCOL],
  ['RESPONSE_CODE', Slot.RESPONSE_CODE],
  ['RESPONSE_FLAGS', Slot.RESPONSE_FLAGS],
  ['RESPONSE_FLAGS_LONG', Slot.RESPONSE_FLAGS_LONG],
  ['RESPONSE_CODE_DETAILS', Slot.RESPONSE_CODE_DETAILS],
  ['CONNECTION_TERMINATION_DETAILS', Slot.CONNECTION_TERMINATION_DETAILS],
  ['UPSTREAM_TRANSPORT_FAILURE_REASON', Slot.UPSTREAM_TRANSPORT_FAILURE_REASON],
  ['BYTES_RECEIVED', Slot.BYTES_RECEIVED],
  ['BYTES_SENT', Slot.BYTES_SENT],
  ['DURATION', Slot.DURATION],
  ['UPSTREAM_HOST', Slot.UPSTREAM_HOST],
  ['UPSTREAM_REMOTE_ADDRESS', Slot.UPSTREAM_HOST],
  // Both fill upstreamCluster; UPSTREAM_CLUSTER prints alt_stat_name when the cluster has one.
  ['UPSTREAM_CLUSTER', Slot.UPSTREAM_CLUSTER],
  ['UPSTREAM_CLUSTER_RAW', Slot.UPSTREAM_CLUSTER],
  ['UPSTREAM_LOCAL_ADDRESS', Slot.UPSTREAM_LOCAL_ADDRESS],
  ['DOWNSTREAM_LOCAL_ADDRESS', Slot.DOWNSTREAM_LOCAL_ADDRESS],
  ['DOWNSTREAM_REMOTE_ADDRESS', Slot.DOWNSTREAM_REMOTE_ADDRESS],
  ['REQUESTED_SERVER_NAME', Slot.REQUESTED_SERVER_NAME],
  ['ROUTE_NAME', Slot.ROUTE_NAME],
  ['DOWNSTREAM_PEER_URI_SAN', Slot.DOWNSTREAM_PEER_URI_SAN],
  ['DOWNSTREAM_LOCAL_URI_SAN', Slot.DOWNSTREAM_LOCAL_URI_SAN],
  ['UPSTREAM_PEER_URI_SAN', Slot.UPSTREAM_PEER_URI_SAN],
  ['DOWNSTREAM_TLS_VERSION', Slot.DOWNSTREAM_TLS_VERSION],
  ['GRPC_STATUS_NUMBER', Slot.GRPC_STATUS],
]);

const REQUEST_HEADER_SLOTS = new Map<string, Slot>([
  [':method', Slot.METHOD],
  [':path', Slot.PATH],
  ['x-envoy-original-path', Slot.PATH],
  [':authority', Slot.AUTHORITY],
  ['host', Slot.AUTHORITY],
  [':scheme', Slot.SCHEME],
  ['user-agent', Slot.USER_AGENT],
  ['x-request-id', Slot.REQUEST_ID],
  ['x-forwarded-for', Slot.X_FORWARDED_FOR],
  ['traceparent', Slot.TRACEPARENT],
]);

// `%NAME%`, `%NAME(arg)%`, `%NAME(arg):max_length%`: Envoy's own command syntax.
const COMMAND = /%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::(\d+))?%/y;

/**
 * Compiles an Envoy access-log format string (the `format` of a text access log) into a parser for
 * the lines it produces. Literal text between operators becomes the separators the parser cuts at, so
 * two operators must never touch. A trailing newline is dropped. `%REQ(<header>)%` of any header not
 * modelled by AccessLogEntry goes to `requestHeaders` (lower-case name).
 *
 * Throws EnvoyFormatError for an unknown or malformed operator (naming it and its 0-based position)
 * and for formats no parser could split (adjacent operators, several lines).
 */
export function compileEnvoyFormat(format: string): CompiledEnvoyFormat {
  const text = format.endsWith('\n') ? format.slice(0, -1) : format;
  const newline = text.search(/[\r\n]/);
  if (newline >= 0) throw new EnvoyFormatError(`access-log format spans several lines (newline at position ${newline}); only one-line formats can be parsed`, newline);

  // literals[i] precedes operator i; the last one follows the last operator.
  const literals: string[] = [];
  let literal = '';
  const operators: string[] = [];
  const targets: Target[] = [];
  for (let pos = 0; pos < text.length; ) {
    if (text.charCodeAt(pos) !== 37 /* % */) {
      literal += text[pos];
      pos++;
      continue;
    }
    COMMAND.lastIndex = pos;
    const m = COMMAND.exec(text);
    if (m === null) {
      if (text.charCodeAt(pos + 1) === 37) {
        literal += '%';
        pos += 2;
        continue;
      }
      const snippet = text.slice(pos, pos + 40);
      throw new EnvoyFormatError(
        `malformed command operator at position ${pos} of the access-log format: ${JSON.stringify(snippet)}; operators look like %NAME%, %NAME(arg)% or %NAME(arg):length%`,
        pos,
      );
    }
    const [op, name, arg] = m as unknown as [string, string, string | undefined];
    if (operators.length > 0 && literal === '') {
      throw new EnvoyFormatError(
        `command operators ${operators[operators.length - 1]} and ${op} at position ${pos} are not separated by any text, so their values cannot be told apart`,
        pos,
      );
    }
    targets.push(resolve(name, arg, pos, op));
    operators.push(op);
    literals.push(literal);
    literal = '';
    pos += op.length;
  }
  literals.push(literal);
  if (operators.length === 0) throw new EnvoyFormatError('access-log format has no command operators, so its lines carry no data', 0);
  return new Compiled(format, operators, literals, targets);
}

function resolve(name: string, arg: string | undefined, pos: number, op: string): Target {
  const noArg = (target: Target): Target => {
    if (arg !== undefined) throw new EnvoyFormatError(`command operator ${op} at position ${pos} takes no argument`, pos);
    return target;
  };
  const needArg = (what: string): string => {
    if (arg === undefined || arg === '') throw new EnvoyFormatError(`command operator ${op} at position ${pos} needs ${what}, e.g. %${name}(X-REQUEST-ID)%`, pos);
    return arg;
  };
  const direct = DIRECT.get(name);
  if (direct !== undefined) return noArg({ slot: direct });
  switch (name) {
    case 'START_TIME':
    case 'START_TIME_LOCAL':
      return arg === undefined || arg === '' ? { slot: Slot.START_TIME } : { slot: Slot.START_TIME, parseTime: compileStrftime(arg, pos) };
    case 'GRPC_STATUS':
      if (arg !== undefined && !['CAMEL_STRING', 'SNAKE_STRING', 'NUMBER'].includes(arg)) {
        throw new EnvoyFormatError(`command operator ${op} at position ${pos}: the argument must be CAMEL_STRING, SNAKE_STRING or NUMBER`, pos);
      }
      return { slot: Slot.GRPC_STATUS };
    case 'PATH':
      return { slot: Slot.PATH };
    case 'REQ':
    case 'REQ_WITHOUT_QUERY': {
      const [main = '', alternative] = needArg('a header name').toLowerCase().split('?');
      const slot = REQUEST_HEADER_SLOTS.get(main) ?? (alternative === undefined ? undefined : REQUEST_HEADER_SLOTS.get(alternative));
      if (slot !== undefined) return { slot };
      return name === 'REQ' ? { header: main } : { ignore: true };
    }
    case 'RESP': {
      const header = needArg('a header name').toLowerCase().split('?')[0];
      if (header === 'x-envoy-upstream-service-time') return { slot: Slot.UPSTREAM_SERVICE_TIME };
      if (header === 'grpc-status') return { slot: Slot.GRPC_STATUS };
      return { ignore: true };
    }
    case 'TRAILER':
      return needArg('a header name').toLowerCase().split('?')[0] === 'grpc-status' ? { slot: Slot.GRPC_STATUS } : { ignore: true };
  }
  if (IGNORED.has(name)) return { ignore: true };
  throw new EnvoyFormatError(`unknown command operator ${op} at position ${pos} of the access-log format`, pos);
}

class Compiled implements CompiledEnvoyFormat {
  readonly format: string;
  readonly operators: readonly string[];
  private readonly prefix: string;
  private readonly suffix: string;
  /** `separators[i]` ends operator i's value; the last operator runs to the suffix. */
  private readonly separators: string[];
  /** Slot each operator fills; -1 when its value is skipped. */
  private readonly slotOf: Int32Array;
  private readonly raw: RawFields;
  private readonly build: BuildOptions;
  private readonly hasStartTime: boolean;

  constructor(format: string, operators: string[], literals: string[], targets: Target[]) {
    this.format = format.endsWith('\n') ? format.slice(0, -1) : format;
    this.operators = operators;
    this.prefix = literals[0] ?? '';
    this.suffix = operators.length > 0 ? (literals[literals.length - 1] ?? '') : '';
    this.separators = literals.slice(1, -1);
    this.slotOf = new Int32Array(operators.length);
    const names = [...OPERATOR_NAMES];
    const headerKeys: string[] = [];
    let parseTime: TimeParser | undefined;
    targets.forEach((t, i) => {
      if ('slot' in t) {
        this.slotOf[i] = t.slot;
        names[t.slot] = operators[i]!;
        if (t.parseTime) parseTime = t.parseTime;
      } else if ('header' in t) {
        this.slotOf[i] = Slot.COUNT + headerKeys.length;
        names[Slot.COUNT + headerKeys.length] = operators[i]!;
        headerKeys.push(t.header);
      } else {
        this.slotOf[i] = -1;
      }
    });
    this.hasStartTime = targets.some((t) => 'slot' in t && t.slot === Slot.START_TIME);
    this.raw = new Array<string | undefined>(Slot.COUNT + headerKeys.length).fill(undefined);
    this.build = { names, ...(headerKeys.length > 0 ? { headerKeys } : {}), ...(parseTime ? { parseTime } : {}) };
  }

  parse(line: string): LineResult {
    if (this.prefix !== '' && !line.startsWith(this.prefix)) {
      const skip = kubectlPrefixEnd(line);
      if (skip === 0 || !line.startsWith(this.prefix, skip)) return `expected the line to start with ${JSON.stringify(this.prefix)}`;
      return this.parseFrom(line, skip);
    }
    const result = this.parseFrom(line, 0);
    if (typeof result === 'string' && this.prefix === '') {
      // No literal to anchor on: the line may still carry a kubectl timestamp before the format.
      const skip = kubectlPrefixEnd(line);
      if (skip > 0) {
        const retried = this.parseFrom(line, skip);
        if (typeof retried !== 'string') return retried;
      }
    }
    return result;
  }

  private parseFrom(line: string, start: number): LineResult {
    const { raw, separators, slotOf, operators } = this;
    raw.fill(undefined);
    let end = line.length;
    if (this.suffix !== '') {
      if (!line.endsWith(this.suffix) || line.length - this.suffix.length < start + this.prefix.length) {
        return `expected the line to end with ${JSON.stringify(this.suffix)}`;
      }
      end -= this.suffix.length;
    }
    let p = start + this.prefix.length;
    const last = operators.length - 1;
    for (let i = 0; i <= last; i++) {
      let q: number;
      if (i < last) {
        q = line.indexOf(separators[i]!, p);
        if (q < 0 || q > end) return `${operators[i]}: expected ${JSON.stringify(separators[i])} after it`;
      } else {
        q = end;
      }
      // Envoy writes "-" for an absent value, never nothing: an empty one means the line is not this format.
      if (q === p) return `${operators[i]}: empty value`;
      const slot = slotOf[i]!;
      if (slot >= 0) raw[slot] = line.slice(p, q);
      p = i < last ? q + separators[i]!.length : q;
    }
    if (this.hasStartTime) return buildEntry(raw, this.build);
    const prefixEnd = start > 0 ? start : kubectlPrefixEnd(line);
    const fallbackStart = prefixEnd > 0 ? parseRfc3339Nanos(line, 0, prefixEnd - 1) : undefined;
    return buildEntry(raw, fallbackStart === undefined ? this.build : { ...this.build, fallbackStart });
  }
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

type TimePart = 'year' | 'year2' | 'month' | 'monthName' | 'day' | 'hour' | 'minute' | 'second' | 'epoch' | 'fraction' | 'offset' | 'skip';

/**
 * Compiles a `%START_TIME(<strftime>)%` format (plus Envoy's `%s`, `%f`, `%[1-9]f` and `%E<n>S`) into
 * a parser, via a regular expression built once. Supports the specifiers that locate an instant on a
 * 24-hour clock: %Y %y %m %b %h %d %e %H %M %S %s %f %Nf %EnS %E*S %z %F %T %R, and skips %Z %a %A.
 */
export function compileStrftime(format: string, position = 0): TimeParser {
  let pattern = '^';
  const parts: TimePart[] = [];
  const group = (re: string, part: TimePart): void => {
    pattern += `(${re})`;
    parts.push(part);
  };
  const expand = format.replaceAll('%F', '%Y-%m-%d').replaceAll('%T', '%H:%M:%S').replaceAll('%R', '%H:%M');
  for (let i = 0; i < expand.length; i++) {
    const c = expand[i]!;
    if (c !== '%') {
      pattern += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    const spec = expand.slice(i + 1, i + 4);
    const fixedFraction = /^([1-9])f/.exec(spec);
    const eSeconds = /^E([1-9*])S/.exec(spec);
    if (fixedFraction) {
      group(`\\d{${fixedFraction[1]}}`, 'fraction');
      i += 2;
    } else if (eSeconds) {
      group('\\d{2}', 'second');
      if (eSeconds[1] === '*') {
        pattern += '(?:\\.';
        group('\\d+', 'fraction');
        pattern += ')?';
      } else {
        pattern += '\\.';
        group(`\\d{${eSeconds[1]}}`, 'fraction');
      }
      i += 3;
    } else {
      const s = expand[i + 1];
      i++;
      switch (s) {
        case 'Y': group('\\d{4}', 'year'); break;
        case 'y': group('\\d{2}', 'year2'); break;
        case 'm': group('\\d{2}', 'month'); break;
        case 'b': case 'h': group('[A-Za-z]{3}', 'monthName'); break;
        case 'd': group('\\d{2}', 'day'); break;
        case 'e': group(' ?\\d{1,2}', 'day'); break;
        case 'H': group('\\d{2}', 'hour'); break;
        case 'M': group('\\d{2}', 'minute'); break;
        case 'S': group('\\d{2}', 'second'); break;
        case 's': group('\\d+', 'epoch'); break;
        case 'f': group('\\d{9}', 'fraction'); break;
        case 'z': group('Z|[+-]\\d{2}:?\\d{2}', 'offset'); break;
        case 'Z': group('[A-Za-z]{1,5}', 'skip'); break;
        case 'a': case 'A': group('[A-Za-z]+', 'skip'); break;
        case '%': pattern += '%'; break;
        default:
          throw new EnvoyFormatError(`START_TIME format ${JSON.stringify(format)} (operator at position ${position}) uses %${s ?? ''}, which Meshsight cannot parse back into a time`, position);
      }
    }
  }
  const re = new RegExp(`${pattern}$`);
  const has = (part: TimePart): boolean => parts.includes(part);
  if (!has('epoch') && !((has('year') || has('year2')) && (has('month') || has('monthName')) && has('day'))) {
    throw new EnvoyFormatError(`START_TIME format ${JSON.stringify(format)} (operator at position ${position}) does not name a full date (needs %s, or %Y/%y with %m/%b and %d)`, position);
  }
  return (value) => {
    const m = re.exec(value);
    if (m === null) return undefined;
    let year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, fraction = 0, offset = 0;
    let epoch: number | undefined;
    for (let k = 0; k < parts.length; k++) {
      const v = m[k + 1];
      if (v === undefined) continue;
      switch (parts[k]) {
        case 'year': year = Number(v); break;
        case 'year2': year = 2000 + Number(v); break;
        case 'month': month = Number(v); break;
        case 'monthName': month = MONTHS.indexOf(v.toLowerCase()) + 1; break;
        case 'day': day = Number(v.trim()); break;
        case 'hour': hour = Number(v); break;
        case 'minute': minute = Number(v); break;
        case 'second': second = Number(v); break;
        case 'epoch': epoch = Number(v); break;
        case 'fraction': fraction = Number(v.slice(0, 9).padEnd(9, '0')); break;
        case 'offset':
          if (v !== 'Z') {
            const digits = v.replace(':', '');
            offset = (v[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 3600 + Number(digits.slice(3, 5)) * 60);
          }
          break;
        default: break;
      }
    }
    if (epoch !== undefined) return Number.isSafeInteger(epoch) ? toNanos(epoch, fraction) : undefined;
    if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 60) return undefined;
    return toNanos(daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset, fraction);
  };
}
