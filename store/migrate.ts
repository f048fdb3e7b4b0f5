/**
 * Versioned, idempotent schema migration. Applied versions are recorded in
 * `<db>.schema_migrations` with a checksum of their statements; a run applies only the
 * versions not recorded yet, in order, and refuses to run when an applied migration changed.
 * Afterwards the TTL of every table with a retention expression is reconciled with `ttlDays`.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../runtime/log.ts';
import type { Store } from './client.ts';
import { MIGRATIONS, migrationChecksum, validateMigrations, type Migration, type MigrationContext } from './migrations.ts';
import { renderAlterTable, renderTtlExpr, storageTableName, type TableDef, type TtlDays } from './schema.ts';
import { onCluster, qualifiedName, quoteString } from './sql.ts';

export const MIGRATIONS_TABLE = 'schema_migrations';

export interface MigrateOptions {
  /**
   * Retention of the tables that have a TTL expression. When given, existing tables are altered
   * to match (`MODIFY TTL` / `REMOVE TTL`, only where it differs); when absent, existing TTLs are
   * left as they are and new tables get none.
   */
  readonly ttlDays?: TtlDays;
  /** Migration list; defaults to the product's {@link MIGRATIONS}. */
  readonly migrations?: readonly Migration[];
}

export interface MigrateResult {
  /** Migrations applied by this run, in order; empty when the schema was current. */
  applied: Array<{ version: number; name: string }>;
  /** Highest version recorded after the run (0 when none). */
  current: number;
  /** Storage tables whose TTL was changed by this run. */
  ttlUpdated: string[];
}

/** DDL of the migrations table. On a cluster one replicated table spans every node (one replica per `{shard}-{replica}`), so any node knows what was applied. */
export function renderMigrationsTable(ctx: Pick<MigrationContext, 'database' | 'cluster'>): string {
  const engine =
    ctx.cluster === undefined
      ? 'MergeTree'
      : `ReplicatedMergeTree(${quoteString(`/clickhouse/tables/all/${ctx.database}/${MIGRATIONS_TABLE}`)}, ${quoteString('{shard}-{replica}')})`;
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(ctx.database, MIGRATIONS_TABLE)}${onCluster(ctx.cluster)}`,
    '(',
    '    `version` UInt32,',
    '    `name` String,',
    '    `applied_at` DateTime64(3),',
    '    `checksum` String',
    ')',
    `ENGINE = ${engine}`,
    'ORDER BY version',
  ].join('\n');
}

const SELECT_APPLIED = 'SELECT version, name, checksum FROM {db:Identifier}.{table:Identifier} ORDER BY version';
const INSERT_APPLIED =
  'INSERT INTO {db:Identifier}.{table:Identifier} (version, name, applied_at, checksum) ' +
  'VALUES ({version:UInt32}, {name:String}, now64(3), {checksum:String})';
const SELECT_ENGINES =
  'SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}';

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Applies pending migrations to the store's database. A second run with the same migrations is a no-op. */
export async function migrate(store: Store, options: MigrateOptions, log: Logger): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  validateMigrations(migrations);
  const mlog = log.child({ component: 'migrate' });
  const ctx: MigrationContext = {
    database: store.database,
    ...(store.cluster === undefined ? {} : { cluster: store.cluster }),
    ...(options.ttlDays === undefined ? {} : { ttlDays: options.ttlDays }),
  };
  const { client } = store;
  const tableParams = { db: store.database, table: MIGRATIONS_TABLE };

  await client.command({ query: renderMigrationsTable(ctx) });
  const recorded = await rows<AppliedRow>(client, SELECT_APPLIED, tableParams);
  const recordedByVersion = new Map<number, AppliedRow>();
  for (const r of recorded) if (!recordedByVersion.has(r.version)) recordedByVersion.set(r.version, r);

  const changed: string[] = [];
  for (const m of migrations) {
    const row = recordedByVersion.get(m.version);
    if (row === undefined) continue;
    const checksum = migrationChecksum(m);
    if (row.checksum !== checksum) {
      changed.push(`migration ${m.version} (${m.name}): recorded checksum ${row.checksum.slice(0, 12)}…, code has ${checksum.slice(0, 12)}…`);
    }
    if (row.name !== m.name) mlog.warn({ version: m.version, recorded: row.name, code: m.name }, 'applied migration was renamed');
  }
  if (changed.length > 0) {
    throw new Error(
      `schema migrations changed after they were applied to database ${store.database}: ${changed.join('; ')}. ` +
        'Applied migrations must not be edited; add a new migration instead.',
    );
  }
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...recordedByVersion.keys()].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    mlog.warn({ versions: unknown }, 'database has migrations this build does not know (newer build?); leaving them alone');
  }

  const applied: MigrateResult['applied'] = [];
  const highestRecorded = Math.max(0, ...recordedByVersion.keys());
  for (const m of migrations) {
    if (recordedByVersion.has(m.version)) continue;
    if (m.version < highestRecorded) {
      mlog.warn({ version: m.version, highestRecorded }, 'applying a migration older than the newest applied one');
    }
    const statements = m.statements(ctx);
    mlog.info({ version: m.version, name: m.name, statements: statements.length }, 'applying migration');
    for (const [i, query] of statements.entries()) {
      try {
        await client.command({ query });
      } catch (err) {
        throw new Error(`migration ${m.version} (${m.name}) failed at statement ${i + 1}/${statements.length}: ${message(err)}`, {
          cause: err,
        });
      }
    }
    await client.command({
      query: INSERT_APPLIED,
      query_params: { ...tableParams, version: m.version, name: m.name, checksum: migrationChecksum(m) },
    });
    recordedByVersion.set(m.version, { version: m.version, name: m.name, checksum: migrationChecksum(m) });
    applied.push({ version: m.version, name: m.name });
  }

  const ttlUpdated = options.ttlDays === undefined ? [] : await reconcileTtl(store, ctx, migrations, recordedByVersion, mlog);
  const current = Math.max(0, ...recordedByVersion.keys());
  mlog.info({ database: store.database, applied: applied.length, current, ttlUpdated }, 'schema is current');
  return { applied, current, ttlUpdated };
}

/** The `TTL ...` expression in a `system.tables.engine_full` value, if any. */
export function extractTtl(engineFull: string): string | undefined {
  const m = / TTL (.+?)(?: SETTINGS |$)/.exec(engineFull);
  return m?.[1];
}

const compact = (s: string | undefined): string | undefined => s?.replace(/\s+/g, '');

async function reconcileTtl(
  store: Store,
  ctx: MigrationContext,
  migrations: readonly Migration[],
  recorded: ReadonlyMap<number, AppliedRow>,
  log: Logger,
): Promise<string[]> {
  const defs = new Map<string, TableDef>();
  for (const m of migrations) {
    if (!recorded.has(m.version)) continue;
    for (const t of m.tables ?? []) defs.set(t.name, t);
  }
  const withTtl = [...defs.values()].filter((t) => t.ttl !== undefined);
  if (withTtl.length === 0) return [];
  const names = withTtl.map((t) => storageTableName(t.name, ctx));
  const engines = new Map(
    (await rows<{ name: string; engine_full: string }>(store.client, SELECT_ENGINES, { db: store.database, names })).map(
      (r) => [r.name, r.engine_full],
    ),
  );
  const updated: string[] = [];
  for (const def of withTtl) {
    const storage = storageTableName(def.name, ctx);
    const engineFull = engines.get(storage);
    if (engineFull === undefined) continue; // dropped by a later migration
    const want = renderTtlExpr(def, ctx.ttlDays);
    const have = extractTtl(engineFull);
    if (compact(want) === compact(have)) continue;
    const action = want === undefined ? 'REMOVE TTL' : `MODIFY TTL ${want}`;
    for (const query of renderAlterTable(def.name, [action], ctx)) await store.client.command({ query });
    log.info({ table: storage, from: have ?? null, to: want ?? null }, 'table TTL changed');
    updated.push(storage);
  }
  return updated;
}
