export { chdbPath, createStore, type Store, type StoreConfig, type StoreEngine } from './client.ts';
export {
  flattenColumnNames,
  LOCAL_SUFFIX,
  renderAlterTable,
  renderCreateDatabase,
  renderCreateMaterializedView,
  renderCreateTable,
  renderObjects,
  renderTtlExpr,
  resolveTtlDays,
  storageTableName,
  type ColumnDef,
  type EngineKind,
  type IndexDef,
  type MaterializedViewDef,
  type SchemaContext,
  type TableDef,
  type TtlDays,
} from './schema.ts';
export {
  OTEL_LOGS,
  OTEL_METRICS_EXPONENTIAL_HISTOGRAM,
  OTEL_METRICS_GAUGE,
  OTEL_METRICS_HISTOGRAM,
  OTEL_METRICS_SUM,
  OTEL_METRICS_SUMMARY,
  OTEL_TABLES,
  OTEL_TRACES,
  OTEL_TRACES_TRACE_ID_TS,
  OTEL_TRACES_TRACE_ID_TS_MV,
  OTEL_VIEWS,
} from './otel-schema.ts';
export {
  CHECKSUM_CONTEXT,
  createObjectsMigration,
  migrationChecksum,
  MIGRATIONS,
  validateMigrations,
  type Migration,
  type MigrationContext,
} from './migrations.ts';
export { extractTtl, migrate, MIGRATIONS_TABLE, renderMigrationsTable, type MigrateOptions, type MigrateResult } from './migrate.ts';
export { formatSqlScript, renderAllMigrations, renderMigrationsForCluster, type RenderMigrationsOptions } from './cluster-ddl.ts';
export { assertClusterName, assertIdentifier, qualifiedName, quoteIdent } from './sql.ts';
