import type { AccessLogEntry } from './entry.ts';
import { compileEnvoyFormat, type CompiledEnvoyFormat } from './envoy-format.ts';
import { kubectlPrefixEnd } from './fields.ts';
import { istioJsonToEntry, parseIstioJsonLine, parseJsonObject } from './istio-json.ts';
import { parseIstioTextLine } from './istio-text.ts';
import { parseZtunnelLine, ztunnelJsonToEntry, type ZtunnelResult } from './ztunnel.ts';

/**
 * How the lines of a batch are written:
 * - `istio-text`: Istio's default text format, or Envoy's shorter default;
 * - `istio-json`: Istio's JSON encoding;
 * - `ztunnel`: Istio ambient ztunnel logs (text or JSON); non-access lines are skipped;
 * - `{ envoy }`: a custom Envoy format string (compiled once and cached), or an already compiled one;
 * - `auto`: decides per line between the three built-in formats.
 * Any of them may carry a `kubectl logs --timestamps` prefix.
 */
export type LineFormat = 'auto' | 'istio-text' | 'istio-json' | 'ztunnel' | { envoy: string | CompiledEnvoyFormat };

export interface ParseLinesOptions {
  /** Longest line accepted, in characters (UTF-16 code units); longer ones are rejected. Default 65536. */
  maxLineLength?: number;
}

/** A line that did not parse: its 1-based number in the batch and why (which field, what was wrong). */
export interface RejectedLine {
  line: number;
  reason: string;
}

export interface ParseLinesResult {
  entries: AccessLogEntry[];
  rejected: RejectedLine[];
  /** Well-formed lines that carry no access record (other ztunnel log scopes, `connection opened`). */
  skipped: number;
}

/** Default bound on one line: Envoy lines are well under 4 KiB unless a header is logged whole. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

const MAX_CACHED_FORMATS = 32;
const compiled = new Map<string, CompiledEnvoyFormat>();

/** Compiles an Envoy format once per process (a small cache keyed by the format string). */
export function cachedEnvoyFormat(format: string): CompiledEnvoyFormat {
  let parser = compiled.get(format);
  if (parser === undefined) {
    parser = compileEnvoyFormat(format);
    if (compiled.size >= MAX_CACHED_FORMATS) compiled.delete(compiled.keys().next().value!);
    compiled.set(format, parser);
  }
  return parser;
}

const UNRECOGNISED =
  'unrecognised line: expected Istio/Envoy text ("[<start time>] …"), JSON ("{…}") or a ztunnel log ("<time>\\t<level>\\t<scope>\\t…")';

function parseJsonAuto(line: string): ZtunnelResult {
  const object = parseJsonObject(line);
  if (typeof object === 'string') return object;
  return 'src.addr' in object || 'dst.addr' in object || object.scope === 'access' ? ztunnelJsonToEntry(object) : istioJsonToEntry(object);
}

function parseAuto(line: string): ZtunnelResult {
  let c = line.charCodeAt(0);
  if (c === 0x5b /* [ */) return parseIstioTextLine(line);
  if (c === 0x7b /* { */) return parseJsonAuto(line);
  const prefix = kubectlPrefixEnd(line);
  if (prefix > 0) {
    c = line.charCodeAt(prefix);
    if (c === 0x5b) return parseIstioTextLine(line);
    if (c === 0x7b) return parseJsonAuto(line);
  }
  // ztunnel's own lines start with its timestamp and a tab.
  if (c >= 0x30 && c <= 0x39 && line.indexOf('\t') > 0) return parseZtunnelLine(line);
  return UNRECOGNISED;
}

function lineParser(format: LineFormat): (line: string) => ZtunnelResult {
  if (typeof format === 'object') {
    const parser = typeof format.envoy === 'string' ? cachedEnvoyFormat(format.envoy) : format.envoy;
    return (line) => parser.parse(line);
  }
  switch (format) {
    case 'istio-text':
      return parseIstioTextLine;
    case 'istio-json':
      return parseIstioJsonLine;
    case 'ztunnel':
      return parseZtunnelLine;
    case 'auto':
      return parseAuto;
    default:
      throw new TypeError(`unknown access-log line format ${JSON.stringify(format)}; expected auto, istio-text, istio-json, ztunnel or {envoy: "<format string>"}`);
  }
}

const BLANK = /^\s*$/;

/**
 * Parses a newline-delimited batch of access-log lines. Lines that do not parse are reported with
 * their 1-based number and a reason; the others are kept. Empty (or blank) lines are skipped, a
 * trailing `\r` is dropped, and lines longer than `maxLineLength` are rejected unread.
 *
 * Never throws for any `text`; throws only for a bad `format` (an unknown name, or an Envoy format
 * string that does not compile, see compileEnvoyFormat), which is configuration, not data.
 */
export function parseLines(text: string, format: LineFormat, options: ParseLinesOptions = {}): ParseLinesResult {
  const parse = lineParser(format);
  const maxLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const entries: AccessLogEntry[] = [];
  const rejected: RejectedLine[] = [];
  let skipped = 0;
  let lineNumber = 0;
  for (let from = 0; from <= text.length; ) {
    let newline = text.indexOf('\n', from);
    if (newline < 0) newline = text.length;
    lineNumber++;
    let end = newline;
    if (end > from && text.charCodeAt(end - 1) === 0x0d) end--;
    if (end - from > maxLength) {
      rejected.push({ line: lineNumber, reason: `line is ${end - from} characters long, more than the limit of ${maxLength}` });
    } else if (end > from) {
      const line = text.slice(from, end);
      const c = line.charCodeAt(0);
      if (!((c === 0x20 || c === 0x09) && BLANK.test(line))) {
        let result: ZtunnelResult;
        try {
          result = parse(line);
        } catch (error) {
          // A parser bug must cost one line, not the batch.
          result = `internal parser error: ${error instanceof Error ? error.message : String(error)}`;
        }
        if (result === null) skipped++;
        else if (typeof result === 'string') rejected.push({ line: lineNumber, reason: result });
        else entries.push(result);
      }
    }
    from = newline + 1;
  }
  return { entries, rejected, skipped };
}
