import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/log.ts';
import {
  createObjectsMigration,
  extractTtl,
  flattenColumnNames,
  migrate,
  migrationChecksum,
  MIGRATIONS,
  OTEL_LOGS,
  OTEL_TABLES,
  OTEL_TRACES,
  OTEL_VIEWS,
  renderAlterTable,
  renderCreateMaterializedView,
  renderCreateTable,
  renderMigrationsForCluster,
  resolveTtlDays,
  validateMigrations,
  type Migration,
  type Store,
} from '../../store/index.ts';

/** Parentheses balance outside string literals and back-quoted identifiers. */
function balanced(sql: string): boolean {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0 && quote === undefined;
}

/** A Store whose client records every statement and answers every query with no rows. */
function recordingStore(cluster?: string): { store: Store; commands: Array<{ query: string; query_params?: Record<string, unknown> }> } {
  const commands: Array<{ query: string; query_params?: Record<string, unknown> }> = [];
  const client = {
    command: (p: { query: string; query_params?: Record<string, unknown> }) => {
      commands.push(p);
      return Promise.resolve({ query_id: 'x' });
    },
    query: () => Promise.resolve({ json: () => Promise.resolve([]) }),
  } as unknown as ClickHouseClient;
  const store: Store = {
    client,
    database: 'meshsight',
    engine: 'server',
    ...(cluster === undefined ? {} : { cluster }),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { store, commands };
}

describe('single-node DDL', () => {
  it('renders the exporter layout of otel_traces', () => {
    const [sql, ...rest] = renderCreateTable(OTEL_TRACES, { database: 'db', ttlDays: 3 });
    expect(rest).toEqual([]);
    expect(sql).toMatch(/^CREATE TABLE IF NOT EXISTS `db`\.`otel_traces`\n\(/);
    expect(sql).toContain('`Timestamp` DateTime64(9) CODEC(Delta(8), ZSTD(1))');
    expect(sql).toContain('`Duration` UInt64 CODEC(T64, ZSTD(1))');
    expect(sql).toContain('INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1');
    expect(sql).toContain('ENGINE = MergeTree\n');
    expect(sql).toContain('PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))');
    expect(sql).toContain('ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)');
    expect(sql).toContain('TTL toDateTime(Timestamp) + toIntervalDay(3)');
    expect(sql).not.toContain('ON CLUSTER');
    expect(balanced(sql ?? '')).toBe(true);
  });

  it('renders TTL per table, per retention class, or not at all', () => {
    const ttl = (t: Parameters<typeof renderCreateTable>[1]['ttlDays']) => renderCreateTable(OTEL_LOGS, { database: 'db', ttlDays: t })[0];
    expect(ttl(undefined)).not.toContain('TTL');
    expect(ttl(0)).not.toContain('TTL');
    expect(ttl({ raw: 7, calls: 30 })).toContain('TTL toDateTime(Timestamp) + toIntervalDay(7)');
    expect(ttl({ raw: 7, otel_logs: 2 })).toContain('toIntervalDay(2)');
    expect(ttl({ calls: 30 })).not.toContain('TTL');
    expect(() => ttl(-1)).toThrow(/non-negative integer/);
    expect(resolveTtlDays({ default: 5 }, 'x', 'raw')).toBe(5);
  });

  it('keeps every table and view name and all column names of the exporter schema', () => {
    expect(OTEL_TABLES.map((t) => t.name)).toEqual([
      'otel_traces',
      'otel_traces_trace_id_ts',
      'otel_logs',
      'otel_metrics_gauge',
      'otel_metrics_sum',
      'otel_metrics_histogram',
      'otel_metrics_exponential_histogram',
      'otel_metrics_summary',
    ]);
    expect(flattenColumnNames(OTEL_TRACES)).toContain('Events.Attributes');
    expect(flattenColumnNames(OTEL_TRACES)).toContain('Links.TraceState');
    for (const t of OTEL_TABLES) expect(new Set(flattenColumnNames(t)).size).toBe(flattenColumnNames(t).length);
  });

  it('resolves {{table}} references in views and rejects bad identifiers', () => {
    const [mv] = renderCreateMaterializedView(OTEL_VIEWS[0]!, { database: 'db' });
    expect(mv).toContain('FROM `db`.`otel_traces`');
    expect(mv).toContain('TO `db`.`otel_traces_trace_id_ts`');
    expect(() => renderCreateTable(OTEL_TRACES, { database: 'bad-name' })).toThrow(/invalid database name/);
    expect(() => renderCreateTable(OTEL_TRACES, { database: 'db', cluster: 'x y' })).toThrow(/invalid cluster name/);
    expect(() => renderCreateMaterializedView({ name: 'v', to: 't', select: 'SELECT 1 FROM {{a b}}' }, { database: 'db' })).toThrow();
  });
});

describe('cluster DDL', () => {
  const cluster = 'mesh-cluster';
  const statements = renderMigrationsForCluster(cluster, 'db', { ttlDays: { raw: 7 } });

  it('puts every statement ON CLUSTER and keeps parentheses balanced', () => {
    expect(statements.length).toBeGreaterThan(OTEL_TABLES.length * 2);
    for (const s of statements) {
      expect(s).toMatch(/^CREATE (DATABASE|TABLE|MATERIALIZED VIEW) IF NOT EXISTS /);
      expect(s).toContain('ON CLUSTER `mesh-cluster`');
      expect(balanced(s)).toBe(true);
      expect(s).not.toMatch(/\{\{|\}\}/);
    }
  });

  it('creates replicated _local tables with {shard}/{replica} macros and a Distributed table for each', () => {
    const locals = statements.filter((s) => /^CREATE TABLE IF NOT EXISTS `db`\.`\w+_local`/.test(s));
    expect(locals.map((s) => /`db`\.`(\w+)_local`/.exec(s)?.[1])).toEqual(OTEL_TABLES.map((t) => t.name));
    for (const s of locals) {
      const name = /`db`\.`(\w+_local)`/.exec(s)?.[1] ?? '';
      expect(s).toMatch(/ENGINE = Replicated(Aggregating)?MergeTree\('/);
      expect(s).toContain(`'/clickhouse/tables/{shard}/db/${name}', '{replica}'`);
      const distributed = statements.find((d) => d.includes(`AS \`db\`.\`${name}\``));
      expect(distributed, name).toBeDefined();
      expect(distributed).toContain(`ENGINE = Distributed('${cluster}', 'db', '${name}', `);
      expect(distributed).toMatch(new RegExp(`^CREATE TABLE IF NOT EXISTS \`db\`\\.\`${name.replace(/_local$/, '')}\` ON CLUSTER`));
    }
    const migrationsTable = statements.find((s) => s.includes('`schema_migrations`'));
    expect(migrationsTable).toContain("ReplicatedMergeTree('/clickhouse/tables/all/db/schema_migrations', '{shard}-{replica}')");
    expect(statements.filter((s) => /ENGINE = (Replicated|Distributed)/.test(s) || s.startsWith('CREATE DATABASE') || s.includes('MATERIALIZED VIEW'))).toEqual(
      statements,
    );
  });

  it('points materialized views at _local source and target', () => {
    const views = statements.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'));
    expect(views).toHaveLength(OTEL_VIEWS.length);
    for (const v of views) {
      expect(v).toMatch(/\nTO `db`\.`\w+_local`\n/);
      for (const from of v.matchAll(/FROM (`db`\.`\w+`)/g)) expect(from[1]).toMatch(/_local`$/);
    }
  });

  it('renders ALTERs on the local table, and on the Distributed one for column changes', () => {
    const alters = renderAlterTable('otel_logs', ['ADD COLUMN IF NOT EXISTS X String'], { database: 'db', cluster }, { alsoDistributed: true });
    expect(alters).toHaveLength(2);
    expect(alters[0]).toMatch(/^ALTER TABLE `db`\.`otel_logs_local` ON CLUSTER `mesh-cluster`\n/);
    expect(alters[1]).toMatch(/^ALTER TABLE `db`\.`otel_logs` ON CLUSTER/);
    expect(renderAlterTable('otel_logs', ['MODIFY TTL x'], { database: 'db' })).toEqual(['ALTER TABLE `db`.`otel_logs`\n    MODIFY TTL x']);
  });
});

describe('migrations', () => {
  it('are ordered and named', () => {
    expect(() => validateMigrations(MIGRATIONS)).not.toThrow();
    const m = (version: number, name = 'x'): Migration => ({ version, name, statements: () => [] });
    expect(() => validateMigrations([m(1), m(1)])).toThrow(/out of order/);
    expect(() => validateMigrations([m(2), m(1)])).toThrow(/out of order/);
    expect(() => validateMigrations([m(0)])).toThrow(/positive/);
    expect(() => validateMigrations([m(1, 'Bad Name')])).toThrow(/snake_case/);
  });

  it('checksums depend on definitions, not on deployment options', () => {
    const first = MIGRATIONS[0]!;
    expect(migrationChecksum(first)).toMatch(/^[0-9a-f]{64}$/);
    const same = createObjectsMigration(1, 'otel_raw_tables', OTEL_TABLES, OTEL_VIEWS);
    expect(migrationChecksum(same)).toBe(migrationChecksum(first));
    const changed = createObjectsMigration(1, 'otel_raw_tables', [
      { ...OTEL_TRACES, columns: [...OTEL_TRACES.columns, { name: 'Extra', type: 'String' }] },
    ]);
    expect(migrationChecksum(changed)).not.toBe(migrationChecksum(first));
  });

  it('extracts the TTL from engine_full', () => {
    expect(extractTtl('MergeTree ORDER BY a TTL toDateTime(t) + toIntervalDay(3) SETTINGS index_granularity = 8192')).toBe(
      'toDateTime(t) + toIntervalDay(3)',
    );
    expect(extractTtl('MergeTree ORDER BY a TTL toDateTime(t) + toIntervalDay(3)')).toBe('toDateTime(t) + toIntervalDay(3)');
    expect(extractTtl('MergeTree ORDER BY a SETTINGS index_granularity = 8192')).toBeUndefined();
  });

  it('on a cluster, issues ON CLUSTER DDL only and records versions with bound parameters', async () => {
    const { store, commands } = recordingStore('c1');
    const result = await migrate(store, { ttlDays: { raw: 7 } }, silentLogger());
    expect(result.applied).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    const ddl = commands.filter((c) => !c.query.startsWith('INSERT'));
    expect(ddl[0]?.query).toContain("CREATE TABLE IF NOT EXISTS `meshsight`.`schema_migrations` ON CLUSTER `c1`");
    for (const c of ddl) expect(c.query).toContain('ON CLUSTER `c1`');
    const inserts = commands.filter((c) => c.query.startsWith('INSERT'));
    expect(inserts).toHaveLength(MIGRATIONS.length);
    expect(inserts[0]?.query).toContain('{version:UInt32}');
    expect(inserts[0]?.query_params).toMatchObject({ db: 'meshsight', table: 'schema_migrations', version: 1, name: MIGRATIONS[0]?.name });
  });
});
