import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMeshsight, waitForOk } from '../helpers/run-meshsight.ts';

describe('meshsight all-in-one', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshsight-aio-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on a fresh data folder within 15 s, reports ready and metrics, and stops cleanly on SIGTERM', async () => {
    const started = Date.now();
    const app = runMeshsight(['all-in-one'], {
      MESHSIGHT_DATA_DIR: dataDir,
      MESHSIGHT_QUERY__LISTEN: '127.0.0.1:0',
      MESHSIGHT_COLLECTOR__OTLP__GRPC_LISTEN: '127.0.0.1:0',
      MESHSIGHT_COLLECTOR__HTTP_LISTEN: '127.0.0.1:0',
      MESHSIGHT_COLLECTOR__ENVOY_ALS__LISTEN: '127.0.0.1:0',
    });
    try {
      const port = await app.portOf('all-in-one-http');
      const ready = await waitForOk(`http://127.0.0.1:${port}/readyz`, 15_000);
      expect(Date.now() - started).toBeLessThan(15_000);
      const body = (await ready.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
      expect(body.status).toBe('ready');
      expect(body.checks.map((c) => c.name).sort()).toEqual(['bus (memory)', 'clickhouse']);

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^# TYPE meshsight_process_cpu_user_seconds_total counter$/m);
      expect(metrics).toMatch(/^meshsight_nodejs_heap_size_used_bytes \d+/m);
    } finally {
      const code = await app.stop('SIGTERM');
      expect(code).toBe(0);
    }
    expect(app.logs.some((l) => l['msg'] === 'stopped' && l['component'] === 'clickhouse')).toBe(true);
  });

  it('refuses a bad configuration with a message naming the key', async () => {
    const app = runMeshsight(['config', 'check'], { MESHSIGHT_KAFKA__PARTITIONS: 'lots' });
    const code = await app.exited;
    expect(code).toBe(2);
    expect(app.stderr()).toContain('kafka.partitions (from environment variable MESHSIGHT_KAFKA__PARTITIONS): expected number, got string "lots"');
  });
});
