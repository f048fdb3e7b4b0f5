import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/log.ts';
import {
  chdbPath,
  createObjectsMigration,
  createStore,
  flattenColumnNames,
  migrate,
  MIGRATIONS,
  OTEL_TABLES,
  OTEL_TRACES,
  OTEL_VIEWS,
  renderAllMigrations,
  renderMigrationsForCluster,
  type Migration,
  type Store,
} from '../../store/index.ts';

const log = silentLogger();
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const stores: Store[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshsight-store-'));
  dirs.push(dir);
  return dir;
}

function uniqueDb(): string {
  return `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

async function open(dataDir: string, database: string): Promise<Store> {
  const store = await createStore({ dataDir, database }, log);
  stores.push(store);
  return store;
}

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

/**
 * The parser's AST dump of a statement, one node per line. The client's `FORMAT` clause binds
 * to the explained statement, so chDB prints the dump in its default CSV (quoted lines).
 */
async function explainAst(client: ClickHouseClient, statement: string): Promise<string> {
  const rs = await client.query({ query: `EXPLAIN AST ${statement}`, format: 'TabSeparatedRaw' });
  return (await rs.text())
    .split('\n')
    .map((line) => line.replace(/^"(.*)"$/, '$1'))
    .join('\n');
}

/** Everything a no-op migrate must leave untouched. */
async function snapshot(store: Store): Promise<unknown> {
  const tables = await rows(
    store.client,
    'SELECT name, engine, engine_full, metadata_modification_time FROM system.tables WHERE database = {db:String} ORDER BY name',
    { db: store.database },
  );
  const applied = await rows(store.client, 'SELECT version, name, applied_at, checksum FROM {db:Identifier}.schema_migrations ORDER BY version', {
    db: store.database,
  });
  return { tables, applied };
}

async function ttlOf(store: Store, table: string): Promise<string> {
  const [row] = await rows<{ engine_full: string }>(
    store.client,
    'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
    { db: store.database, t: table },
  );
  return row?.engine_full ?? '';
}

afterEach(async () => {
  // chDB binds one data directory per process: close before the next test opens another.
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('store on chDB', () => {
  it('parses every cluster DDL statement (EXPLAIN AST), including the ones migrate issues on a cluster', async () => {
    const store = await open(tempDir(), uniqueDb());
    const statements = [
      ...renderMigrationsForCluster('mesh-cluster', 'meshsight', { ttlDays: { raw: 7 } }),
      // The statements migrate() itself issues on a cluster besides the DDL above.
      'ALTER TABLE `meshsight`.`otel_logs_local` ON CLUSTER `mesh-cluster`\n    MODIFY TTL toDateTime(Timestamp) + toIntervalDay(3)',
      'ALTER TABLE `meshsight`.`otel_logs_local` ON CLUSTER `mesh-cluster`\n    REMOVE TTL',
      ...renderAllMigrations({ database: 'meshsight', ttlDays: 7 }),
    ];
    for (const statement of statements) {
      const ast = await explainAst(store.client, statement);
      expect(ast.split('\n')[0], statement).toMatch(/^(CreateQuery|AlterQuery) /);
    }
    // And the parser really rejects broken DDL, so the loop above proves something.
    await expect(explainAst(store.client, `${statements[1] ?? ''} garbage(`)).rejects.toThrow(/Syntax error/);
  });

  it('migrates from scratch, creating every table with the expected columns, and a second run changes nothing', async () => {
    const store = await open(tempDir(), uniqueDb());
    const first = await migrate(store, { ttlDays: { raw: 7 } }, log);
    expect(first.applied).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    expect(first.current).toBe(MIGRATIONS.at(-1)?.version);

    const columns = await rows<{ table: string; name: string; type: string }>(
      store.client,
      'SELECT table, name, type FROM system.columns WHERE database = {db:String} ORDER BY table, position',
      { db: store.database },
    );
    for (const def of OTEL_TABLES) {
      expect(columns.filter((c) => c.table === def.name).map((c) => c.name), def.name).toEqual(flattenColumnNames(def));
    }
    const types = new Map(columns.filter((c) => c.table === 'otel_traces').map((c) => [c.name, c.type]));
    expect(types.get('Timestamp')).toBe('DateTime64(9)');
    expect(types.get('SpanAttributes')).toBe('Map(LowCardinality(String), String)');
    expect(types.get('Events.Timestamp')).toBe('Array(DateTime64(9))');
    const views = await rows<{ name: string }>(store.client, "SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView'", {
      db: store.database,
    });
    expect(views.map((v) => v.name)).toEqual(OTEL_VIEWS.map((v) => v.name));
    expect(await ttlOf(store, 'otel_traces')).toContain('TTL toDateTime(Timestamp) + toIntervalDay(7)');

    const before = await snapshot(store);
    const second = await migrate(store, { ttlDays: { raw: 7 } }, log);
    expect(second).toEqual({ applied: [], current: first.current, ttlUpdated: [] });
    expect(await snapshot(store)).toEqual(before);
  });

  it('keeps data across close and reopen on the same path, and the view fills the trace-id lookup', async () => {
    const dataDir = tempDir();
    const database = uniqueDb();
    let store = await open(dataDir, database);
    await migrate(store, {}, log);
    await store.client.insert({
      table: `${database}.otel_traces`,
      format: 'JSONEachRow',
      values: [
        { Timestamp: '2026-01-02 03:04:05.123456789', TraceId: 'abc', SpanId: 's1', ServiceName: 'checkout', SpanName: 'GET /', Duration: 1000 },
        { Timestamp: '2026-01-02 03:04:07.000000000', TraceId: 'abc', SpanId: 's2', ServiceName: 'cart', SpanName: 'GET /cart', Duration: 10 },
      ],
    });
    await store.close();

    store = await open(dataDir, database);
    expect((await migrate(store, {}, log)).applied).toEqual([]);
    const spans = await rows<{ SpanId: string }>(store.client, 'SELECT SpanId FROM {db:Identifier}.otel_traces ORDER BY SpanId', { db: database });
    expect(spans.map((s) => s.SpanId)).toEqual(['s1', 's2']);
    const lookup = await rows<{ TraceId: string; Start: string; End: string }>(
      store.client,
      'SELECT TraceId, min(Start) AS Start, max(End) AS End FROM {db:Identifier}.otel_traces_trace_id_ts GROUP BY TraceId',
      { db: database },
    );
    expect(lookup).toEqual([{ TraceId: 'abc', Start: '2026-01-02 03:04:05', End: '2026-01-02 03:04:07' }]);
  });

  it('keeps data for another process opening the same directory', async () => {
    const dataDir = tempDir();
    const store = await open(dataDir, uniqueDb());
    await migrate(store, {}, log);
    await store.client.insert({
      table: `${store.database}.otel_logs`,
      format: 'JSONEachRow',
      values: [{ Timestamp: '2026-01-02 03:04:05', ServiceName: 'api', Body: 'persisted' }],
    });
    await store.close();
    // A plain child process (no TypeScript), straight through chDB on the same directory.
    const script = [
      "import { createClient } from '@clickhouse/client';",
      "import { createChdbConnection } from 'chdb/connection';",
      `const client = createClient({ connection: createChdbConnection({ path: ${JSON.stringify(chdbPath(dataDir))} }) });`,
      "const rs = await client.query({ query: 'SELECT Body FROM {db:Identifier}.otel_logs', query_params: { db: process.argv[1] }, format: 'JSONEachRow' });",
      'process.stdout.write(JSON.stringify(await rs.json()));',
      'await client.close();',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, store.database], { cwd: repoRoot, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([{ Body: 'persisted' }]);
  });

  it('does not record a migration whose statement fails, and re-runs it next time', async () => {
    const store = await open(tempDir(), uniqueDb());
    let fail = true;
    const flaky: Migration = {
      version: 1,
      name: 'flaky',
      statements: (ctx) => [
        `CREATE TABLE IF NOT EXISTS ${ctx.database}.a (x UInt8) ENGINE = MergeTree ORDER BY x`,
        fail ? 'CREATE TABLE broken (' : `CREATE TABLE IF NOT EXISTS ${ctx.database}.b (x UInt8) ENGINE = MergeTree ORDER BY x`,
      ],
    };
    await expect(migrate(store, { migrations: [flaky] }, log)).rejects.toThrow(/migration 1 \(flaky\) failed at statement 2\/2/);
    expect(await rows(store.client, 'SELECT * FROM {db:Identifier}.schema_migrations', { db: store.database })).toEqual([]);
    fail = false; // the definition is fixed before it was ever recorded, so no checksum conflict
    expect((await migrate(store, { migrations: [flaky] }, log)).applied).toEqual([{ version: 1, name: 'flaky' }]);
  });

  it('drops a retried insert with the same deduplication token', async () => {
    const store = await open(tempDir(), uniqueDb());
    await migrate(store, {}, log);
    const batch = {
      table: `${store.database}.otel_logs`,
      format: 'JSONEachRow' as const,
      values: [{ Timestamp: '2026-01-02 03:04:05', ServiceName: 'api', Body: 'hello' }],
      clickhouse_settings: { insert_deduplication_token: 'topic-0-42' },
    };
    await store.client.insert(batch);
    await store.client.insert(batch);
    // UInt64 arrives as a JSON string on both engines (see SHARED_SETTINGS in store/client.ts).
    const [count] = await rows<{ c: string }>(store.client, 'SELECT count() AS c FROM {db:Identifier}.otel_logs', { db: store.database });
    expect(count?.c).toBe('1');
  });

  it('refuses to run when an applied migration changed, naming it', async () => {
    const store = await open(tempDir(), uniqueDb());
    const original = createObjectsMigration(1, 'first', [OTEL_TRACES]);
    await migrate(store, { migrations: [original] }, log);
    const edited = createObjectsMigration(1, 'first', [
      { ...OTEL_TRACES, columns: [...OTEL_TRACES.columns, { name: 'Extra', type: 'String' }] },
    ]);
    const next = createObjectsMigration(2, 'second', [{ ...OTEL_TRACES, name: 'other' }]);
    await expect(migrate(store, { migrations: [edited, next] }, log)).rejects.toThrow(/migration 1 \(first\).*checksum/);
    // Nothing of the pending migration ran.
    const tables = await rows<{ name: string }>(store.client, 'SELECT name FROM system.tables WHERE database = {db:String} AND name = {t:String}', {
      db: store.database,
      t: 'other',
    });
    expect(tables).toEqual([]);
    // The unchanged list plus a new migration applies just the new one.
    expect((await migrate(store, { migrations: [original, next] }, log)).applied).toEqual([{ version: 2, name: 'second' }]);
  });

  it('reconciles TTL with the configured retention only where it differs', async () => {
    const store = await open(tempDir(), uniqueDb());
    await migrate(store, { ttlDays: { raw: 30 } }, log);
    expect(await ttlOf(store, 'otel_logs')).toContain('toIntervalDay(30)');

    const shorter = await migrate(store, { ttlDays: { raw: 30, otel_logs: 3 } }, log);
    expect(shorter.ttlUpdated).toEqual(['otel_logs']);
    expect(await ttlOf(store, 'otel_logs')).toContain('TTL toDateTime(Timestamp) + toIntervalDay(3)');
    expect(await ttlOf(store, 'otel_traces')).toContain('toIntervalDay(30)');

    expect((await migrate(store, { ttlDays: { raw: 30, otel_logs: 3 } }, log)).ttlUpdated).toEqual([]);
    expect((await migrate(store, {}, log)).ttlUpdated).toEqual([]); // no retention configured: leave as is
    const removed = await migrate(store, { ttlDays: 0 }, log);
    expect(removed.ttlUpdated).toHaveLength(OTEL_TABLES.length);
    expect(await ttlOf(store, 'otel_logs')).not.toContain('TTL');
  });

  it('shares one chDB session per path and refuses a second path with a clear error', async () => {
    const dataDir = tempDir();
    const a = await open(dataDir, uniqueDb());
    const b = await open(dataDir, uniqueDb());
    expect(b.client).toBe(a.client);
    await expect(open(tempDir(), uniqueDb())).rejects.toThrow(/chDB is already open at .* binds one data directory per process/);
    await a.close();
    await a.close(); // idempotent
    await expect(a.ping()).rejects.toThrow(/closed/);
    await b.ping(); // still open: the session is reference-counted
    await b.close();
    await expect(b.ping()).rejects.toThrow();
    await expect(createStore({ dataDir, database: 'x', cluster: 'c' }, log)).rejects.toThrow(/cluster requires/);
    await expect(createStore({ dataDir, database: 'bad-name' }, log)).rejects.toThrow(/invalid database name/);
  });
});
