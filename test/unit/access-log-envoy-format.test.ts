import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileEnvoyFormat, compileStrftime, EnvoyFormatError } from '../../collector/access-log/envoy-format.ts';
import { ENVOY_DEFAULT_FORMAT, ISTIO_TEXT_FORMAT, parseIstioTextLine } from '../../collector/access-log/istio-text.ts';

// Fixtures: istio/istio.io and kiali/kiali (Apache-2.0); origins in shared/fixtures/README.md.
const fixtureLines = (name: string): string[] =>
  readFileSync(new URL(`../../../shared/fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe('compiled Istio default format', () => {
  const istio = compileEnvoyFormat(ISTIO_TEXT_FORMAT);

  it('lists the operators as written', () => {
    expect(istio.operators).toHaveLength(24);
    expect(istio.operators.slice(0, 3)).toEqual(['%START_TIME%', '%REQ(:METHOD)%', '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%']);
  });

  it.each(['istio-docs-access-log-default-format.log', 'kiali-waypoint-envoy-access.log'])('parses %s exactly like istio-text.ts', (file) => {
    const lines = fixtureLines(file);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const expected = parseIstioTextLine(line);
      expect(expected).not.toBeTypeOf('string');
      expect(istio.parse(line)).toStrictEqual(expected);
    }
  });

  it("also reads Envoy's default format the same way", () => {
    const line = '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"';
    expect(compileEnvoyFormat(ENVOY_DEFAULT_FORMAT).parse(line)).toStrictEqual(parseIstioTextLine(line));
  });

  it('names the operator when a value does not convert', () => {
    const line = fixtureLines('istio-docs-access-log-default-format.log')[0]!.replace('" 418 ', '" abc ');
    expect(istio.parse(line)).toBe('%RESPONSE_CODE%: expected an HTTP status code, got "abc"');
    expect(istio.parse('nonsense')).toBe('expected the line to start with "["');
  });
});

describe('custom formats', () => {
  it('maps headers, SANs, gRPC status and long flag names', () => {
    const format = compileEnvoyFormat(
      '%START_TIME(%s.%3f)% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %GRPC_STATUS% %RESPONSE_FLAGS_LONG% %REQ(X-USER-ID)% ' +
        '%REQ(TRACEPARENT)% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_LOCAL_URI_SAN% %UPSTREAM_PEER_URI_SAN% %DOWNSTREAM_TLS_VERSION% ' +
        '%CONNECTION_ID% %DYNAMIC_METADATA(istio.mixer:status):20% %REQ(:AUTHORITY):10%\n',
    );
    const line =
      '1527590590.528 POST /pkg.Svc/Call 200 Unavailable UpstreamConnectionFailure,UpstreamRetryLimitExceeded alice ' +
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 spiffe://cluster.local/ns/a/sa/client spiffe://cluster.local/ns/b/sa/server - TLSv1.3 ' +
      '42 {"ok":true} svc.b:8080';
    expect(format.parse(line)).toStrictEqual({
      kind: 'http',
      startTimeUnixNano: 1527590590_528_000_000n,
      responseFlags: ['UF', 'URX'],
      method: 'POST',
      path: '/pkg.Svc/Call',
      authority: 'svc.b:8080',
      responseCode: 200,
      grpcStatus: 14,
      downstreamPeerUriSan: 'spiffe://cluster.local/ns/a/sa/client',
      downstreamLocalUriSan: 'spiffe://cluster.local/ns/b/sa/server',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      requestHeaders: { 'x-user-id': 'alice' },
      tls: true,
    });
  });

  it('takes the start time from the kubectl prefix when the format has none', () => {
    const format = compileEnvoyFormat('%REQ(:METHOD)% %RESPONSE_CODE%');
    expect(format.parse('2025-01-30T12:10:13.682034460Z GET 204')).toMatchObject({ startTimeUnixNano: 1738239013_682034460n, method: 'GET', responseCode: 204 });
    expect(format.parse('GET 204')).toBe('START_TIME: missing (the start time is required)');
  });

  it('reads strftime START_TIME formats', () => {
    expect(compileStrftime('%Y/%m/%dT%H:%M:%S%z')('2018/05/29T10:43:10+0200')).toBe(BigInt(Date.parse('2018-05-29T08:43:10Z')) * 1_000_000n);
    expect(compileStrftime('%Y-%m-%dT%H:%M:%E3SZ')('2020-11-25T21:26:18.409Z')).toBe(1606339578_409_000_000n);
    expect(compileStrftime('%s.%9f')('1527590590.000000123')).toBe(1527590590_000_000_123n);
    expect(compileStrftime('%d/%b/%Y:%T %z')('10/Oct/2000:13:55:36 -0700')).toBe(BigInt(Date.parse('2000-10-10T20:55:36Z')) * 1_000_000n);
    expect(compileStrftime('%F %T')('2000-02-30 00:00:00')).toBeUndefined();
  });
});

describe('format errors name the operator and its position', () => {
  it.each([
    ['[%START_TIME%] %FOO_BAR%', 'unknown command operator %FOO_BAR% at position 15', 15],
    ['%START_TIME% %REQ()%', 'command operator %REQ()% at position 13 needs a header name', 13],
    ['%START_TIME%%DURATION%', 'command operators %START_TIME% and %DURATION% at position 12 are not separated', 12],
    ['%START_TIME% %BYTES_SENT(x)%', 'command operator %BYTES_SENT(x)% at position 13 takes no argument', 13],
    ['%START_TIME% %bytes_sent%', 'malformed command operator at position 13', 13],
    ['%START_TIME(%Q)% x', 'uses %Q', 0],
    ['%START_TIME(%H:%M)% x', 'does not name a full date', 0],
    ['%START_TIME% %GRPC_STATUS(HEX)%', 'must be CAMEL_STRING, SNAKE_STRING or NUMBER', 13],
    ['%START_TIME%\n%DURATION%', 'spans several lines', 12],
    ['just text', 'no command operators', 0],
  ])('%s', (format, message, position) => {
    let error: unknown;
    try {
      compileEnvoyFormat(format);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvoyFormatError);
    expect((error as EnvoyFormatError).message).toContain(message);
    expect((error as EnvoyFormatError).position).toBe(position);
  });

  it('accepts %% as a literal percent sign', () => {
    expect(compileEnvoyFormat('%START_TIME% 100%% %DURATION%').parse('2024-01-01T00:00:00Z 100% 7')).toMatchObject({ durationNanos: 7_000_000n });
  });
});
