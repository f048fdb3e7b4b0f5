import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../../collector/access-log/entry.ts';
import { parseDurationNanos, parseZtunnelLine } from '../../collector/access-log/ztunnel.ts';

// Fixture: kiali/kiali tests/data/logs/ztunnel.log (Apache-2.0); origin in shared/fixtures/README.md.
const lines = readFileSync(new URL('../../../shared/fixtures/kiali-ztunnel-access.log', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l !== '');

const entry = (line: string): AccessLogEntry => {
  const result = parseZtunnelLine(line);
  if (result === null || typeof result === 'string') throw new Error(`not an entry: ${result}`);
  return result;
};

const ns = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;

describe('ztunnel access logs (kiali fixture)', () => {
  it('parses every line into a tcp entry with both ends', () => {
    expect(lines).toHaveLength(28);
    for (const line of lines) {
      const e = entry(line);
      expect(e.kind).toBe('tcp');
      expect(e.direction).toMatch(/^(in|out)bound$/);
      expect(e.downstreamRemoteAddress).toBeDefined();
      expect(e.upstreamHost).toBeDefined();
      expect(e.sourceWorkload).toBeDefined();
      expect(e.destinationService).toBeDefined();
    }
  });

  it('reads an outbound line: start = log time − duration, bytes in request/response direction', () => {
    expect(entry(lines[0]!)).toStrictEqual({
      kind: 'tcp',
      startTimeUnixNano: ns('2024-04-12T10:17:44.078Z') + 629_000n,
      responseFlags: [],
      durationNanos: 2_000_000n,
      // ztunnel's outbound bytes_sent=200 is what the source sent (the request).
      bytesReceived: 200n,
      bytesSent: 603n,
      upstreamHost: '10.244.0.14:15008',
      downstreamRemoteAddress: '10.244.0.16:52008',
      upstreamPeerUriSan: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
      direction: 'outbound',
      sourceWorkload: 'productpage-v1-87d54dd59-fzflt',
      sourceNamespace: 'bookinfo',
      sourcePrincipal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
      destinationWorkload: 'reviews-v2-6f9b55c5db-vnpzr',
      destinationNamespace: 'bookinfo',
      destinationService: 'reviews.bookinfo.svc.cluster.local',
      destinationPrincipal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
    });
  });

  it('reads an inbound line: mTLS peer and local identities, HBONE target', () => {
    expect(entry(lines[1]!)).toMatchObject({
      direction: 'inbound',
      durationNanos: 8_000_000n,
      bytesReceived: 1551n,
      bytesSent: 5483n,
      downstreamRemoteAddress: '10.244.0.5:45896',
      downstreamLocalAddress: '10.244.0.16:9080',
      downstreamPeerUriSan: 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
      downstreamLocalUriSan: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
      tls: true,
      sourceWorkload: 'istio-ingressgateway-cbdcbb75c-9q9nb',
      destinationService: 'productpage.bookinfo.svc.cluster.local',
    });
  });

  it('agrees on the byte direction for both sides of one connection', () => {
    // Lines 4 and 5: productpage → reviews-v3, as logged at the destination and at the source.
    const inbound = entry(lines[3]!);
    const outbound = entry(lines[4]!);
    expect([inbound.direction, outbound.direction]).toEqual(['inbound', 'outbound']);
    expect([inbound.bytesReceived, inbound.bytesSent]).toEqual([outbound.bytesReceived, outbound.bytesSent]);
  });

  it('reads quoted and bare values alike, and a plaintext source as not TLS', () => {
    const prometheus = lines.find((l) => l.includes('prometheus'))!;
    expect(entry(prometheus)).toMatchObject({ sourceWorkload: 'prometheus-66f897d897-8prjb', sourceNamespace: 'istio-system', tls: false });
    expect(entry(prometheus).sourcePrincipal).toBeUndefined();
  });
});

describe('other ztunnel lines', () => {
  it('reads the JSON log format and a kubectl prefix', () => {
    const json =
      '{"level":"info","time":"2026-08-10T08:19:58.950669Z","scope":"access","message":"connection complete","src.addr":"10.244.0.6:57866","src.workload":"http-client","src.namespace":"default","dst.addr":"10.244.0.7:15008","dst.hbone_addr":"10.244.0.7:18080","dst.service":"http-service.default.svc.cluster.local","direction":"outbound","bytes_sent":16,"bytes_recv":32,"duration":"1006ms"}';
    expect(parseZtunnelLine(`2026-08-10T08:19:59.000000001Z ${json}`)).toMatchObject({
      startTimeUnixNano: ns('2026-08-10T08:19:57.944Z') + 669_000n,
      bytesReceived: 16n,
      bytesSent: 32n,
      downstreamLocalAddress: '10.244.0.7:18080',
    });
    expect(parseZtunnelLine(`2026-08-10T08:19:59Z ${lines[0]!}`)).toStrictEqual(parseZtunnelLine(lines[0]!));
  });

  it('keeps the error of a failed connection, unescaping Rust debug strings', () => {
    const line =
      '2024-07-02T13:41:03.203349Z\twarn\taccess\tconnection failed\tsrc.addr=10.0.0.1:1234 dst.addr=10.0.0.2:80 direction="outbound" error="connection closed due to policy rejection: \\"deny\\" \\u{e9}"';
    expect(entry(line)).toMatchObject({ connectionTerminationDetails: 'connection closed due to policy rejection: "deny" é', startTimeUnixNano: ns('2024-07-02T13:41:03.203Z') + 349_000n });
  });

  it('skips lines that are not connection records', () => {
    expect(parseZtunnelLine('2024-07-02T13:41:03.203349Z\tinfo\txds::client\treceived response\ttype_url="x"')).toBeNull();
    expect(parseZtunnelLine('2024-07-02T13:41:03.203349Z\tdebug\taccess\tconnection opened\tsrc.addr=1.2.3.4:5 dst.addr=5.6.7.8:9')).toBeNull();
  });

  it.each([
    ['just text', 'not a ztunnel log line'],
    ['yesterday\tinfo\taccess\tconnection complete\tsrc.addr=1.2.3.4:5', 'time: not an RFC 3339 time'],
    ['2024-07-02T13:41:03Z\tinfo\taccess\tconnection complete\tsrc.addr=1.2.3.4:5 bytes_sent=lots', 'bytes_sent: expected a byte count, got "lots"'],
    ['2024-07-02T13:41:03Z\tinfo\taccess\tconnection complete\tsrc.addr=1.2.3.4:5 duration="soon"', 'duration: expected a duration'],
    ['2024-07-02T13:41:03Z\tinfo\taccess\tconnection complete\tsrc.addr=1.2.3.4:5 direction=sideways', 'direction: expected "inbound" or "outbound"'],
    ['2024-07-02T13:41:03Z\tinfo\taccess\tconnection complete\tsrc.addr=1.2.3.4:5 error="open', 'error: unterminated'],
    ['2024-07-02T13:41:03Z\tinfo\taccess\tconnection complete\tbytes_sent=1', 'neither is present'],
  ])('refuses %j', (line, reason) => {
    expect(parseZtunnelLine(line)).toContain(reason);
  });

  it('reads durations', () => {
    expect(parseDurationNanos('8ms')).toBe(8_000_000n);
    expect(parseDurationNanos('1.5s')).toBe(1_500_000_000n);
    expect(parseDurationNanos('250µs')).toBe(250_000n);
    expect(parseDurationNanos('8 ms')).toBeUndefined();
  });
});
