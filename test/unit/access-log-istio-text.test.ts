import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../../collector/access-log/entry.ts';
import { isRejection } from '../../collector/access-log/fields.ts';
import { parseIstioTextLine } from '../../collector/access-log/istio-text.ts';

// Fixtures: istio/istio.io access-log task (Apache-2.0) and kiali/kiali tests/data/logs (Apache-2.0);
// origins in shared/fixtures/README.md.
const fixtureLines = (name: string): string[] =>
  readFileSync(new URL(`../../../shared/fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

const parsed = (line: string): AccessLogEntry => {
  const result = parseIstioTextLine(line);
  if (isRejection(result)) throw new Error(`rejected: ${result}`);
  return result;
};

const ms = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;

describe('Istio default text format: istio.io sleep → httpbin pair', () => {
  const [client, server] = fixtureLines('istio-docs-access-log-default-format.log') as [string, string];

  it('reads the client-side (outbound) line field by field', () => {
    expect(parsed(client)).toStrictEqual({
      kind: 'http',
      startTimeUnixNano: ms('2020-11-25T21:26:18.409Z'),
      responseFlags: [],
      durationNanos: 4_000_000n,
      upstreamServiceTimeMs: 4,
      method: 'GET',
      path: '/status/418',
      authority: 'httpbin:8000',
      protocol: 'HTTP/1.1',
      responseCode: 418,
      responseCodeDetails: 'via_upstream',
      bytesReceived: 0n,
      bytesSent: 135n,
      upstreamCluster: 'outbound|8000||httpbin.foo.svc.cluster.local',
      upstreamHost: '10.44.1.27:80',
      upstreamLocalAddress: '10.44.1.23:37652',
      downstreamLocalAddress: '10.0.45.184:8000',
      downstreamRemoteAddress: '10.44.1.23:46520',
      routeName: 'default',
      userAgent: 'curl/7.73.0-DEV',
      requestId: '84961386-6d84-929d-98bd-c5aee93b5c88',
    });
  });

  it('reads the server-side (inbound) line, with its SNI, as TLS', () => {
    const e = parsed(server);
    expect(e).toMatchObject({
      kind: 'http',
      method: 'GET',
      path: '/status/418',
      responseCode: 418,
      durationNanos: 3_000_000n,
      upstreamServiceTimeMs: 1,
      bytesReceived: 0n,
      bytesSent: 135n,
      authority: 'httpbin:8000',
      requestId: '84961386-6d84-929d-98bd-c5aee93b5c88',
      upstreamCluster: 'inbound|8000||',
      upstreamHost: '127.0.0.1:80',
      upstreamLocalAddress: '127.0.0.1:41854',
      downstreamLocalAddress: '10.44.1.27:80',
      downstreamRemoteAddress: '10.44.1.23:37652',
      requestedServerName: 'outbound_.8000_._.httpbin.foo.svc.cluster.local',
      routeName: 'default',
      tls: true,
    });
    // The client's upstream local address is the server's downstream remote address.
    expect(e.downstreamRemoteAddress).toBe(parsed(client).upstreamLocalAddress);
  });
});

describe('kiali waypoint lines (kubectl --timestamps prefix, envoy:// addresses)', () => {
  const lines = fixtureLines('kiali-waypoint-envoy-access.log');

  it('parses all 16 lines', () => {
    expect(lines).toHaveLength(16);
    for (const line of lines) expect(parseIstioTextLine(line)).not.toBeTypeOf('string');
  });

  it('takes START_TIME, not the kubectl prefix, and keeps internal addresses as written', () => {
    expect(parsed(lines[1]!)).toMatchObject({
      startTimeUnixNano: ms('2025-01-30T10:53:16.279Z'),
      path: '/details/0',
      responseCode: 200,
      bytesSent: 178n,
      upstreamHost: 'envoy://connect_originate/10.244.0.32:9080',
      upstreamLocalAddress: 'envoy://internal_client_address/',
      upstreamCluster: 'inbound-vip|9080|http|details.bookinfo.svc.cluster.local',
      downstreamLocalAddress: '10.96.185.196:9080',
      userAgent: 'Go-http-client/1.1',
    });
  });
});

describe('other shapes of the text format', () => {
  it("reads Envoy's shorter default format (the example from Envoy's docs)", () => {
    const line = '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"';
    expect(parsed(line)).toStrictEqual({
      kind: 'http',
      startTimeUnixNano: ms('2016-04-15T20:17:00.310Z'),
      responseFlags: [],
      durationNanos: 226_000_000n,
      upstreamServiceTimeMs: 100,
      method: 'POST',
      path: '/api/v1/locations',
      authority: 'locations',
      protocol: 'HTTP/2',
      responseCode: 204,
      bytesReceived: 154n,
      bytesSent: 0n,
      upstreamHost: 'tcp://10.0.2.1:80',
      xForwardedFor: '10.0.35.28',
      userAgent: 'nsq2http',
      requestId: 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
    });
  });

  it('reads a TCP line as kind tcp, with IPv6 addresses and several flags', () => {
    const line =
      '[2024-02-29T23:59:59.123456Z] "- - -" 0 UF,URX - - "delayed_connect_error:_111" 0 0 1001 - "-" "-" "-" "-" "[2a02:cf40::4e36]:5000" outbound|5000||db.prod.svc.cluster.local - [fd00::1]:5000 [fd00::2]:41000 - -';
    expect(parsed(line)).toStrictEqual({
      kind: 'tcp',
      startTimeUnixNano: 1709251199_123456000n,
      responseFlags: ['UF', 'URX'],
      durationNanos: 1_001_000_000n,
      upstreamTransportFailureReason: 'delayed_connect_error:_111',
      bytesReceived: 0n,
      bytesSent: 0n,
      upstreamCluster: 'outbound|5000||db.prod.svc.cluster.local',
      upstreamHost: '[2a02:cf40::4e36]:5000',
      downstreamLocalAddress: '[fd00::1]:5000',
      downstreamRemoteAddress: '[fd00::2]:41000',
    });
  });

  it('keeps a response code 0 on an HTTP request that never got a response', () => {
    const line =
      '[2024-01-01T00:00:00Z] "GET /slow HTTP/1.1" 0 DC downstream_remote_disconnect - "-" 0 0 5000 - "-" "curl/8" "id-1" "svc" "-" outbound|80||svc.ns.svc.cluster.local - 10.0.0.1:80 10.0.0.2:5555 - default';
    expect(parsed(line)).toMatchObject({ kind: 'http', responseCode: 0, responseFlags: ['DC'], startTimeUnixNano: ms('2024-01-01T00:00:00Z') });
  });

  it('splits the request line at its first and last space, and keeps quotes inside the user agent', () => {
    const line =
      '[2024-01-01T00:00:00.5+02:00] "GET /a b HTTP/1.1" 200 - via_upstream - "-" 1 2 3 4 "-" "Mozilla "quoted" agent" "-" "h" "-" c - - - - r';
    expect(parsed(line)).toMatchObject({ path: '/a b', protocol: 'HTTP/1.1', userAgent: 'Mozilla "quoted" agent', startTimeUnixNano: ms('2023-12-31T22:00:00.500Z') });
  });
});

describe('refused lines say which field is wrong', () => {
  const good = fixtureLines('istio-docs-access-log-default-format.log')[0]!;
  it.each([
    ['', 'START_TIME'],
    ['hello world', 'START_TIME'],
    [good.replace('2020-11-25T21:26:18.409Z', '2020-13-25T21:26:18.409Z'), 'START_TIME: not a valid time: "2020-13-25T21:26:18.409Z"'],
    [good.replace('" 418 ', '" 4x8 '), 'RESPONSE_CODE: expected an HTTP status code, got "4x8"'],
    [good.replace(' 0 135 4 4 ', ' 0 13x5 4 4 '), 'BYTES_SENT: expected a byte count, got "13x5"'],
    [good.replace(' 0 135 4 4 ', ' 0 135 4.5 4 '), 'DURATION: expected milliseconds as an integer, got "4.5"'],
    [good.replace('418 - via', '418 uf via'), 'RESPONSE_FLAGS: expected comma-separated upper-case codes, got "uf"'],
    [good.replace(' default', ' default extra'), 'ROUTE_NAME: unexpected text after it'],
    [good.replace('418 -', '418  -'), 'RESPONSE_FLAGS: missing'],
    [good.slice(0, good.indexOf(' outbound|')), 'UPSTREAM_HOST'],
  ])('%#', (line, reason) => {
    const result = parseIstioTextLine(line);
    expect(result).toBeTypeOf('string');
    expect(result).toContain(reason);
  });
});
