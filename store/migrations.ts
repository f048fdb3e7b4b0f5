/**
 * The product schema as an ordered list of migrations. Append new migrations at the end with the
 * next version number; never edit one that has shipped (its checksum is recorded and `migrate`
 * refuses to run when an applied migration's statements change).
 *
 * Each statement must be idempotent (`IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`, ...): a
 * migration that fails halfway is not recorded and is re-run from its first statement.
 *
 * Adding tables (one definition serves chDB, a single server and a cluster):
 *
 *   const CALLS: TableDef = { name: 'calls', columns: [...], engine: { kind: 'MergeTree' },
 *     partitionBy: 'toDate(Timestamp)', orderBy: [...], ttl: { expr: 'toDateTime(Timestamp)', class: 'calls' },
 *     shardingKey: 'cityHash64(TraceId)' };
 *   createObjectsMigration(2, 'calls', [CALLS], [CALLS_MV])   // appended to MIGRATIONS
 *
 * Changing existing tables: a hand-written migration whose statements use `renderAlterTable`
 * (`{ alsoDistributed: true }` for column changes), and list the new definition in `tables`
 * when its TTL expression changed. Reference tables in product SQL and view SELECTs by their
 * logical name; on a cluster that is the Distributed table, and views use `{{name}}` so they
 * bind to the `_local` tables.
 */
import { createHash } from 'node:crypto';
import { OTEL_TABLES, OTEL_VIEWS } from './otel-schema.ts';
import { renderObjects, type MaterializedViewDef, type SchemaContext, type TableDef } from './schema.ts';

export type MigrationContext = SchemaContext;

export interface Migration {
  /** Positive integer, strictly increasing through {@link MIGRATIONS}. */
  readonly version: number;
  /** Short snake_case description, recorded in `schema_migrations`. */
  readonly name: string;
  /** DDL statements, one per element, without trailing `;`. Render with the helpers in `schema.ts` so one definition serves single node and cluster. */
  statements(ctx: MigrationContext): string[];
  /** Tables this migration creates or redefines (latest definition per name wins); `migrate` reconciles their TTL with the configured `ttlDays`. */
  readonly tables?: readonly TableDef[];
}

/** Builds a migration that creates tables (in order) and then materialized views. */
export function createObjectsMigration(
  version: number,
  name: string,
  tables: readonly TableDef[],
  views: readonly MaterializedViewDef[] = [],
): Migration {
  return { version, name, tables, statements: (ctx) => renderObjects(tables, views, ctx) };
}

export const MIGRATIONS: readonly Migration[] = [
  createObjectsMigration(1, 'otel_raw_tables', OTEL_TABLES, OTEL_VIEWS),
];

/**
 * Context the checksum is computed in: fixed database name, single node, no TTL. Deployment
 * options (database, cluster, retention) therefore never change a checksum; only a change to
 * the definitions does.
 */
export const CHECKSUM_CONTEXT: MigrationContext = { database: 'meshsight' };

export function migrationChecksum(m: Migration): string {
  const normalized = m
    .statements(CHECKSUM_CONTEXT)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .join(';\n');
  return createHash('sha256').update(normalized).digest('hex');
}

/** Throws unless versions are positive integers in strictly increasing order and names are non-empty. */
export function validateMigrations(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= 0 || m.version > 0xffffffff) {
      throw new Error(`migration ${JSON.stringify(m.name)}: version must be a positive 32-bit integer, got ${m.version}`);
    }
    if (m.version <= previous) {
      throw new Error(`migration ${m.version} (${m.name}) is out of order: versions must strictly increase (previous ${previous})`);
    }
    if (!/^[a-z0-9_]+$/.test(m.name)) throw new Error(`migration ${m.version}: name must be snake_case, got ${JSON.stringify(m.name)}`);
    previous = m.version;
  }
}
