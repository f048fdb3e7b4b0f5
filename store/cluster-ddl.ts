/**
 * The full DDL of the product schema as a list of statements, for review or manual application
 * (`meshsight migrate --print [--cluster c]`). Applying it by hand does not record versions in
 * `schema_migrations`; run `meshsight migrate` afterwards, which will find every object present
 * (all statements are IF NOT EXISTS) and record the versions.
 */
import { renderMigrationsTable } from './migrate.ts';
import { MIGRATIONS, validateMigrations, type Migration, type MigrationContext } from './migrations.ts';
import { renderCreateDatabase, type TtlDays } from './schema.ts';
import { assertClusterName } from './sql.ts';

export interface RenderMigrationsOptions {
  readonly ttlDays?: TtlDays;
  readonly migrations?: readonly Migration[];
}

/** Database, migrations table, then every migration's statements in version order. */
export function renderAllMigrations(ctx: MigrationContext, options: Omit<RenderMigrationsOptions, 'ttlDays'> = {}): string[] {
  const migrations = options.migrations ?? MIGRATIONS;
  validateMigrations(migrations);
  return [renderCreateDatabase(ctx), renderMigrationsTable(ctx), ...migrations.flatMap((m) => m.statements(ctx))];
}

/** Every DDL statement for a cluster: `_local` Replicated tables, Distributed tables, views, all ON CLUSTER. */
export function renderMigrationsForCluster(cluster: string, database: string, options: RenderMigrationsOptions = {}): string[] {
  const ctx: MigrationContext = {
    database,
    cluster: assertClusterName(cluster),
    ...(options.ttlDays === undefined ? {} : { ttlDays: options.ttlDays }),
  };
  return renderAllMigrations(ctx, options.migrations === undefined ? {} : { migrations: options.migrations });
}

/** Statements joined as a script (`;` terminated, blank line between). */
export function formatSqlScript(statements: readonly string[]): string {
  return statements.map((s) => `${s};\n`).join('\n');
}
