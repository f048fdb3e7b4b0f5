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

// Scanner state, reused by every call: parsing is synchronous, so one set serves the whole process
// and a line costs no allocation beyond its field slices and the entry.
const raw: RawFields = new Array<string | undefined>(Slot.COUNT).fill(undefined);
let L = '';
let P = 0;

/** Reads up to the next space into `slot`; Envoy writes `-`, never nothing, for an absent value. */
function word(slot: Slot): boolean {
  const end = L.indexOf(' ', P);
  if (end <= P) return false;
  raw[slot] = L.slice(P, end);
  P = end + 1;
  return true;
}

/**
 * Reads a `"…"` value into `slot`. `next` is what follows the closing quote: `" "` before another
 * quoted value (so a stray `"` inside a user agent does not end it), `" ` before a bare one, or `"`
 * at the end of the line.
 */
function quoted(slot: Slot, next: '" "' | '" ' | '"'): boolean {
  if (L.charCodeAt(P) !== QUOTE) return false;
  if (next === '"') {
    const last = L.length - 1;
    if (last <= P || L.charCodeAt(last) !== QUOTE) return false;
    raw[slot] = L.slice(P + 1, last);
    P = L.length;
    return true;
  }
  const end = L.indexOf(next, P + 1);
  if (end < 0) return false;
  raw[slot] = L.slice(P + 1, end);
  P = end + 2;
  return true;
}

const wordFailed = (slot: Slot): string => `${OPERATOR_NAMES[slot]}: missing, or the line ends before it (not Istio's or Envoy's default text format)`;
const quotedFailed = (slot: Slot): string => `${OPERATOR_NAMES[slot]}: expected a "quoted" value (not Istio's or Envoy's default text format)`;

/**
 * Parses one line in Istio's default text format, or in Envoy's shorter default format (told apart
 * by what follows `%RESPONSE_FLAGS%`), optionally after a `kubectl logs --timestamps` prefix. `-`
 * means absent. Returns the entry, or the reason the line was refused.
 */
export function parseIstioTextLine(line: string): LineResult {
  let p = line.charCodeAt(0) === LBRACKET ? 0 : kubectlPrefixEnd(line);
  if (line.charCodeAt(p) !== LBRACKET) return 'START_TIME: expected the line to start with "[<start time>]" (Istio or Envoy default text format)';
  raw.fill(undefined);
  L = line;

  let q = line.indexOf('] "', p);
  if (q < 0) return 'START_TIME: expected `] "` after the start time';
  raw[Slot.START_TIME] = line.slice(p + 1, q);
  p = q + 3;

  // "METHOD PATH PROTOCOL": split at the first and the last space, so a path never shifts the protocol.
  q = line.indexOf('" ', p);
  const s1 = line.indexOf(' ', p);
  const s2 = q < 0 ? -1 : line.lastIndexOf(' ', q - 1);
  if (q < 0 || s1 < 0 || s1 >= s2) return `request line: expected "METHOD PATH PROTOCOL" after the start time`;
  raw[Slot.METHOD] = line.slice(p, s1);
  raw[Slot.PATH] = line.slice(s1 + 1, s2);
  raw[Slot.PROTOCOL] = line.slice(s2 + 1, q);
  P = q + 2;

  if (!word(Slot.RESPONSE_CODE)) return wordFailed(Slot.RESPONSE_CODE);
  if (!word(Slot.RESPONSE_FLAGS)) return wordFailed(Slot.RESPONSE_FLAGS);
  // Istio: DETAILS TERMINATION "REASON" …; Envoy's default: BYTES_RECEIVED BYTES_SENT DURATION …
  const e1 = L.indexOf(' ', P);
  const e2 = e1 < 0 ? -1 : L.indexOf(' ', e1 + 1);
  const istio = e2 > 0 && L.charCodeAt(e2 + 1) === QUOTE;
  if (istio) {
    if (!word(Slot.RESPONSE_CODE_DETAILS)) return wordFailed(Slot.RESPONSE_CODE_DETAILS);
    if (!word(Slot.CONNECTION_TERMINATION_DETAILS)) return wordFailed(Slot.CONNECTION_TERMINATION_DETAILS);
    if (!quoted(Slot.UPSTREAM_TRANSPORT_FAILURE_REASON, '" ')) return quotedFailed(Slot.UPSTREAM_TRANSPORT_FAILURE_REASON);
  }
  if (!word(Slot.BYTES_RECEIVED)) return wordFailed(Slot.BYTES_RECEIVED);
  if (!word(Slot.BYTES_SENT)) return wordFailed(Slot.BYTES_SENT);
  if (!word(Slot.DURATION)) return wordFailed(Slot.DURATION);
  if (!word(Slot.UPSTREAM_SERVICE_TIME)) return wordFailed(Slot.UPSTREAM_SERVICE_TIME);
  if (!quoted(Slot.X_FORWARDED_FOR, '" "')) return quotedFailed(Slot.X_FORWARDED_FOR);
  if (!quoted(Slot.USER_AGENT, '" "')) return quotedFailed(Slot.USER_AGENT);
  if (!quoted(Slot.REQUEST_ID, '" "')) return quotedFailed(Slot.REQUEST_ID);
  if (!quoted(Slot.AUTHORITY, '" "')) return quotedFailed(Slot.AUTHORITY);
  if (!istio) {
    if (!quoted(Slot.UPSTREAM_HOST, '"')) return quotedFailed(Slot.UPSTREAM_HOST);
    return buildEntry(raw, BUILD);
  }
  if (!quoted(Slot.UPSTREAM_HOST, '" ')) return quotedFailed(Slot.UPSTREAM_HOST);
  if (!word(Slot.UPSTREAM_CLUSTER)) return wordFailed(Slot.UPSTREAM_CLUSTER);
  if (!word(Slot.UPSTREAM_LOCAL_ADDRESS)) return wordFailed(Slot.UPSTREAM_LOCAL_ADDRESS);
  if (!word(Slot.DOWNSTREAM_LOCAL_ADDRESS)) return wordFailed(Slot.DOWNSTREAM_LOCAL_ADDRESS);
  if (!word(Slot.DOWNSTREAM_REMOTE_ADDRESS)) return wordFailed(Slot.DOWNSTREAM_REMOTE_ADDRESS);
  if (!word(Slot.REQUESTED_SERVER_NAME)) return wordFailed(Slot.REQUESTED_SERVER_NAME);
  if (P >= L.length) return wordFailed(Slot.ROUTE_NAME);
  if (L.indexOf(' ', P) >= 0) return 'ROUTE_NAME: unexpected text after it (is the format customised? use an Envoy format string)';
  raw[Slot.ROUTE_NAME] = L.slice(P);
  return buildEntry(raw, BUILD);
}
