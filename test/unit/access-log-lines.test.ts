import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIstioJsonLine } from '../../collector/access-log/istio-json.ts';
import { ISTIO_TEXT_FORMAT, parseIstioTextLine } from '../../collector/access-log/istio-text.ts';
import { parseLines, type LineFormat } from '../../collector/access-log/lines.ts';

// Fixtures: istio/istio.io and kiali/kiali (Apache-2.0); origins in shared/fixtures/README.md.
const fixture = (name: string): string => readFileSync(new URL(`../../../shared/fixtures/${name}`, import.meta.url), 'utf8');
const istioDocs = fixture('istio-docs-access-log-default-format.log');
const waypoint = fixture('kiali-waypoint-envoy-access.log');
const ztunnel = fixture('kiali-ztunnel-access.log');

describe('parseLines', () => {
  it('parses every fixture line in its own format', () => {
    expect(parseLines(istioDocs, 'istio-text')).toMatchObject({ rejected: [], skipped: 0 });
    expect(parseLines(istioDocs, 'istio-text').entries).toHaveLength(2);
    expect(parseLines(waypoint, 'istio-text').entries).toHaveLength(16);
    expect(parseLines(waypoint, { envoy: ISTIO_TEXT_FORMAT }).entries).toEqual(parseLines(waypoint, 'istio-text').entries);
    const z = parseLines(ztunnel, 'ztunnel');
    expect(z.rejected).toEqual([]);
    expect(z.entries).toHaveLength(28);
  });

  it('auto-detects text, JSON and ztunnel line by line', () => {
    const json = '{"start_time":"2024-01-01T00:00:00.000Z","method":"GET","path":"/","protocol":"HTTP/2","response_code":200,"response_flags":"-","bytes_received":0,"bytes_sent":5,"duration":1,"upstream_service_time":null,"authority":"a","upstream_cluster":"outbound|80||a.b.svc.cluster.local"}';
    const mixed = [istioDocs.trimEnd(), json, ztunnel.split('\n')[0], waypoint.split('\n')[0]].join('\n');
    const result = parseLines(mixed, 'auto');
    expect(result.rejected).toEqual([]);
    expect(result.entries.map((e) => [e.kind, e.upstreamCluster ?? e.destinationService])).toEqual([
      ['http', 'outbound|8000||httpbin.foo.svc.cluster.local'],
      ['http', 'inbound|8000||'],
      ['http', 'outbound|80||a.b.svc.cluster.local'],
      ['tcp', 'reviews.bookinfo.svc.cluster.local'],
      ['http', 'inbound-vip|9080|http|details.bookinfo.svc.cluster.local'],
    ]);
  });

  it('reports rejected lines with their 1-based numbers and reasons, and keeps the rest', () => {
    const [client, server] = istioDocs.split('\n') as [string, string];
    const text = [client, '', 'garbage', '   ', server.replace('" 418 ', '" 41B '), `${server}\r`, 'x'.repeat(70_000), ''].join('\n');
    const result = parseLines(text, 'istio-text');
    expect(result.entries).toHaveLength(2);
    expect(result.entries[1]).toEqual(parseIstioTextLine(server));
    expect(result.rejected).toEqual([
      { line: 3, reason: 'START_TIME: expected the line to start with "[<start time>]" (Istio or Envoy default text format)' },
      { line: 5, reason: 'RESPONSE_CODE: expected an HTTP status code, got "41B"' },
      { line: 7, reason: 'line is 70000 characters long, more than the limit of 65536' },
    ]);
  });

  it('bounds the line length as configured', () => {
    expect(parseLines(istioDocs, 'istio-text', { maxLineLength: 100 }).rejected.map((r) => r.line)).toEqual([1, 2]);
  });

  it('names the JSON key that is wrong', () => {
    const { rejected } = parseLines('{"start_time":"2024-01-01T00:00:00Z","bytes_sent":"many"}\n[1]\n{"start_time":', 'istio-json');
    expect(rejected.slice(0, 2)).toEqual([
      { line: 1, reason: 'bytes_sent: expected a byte count, got "many"' },
      { line: 2, reason: 'expected a JSON object ("{…}")' },
    ]);
    expect(rejected[2]?.line).toBe(3);
    expect(rejected[2]?.reason).toMatch(/^not valid JSON: /);
  });

  it('counts ztunnel lines without a connection record as skipped', () => {
    const text = `2024-07-02T13:41:03.203349Z\tinfo\txds::client\treceived response\n${ztunnel.split('\n')[0]}`;
    expect(parseLines(text, 'ztunnel')).toMatchObject({ skipped: 1, rejected: [] });
  });

  it('throws for a bad format, which is configuration', () => {
    expect(() => parseLines('', { envoy: '%NOPE%' })).toThrow('unknown command operator %NOPE% at position 0');
    expect(() => parseLines('', 'csv' as LineFormat)).toThrow('unknown access-log line format "csv"');
  });
});

describe('Istio JSON encoding', () => {
  it('accepts typed values and strings alike, null and "-" as absent', () => {
    const typed = parseIstioJsonLine(
      '{"start_time":"2020-11-25T21:26:18.409Z","method":"GET","path":"/status/418","protocol":"HTTP/1.1","response_code":418,"response_flags":"-","response_code_details":"via_upstream","connection_termination_details":null,"upstream_transport_failure_reason":null,"bytes_received":0,"bytes_sent":135,"duration":4,"upstream_service_time":"4","x_forwarded_for":null,"user_agent":"curl/7.73.0-DEV","request_id":"84961386-6d84-929d-98bd-c5aee93b5c88","authority":"httpbin:8000","upstream_host":"10.44.1.27:80","upstream_cluster":"outbound|8000||httpbin.foo.svc.cluster.local","upstream_local_address":"10.44.1.23:37652","downstream_local_address":"10.0.45.184:8000","downstream_remote_address":"10.44.1.23:46520","requested_server_name":null,"route_name":"default"}',
    );
    expect(typed).toStrictEqual(parseIstioTextLine(istioDocs.split('\n')[0]!));
    const strings = parseIstioJsonLine(
      '2020-11-25T21:26:19Z {"start_time":"2020-11-25T21:26:18.409Z","method":"-","path":"-","protocol":"-","response_code":"0","response_flags":"UF,URX","bytes_received":"10","bytes_sent":"20","duration":"30","upstream_host":"[::1]:80"}',
    );
    expect(strings).toStrictEqual({
      kind: 'tcp',
      startTimeUnixNano: 1606339578_409_000_000n,
      responseFlags: ['UF', 'URX'],
      durationNanos: 30_000_000n,
      bytesReceived: 10n,
      bytesSent: 20n,
      upstreamHost: '[::1]:80',
    });
  });

  it('refuses non-scalar values and fractional counts', () => {
    expect(parseIstioJsonLine('{"start_time":"2020-11-25T21:26:18Z","path":["/"]}')).toBe('path: expected a string or a number, got an array');
    expect(parseIstioJsonLine('{"start_time":"2020-11-25T21:26:18Z","duration":1.5}')).toBe('duration: expected a non-negative integer, got 1.5');
  });
});

describe('parseLines never throws on data (property)', () => {
  const formats: LineFormat[] = ['auto', 'istio-text', 'istio-json', 'ztunnel', { envoy: ISTIO_TEXT_FORMAT }, { envoy: '%START_TIME(%s.%3f)% "%REQ(X-A)%" %DURATION%' }];
  // Strings built from pieces of real lines find deeper paths than uniform noise.
  const pieces = [...istioDocs.split(/(?<=[ "\]\t])/), ...ztunnel.slice(0, 600).split(/(?<=[ \t=])/), '{', '}', '"', '\\', '\n', '\r', '-', '%', ':'];
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((parts) => parts.join('')),
  );

  it.each(formats.map((f) => [typeof f === 'string' ? f : f.envoy, f] as const))('%s', (_name, format) => {
    fc.assert(
      fc.property(text, (input) => {
        const result = parseLines(input, format);
        const lineCount = input.split('\n').length;
        for (const r of result.rejected) {
          expect(r.line).toBeGreaterThanOrEqual(1);
          expect(r.line).toBeLessThanOrEqual(lineCount);
          expect(r.reason.length).toBeGreaterThan(0);
          expect(r.reason).not.toContain('internal parser error');
        }
        for (const e of result.entries) expect(typeof e.startTimeUnixNano).toBe('bigint');
      }),
      { numRuns: 400 },
    );
  });
});
