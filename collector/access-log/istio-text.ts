import { buildEntry, kubectlPrefixEnd, OPERATOR_NAMES, Slot, type BuildOptions, type LineResult, type RawFields } from './fields.ts';

/**
 * Istio's default TEXT access-log format (istio/istio `pilot/pkg/model/telemetry_logging.go`,
 * `EnvoyTextLogFormat`), which this parser reads without compiling it.
 */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% ' +
  '%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Envoy's own default format (envoyproxy/envoy `docs/.../access_log/usage.rst`), also read here. */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

const LBRACKET = 0x5b;
const QUOTE = 0x22;

const BUILD: BuildOptions = { names: OPERATOR_NAMES };

// Reused by every call: parsing is synchronous, so one array serves the whole process.
const raw: RawFields = new Array<string | undefined>(Slot.COUNT).fill(undefined);

/**
 * Reads from `p` up to the next space into `slot`; returns where the next field starts, or -1.
 * Envoy writes `-`, never nothing, for an absent value, so an empty value is refused too.
 */
function word(line: string, p: number, slot: Slot): number {
  const end = line.indexOf(' ', p);
  if (end <= p) return -1;
  raw[slot] = line.slice(p, end);
  return end + 1;
}

/**
 * Reads a `"…"` value at `p` into `slot`; returns where the next field starts, or -1. `next` is what
 * follows the closing quote: `" "` before another quoted value (so a stray `"` inside a user agent
 * does not end it), `" ` before a bare one, or `"` at the end of the line.
 */
function quoted(line: string, p: number, slot: Slot, next: '" "' | '" ' | '"'): number {
  if (line.charCodeAt(p) !== QUOTE) return -1;
  if (next === '"') {
    const last = line.length - 1;
    if (last <= p + 1 || line.charCodeAt(last) !== QUOTE) return -1;
    raw[slot] = line.slice(p + 1, last);
    return line.length;
  }
  const end = line.indexOf(next, p + 1);
  if (end <= p + 1) return -1;
  raw[slot] = line.slice(p + 1, end);
  return end + 2;
}

const wordFailed = (slot: Slot): string => `${OPERATOR_NAMES[slot]}: missing, or the line ends before it (not Istio's or Envoy's default text format)`;
const quotedFailed = (slot: Slot): string => `${OPERATOR_NAMES[slot]}: expected a non-empty "quoted" value (not Istio's or Envoy's default text format)`;

/**
 * Parses one line in Istio's default text format, or in Envoy's shorter default format (told apart
 * by what follows `%RESPONSE_FLAGS%`), optionally after a `kubectl logs --timestamps` prefix. `-`
 * means absent. Returns the entry, or the reason the line was refused.
 */
export function parseIstioTextLine(line: string): LineResult {
  let p = line.charCodeAt(0) === LBRACKET ? 0 : kubectlPrefixEnd(line);
  if (line.charCodeAt(p) !== LBRACKET) return 'START_TIME: expected the line to start with "[<start time>]" (Istio or Envoy default text format)';
  raw.fill(undefined);

  let q = line.indexOf('] "', p);
  if (q < 0) return 'START_TIME: expected `] "` after the start time';
  raw[Slot.START_TIME] = line.slice(p + 1, q);
  p = q + 3;

  // "METHOD PATH PROTOCOL": split at the first and the last space, so a path never shifts the protocol.
  q = line.indexOf('" ', p);
  const s1 = line.indexOf(' ', p);
  const s2 = q < 0 ? -1 : line.lastIndexOf(' ', q - 1);
  if (q < 0 || s1 <= p || s2 <= s1 + 1 || q <= s2 + 1) return `request line: expected "METHOD PATH PROTOCOL" after the start time`;
  raw[Slot.METHOD] = line.slice(p, s1);
  raw[Slot.PATH] = line.slice(s1 + 1, s2);
  raw[Slot.PROTOCOL] = line.slice(s2 + 1, q);
  p = q + 2;

  if ((p = word(line, p, Slot.RESPONSE_CODE)) < 0) return wordFailed(Slot.RESPONSE_CODE);
  if ((p = word(line, p, Slot.RESPONSE_FLAGS)) < 0) return wordFailed(Slot.RESPONSE_FLAGS);
  // Istio: DETAILS TERMINATION "REASON" …; Envoy's default: BYTES_RECEIVED BYTES_SENT DURATION …
  const e1 = line.indexOf(' ', p);
  const e2 = e1 < 0 ? -1 : line.indexOf(' ', e1 + 1);
  const istio = e2 > 0 && line.charCodeAt(e2 + 1) === QUOTE;
  if (istio) {
    if ((p = word(line, p, Slot.RESPONSE_CODE_DETAILS)) < 0) return wordFailed(Slot.RESPONSE_CODE_DETAILS);
    if ((p = word(line, p, Slot.CONNECTION_TERMINATION_DETAILS)) < 0) return wordFailed(Slot.CONNECTION_TERMINATION_DETAILS);
    if ((p = quoted(line, p, Slot.UPSTREAM_TRANSPORT_FAILURE_REASON, '" ')) < 0) return quotedFailed(Slot.UPSTREAM_TRANSPORT_FAILURE_REASON);
  }
  if ((p = word(line, p, Slot.BYTES_RECEIVED)) < 0) return wordFailed(Slot.BYTES_RECEIVED);
  if ((p = word(line, p, Slot.BYTES_SENT)) < 0) return wordFailed(Slot.BYTES_SENT);
  if ((p = word(line, p, Slot.DURATION)) < 0) return wordFailed(Slot.DURATION);
  if ((p = word(line, p, Slot.UPSTREAM_SERVICE_TIME)) < 0) return wordFailed(Slot.UPSTREAM_SERVICE_TIME);
  if ((p = quoted(line, p, Slot.X_FORWARDED_FOR, '" "')) < 0) return quotedFailed(Slot.X_FORWARDED_FOR);
  if ((p = quoted(line, p, Slot.USER_AGENT, '" "')) < 0) return quotedFailed(Slot.USER_AGENT);
  if ((p = quoted(line, p, Slot.REQUEST_ID, '" "')) < 0) return quotedFailed(Slot.REQUEST_ID);
  if ((p = quoted(line, p, Slot.AUTHORITY, '" "')) < 0) return quotedFailed(Slot.AUTHORITY);
  if (!istio) {
    if (quoted(line, p, Slot.UPSTREAM_HOST, '"') < 0) return quotedFailed(Slot.UPSTREAM_HOST);
    return buildEntry(raw, BUILD);
  }
  if ((p = quoted(line, p, Slot.UPSTREAM_HOST, '" ')) < 0) return quotedFailed(Slot.UPSTREAM_HOST);
  if ((p = word(line, p, Slot.UPSTREAM_CLUSTER)) < 0) return wordFailed(Slot.UPSTREAM_CLUSTER);
  if ((p = word(line, p, Slot.UPSTREAM_LOCAL_ADDRESS)) < 0) return wordFailed(Slot.UPSTREAM_LOCAL_ADDRESS);
  if ((p = word(line, p, Slot.DOWNSTREAM_LOCAL_ADDRESS)) < 0) return wordFailed(Slot.DOWNSTREAM_LOCAL_ADDRESS);
  if ((p = word(line, p, Slot.DOWNSTREAM_REMOTE_ADDRESS)) < 0) return wordFailed(Slot.DOWNSTREAM_REMOTE_ADDRESS);
  if ((p = word(line, p, Slot.REQUESTED_SERVER_NAME)) < 0) return wordFailed(Slot.REQUESTED_SERVER_NAME);
  if (p >= line.length) return wordFailed(Slot.ROUTE_NAME);
  if (line.indexOf(' ', p) >= 0) return 'ROUTE_NAME: unexpected text after it (is the format customised? use an Envoy format string)';
  raw[Slot.ROUTE_NAME] = line.slice(p);
  return buildEntry(raw, BUILD);
}
