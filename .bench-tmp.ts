import { readFileSync } from 'node:fs';
import { parseLines } from '/work/main/collector/access-log/lines.ts';
import { ISTIO_TEXT_FORMAT } from '/work/main/collector/access-log/istio-text.ts';
import { parseIstioTextLine } from '/work/main/collector/access-log/istio-text.ts';
const fx = (f: string) => readFileSync('/work/shared/fixtures/' + f, 'utf8').split('\n').filter(Boolean);
const istio = [...fx('istio-docs-access-log-default-format.log'), ...fx('kiali-waypoint-envoy-access.log').map(l => l.slice(l.indexOf(' ') + 1))];
const zt = fx('kiali-ztunnel-access.log');
const ts = (i: number) => new Date(1700000000000 + i * 7).toISOString();
function batch(lines: string[], n: number, mut?: (l: string, i: number) => string) { const out: string[] = []; for (let i = 0; i < n; i++) out.push(mut ? mut(lines[i % lines.length]!, i) : lines[i % lines.length]!); return out.join('\n'); }
const N = 200_000;
const textBatch = batch(istio, N, (l, i) => l.replace(/^\[[^\]]+\]/, `[${ts(i)}]`));
const json = istio.map((l) => { const e = parseIstioTextLine(l) as any; return JSON.stringify({ start_time: new Date(Number(e.startTimeUnixNano / 1000000n)).toISOString(), method: e.method, path: e.path, protocol: e.protocol, response_code: e.responseCode, response_flags: '-', response_code_details: e.responseCodeDetails, connection_termination_details: null, upstream_transport_failure_reason: null, bytes_received: Number(e.bytesReceived), bytes_sent: Number(e.bytesSent), duration: Number(e.durationNanos / 1000000n), upstream_service_time: String(e.upstreamServiceTimeMs), x_forwarded_for: null, user_agent: e.userAgent, request_id: e.requestId, authority: e.authority, upstream_host: e.upstreamHost, upstream_cluster: e.upstreamCluster, upstream_local_address: e.upstreamLocalAddress, downstream_local_address: e.downstreamLocalAddress, downstream_remote_address: e.downstreamRemoteAddress, requested_server_name: e.requestedServerName ?? null, route_name: e.routeName }); });
const jsonBatch = batch(json, N);
const ztBatch = batch(zt, N);
const kubectlBatch = batch(fx('kiali-waypoint-envoy-access.log'), N);
function run(name: string, text: string, fmt: any) {
  for (let w = 0; w < 3; w++) parseLines(text, fmt);
  const runs = 5; let best = Infinity; let r: any;
  for (let k = 0; k < runs; k++) { const t = process.hrtime.bigint(); r = parseLines(text, fmt); const d = Number(process.hrtime.bigint() - t) / 1e9; best = Math.min(best, d); }
  console.log(`${name.padEnd(34)} ${(N / best / 1000).toFixed(0).padStart(6)}k lines/s  (${(text.length / N).toFixed(0)} B/line, entries ${r.entries.length}, rejected ${r.rejected.length})`);
}
run('istio-text', textBatch, 'istio-text');
run('istio-text (kubectl prefix)', kubectlBatch, 'istio-text');
run('envoy format (Istio default)', textBatch, { envoy: ISTIO_TEXT_FORMAT });
run('auto (istio text)', textBatch, 'auto');
run('istio-json', jsonBatch, 'istio-json');
run('ztunnel', ztBatch, 'ztunnel');
run('auto (ztunnel)', ztBatch, 'auto');
