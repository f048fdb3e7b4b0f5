/**
 * Table and materialized-view definitions as data, and the renderers that turn one definition
 * into DDL for a single node (chDB or one server) or for a cluster (ReplicatedMergeTree `_local`
 * tables behind Distributed tables, everything ON CLUSTER).
 */
import { assertIdentifier, onCluster, qualifiedName, quoteIdent, quoteString } from './sql.ts';

export type EngineKind =
  | 'MergeTree'
  | 'ReplacingMergeTree'
  | 'AggregatingMergeTree'
  | 'SummingMergeTree'
  | 'CollapsingMergeTree'
  | 'VersionedCollapsingMergeTree';

export interface ColumnDef {
  readonly name: string;
  /** ClickHouse type, e.g. `LowCardinality(String)` or `Nested(Quantile Float64, Value Float64)`. */
  readonly type: string;
  /** Codec list without the `CODEC(...)` wrapper, e.g. `Delta(8), ZSTD(1)`. */
  readonly codec?: string;
  /** `DEFAULT` / `MATERIALIZED` / `ALIAS` expression. */
  readonly default?: { readonly kind: 'DEFAULT' | 'MATERIALIZED' | 'ALIAS'; readonly expr: string };
  readonly comment?: string;
}

export interface IndexDef {
  readonly name: string;
  readonly expr: string;
  /** e.g. `bloom_filter(0.01)`, `tokenbf_v1(32768, 3, 0)`, `minmax`. */
  readonly type: string;
  readonly granularity?: number;
}

export interface TableDef {
  /** Logical name: the table on a single node, the Distributed table on a cluster (`<name>_local` holds the data). */
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly indexes?: readonly IndexDef[];
  /** The engine family; on a cluster `Replicated` is prefixed and the ZooKeeper path / replica come first. */
  readonly engine: { readonly kind: EngineKind; readonly args?: readonly string[] };
  /** Sorting key expressions; empty means `tuple()`. */
  readonly orderBy: readonly string[];
  readonly partitionBy?: string;
  readonly primaryKey?: readonly string[];
  /**
   * Retention: `expr` is what the interval is added to (e.g. `toDateTime(Timestamp)`), `class`
   * the retention class whose days apply (`raw`, `calls`, `rollups`, ...). Days come from
   * {@link SchemaContext.ttlDays}.
   */
  readonly ttl?: { readonly expr: string; readonly class: string };
  readonly settings?: Readonly<Record<string, string | number>>;
  /** Sharding expression of the Distributed table on a cluster. Default `rand()`. */
  readonly shardingKey?: string;
}

export interface MaterializedViewDef {
  readonly name: string;
  /** Target table (logical name; `<to>_local` on a cluster). */
  readonly to: string;
  /**
   * The SELECT. Write table references as `{{table}}` (logical name); they render as
   * `` `db`.`table` `` on a single node and `` `db`.`table_local` `` on a cluster, so the view
   * fires on the shard-local inserts and writes to the shard-local target.
   */
  readonly select: string;
}

/**
 * Retention in days: one number for every table with a TTL, or a record looked up by logical
 * table name first, then by the table's retention class, then `default`
 * (e.g. `{ raw: 7, calls: 30, rollups: 90, otel_logs: 3 }`). 0 or no entry means no TTL.
 */
export type TtlDays = number | Readonly<Record<string, number | undefined>>;

export interface SchemaContext {
  readonly database: string;
  /** Cluster name (from `<remote_servers>`); when set, cluster DDL is rendered. */
  readonly cluster?: string;
  readonly ttlDays?: TtlDays;
}

export const LOCAL_SUFFIX = '_local';

/** The table that physically holds the rows: `<name>_local` on a cluster, `<name>` otherwise. */
export function storageTableName(name: string, ctx: Pick<SchemaContext, 'cluster'>): string {
  return ctx.cluster === undefined ? name : `${name}${LOCAL_SUFFIX}`;
}

/** Days of retention for a table (by name, then retention class, then `default`); undefined = keep forever. */
export function resolveTtlDays(ttlDays: TtlDays | undefined, table: string, retentionClass?: string): number | undefined {
  let days: number | undefined;
  if (typeof ttlDays === 'number') days = ttlDays;
  else if (ttlDays !== undefined) {
    days = ttlDays[table] ?? (retentionClass === undefined ? undefined : ttlDays[retentionClass]) ?? ttlDays['default'];
  }
  if (days === undefined) return undefined;
  if (!Number.isInteger(days) || days < 0) throw new Error(`ttlDays for ${table} must be a non-negative integer, got ${String(days)}`);
  return days === 0 ? undefined : days;
}

/** The TTL expression (without the `TTL` keyword) for a table, or undefined when it keeps data forever. */
export function renderTtlExpr(def: TableDef, ttlDays: TtlDays | undefined): string | undefined {
  if (def.ttl === undefined) return undefined;
  const days = resolveTtlDays(ttlDays, def.name, def.ttl.class);
  return days === undefined ? undefined : `${def.ttl.expr} + toIntervalDay(${days})`;
}

function renderColumn(c: ColumnDef): string {
  let out = `${quoteIdent(c.name)} ${c.type}`;
  if (c.default !== undefined) out += ` ${c.default.kind} ${c.default.expr}`;
  if (c.comment !== undefined) out += ` COMMENT ${quoteString(c.comment)}`;
  if (c.codec !== undefined) out += ` CODEC(${c.codec})`;
  return out;
}

function renderIndex(i: IndexDef): string {
  assertIdentifier('index', i.name);
  let out = `INDEX ${i.name} ${i.expr} TYPE ${i.type}`;
  if (i.granularity !== undefined) out += ` GRANULARITY ${i.granularity}`;
  return out;
}

function renderSettingValue(v: string | number): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`invalid setting value ${v}`);
    return String(v);
  }
  return quoteString(v);
}

function renderEngine(def: TableDef, ctx: SchemaContext): string {
  const args = [...(def.engine.args ?? [])];
  if (ctx.cluster === undefined) {
    return args.length === 0 ? def.engine.kind : `${def.engine.kind}(${args.join(', ')})`;
  }
  const local = storageTableName(def.name, ctx);
  const zkPath = `/clickhouse/tables/{shard}/${ctx.database}/${local}`;
  return `Replicated${def.engine.kind}(${[quoteString(zkPath), quoteString('{replica}'), ...args].join(', ')})`;
}

function tupleOf(exprs: readonly string[]): string {
  return exprs.length === 0 ? 'tuple()' : `(${exprs.join(', ')})`;
}

/**
 * `CREATE TABLE IF NOT EXISTS` for one definition. Single node: one statement. Cluster: the
 * replicated `<name>_local` table ON CLUSTER, then the Distributed `<name>` over it.
 */
export function renderCreateTable(def: TableDef, ctx: SchemaContext): string[] {
  assertIdentifier('table', def.name);
  const target = storageTableName(def.name, ctx);
  const body = [...def.columns.map(renderColumn), ...(def.indexes ?? []).map(renderIndex)];
  const lines = [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(ctx.database, target)}${onCluster(ctx.cluster)}`,
    '(',
    body.map((l, i) => `    ${l}${i < body.length - 1 ? ',' : ''}`).join('\n'),
    ')',
    `ENGINE = ${renderEngine(def, ctx)}`,
  ];
  if (def.partitionBy !== undefined) lines.push(`PARTITION BY ${def.partitionBy}`);
  if (def.primaryKey !== undefined) lines.push(`PRIMARY KEY ${tupleOf(def.primaryKey)}`);
  lines.push(`ORDER BY ${tupleOf(def.orderBy)}`);
  const ttl = renderTtlExpr(def, ctx.ttlDays);
  if (ttl !== undefined) lines.push(`TTL ${ttl}`);
  const settings = Object.entries(def.settings ?? {});
  if (settings.length > 0) {
    lines.push(`SETTINGS ${settings.map(([k, v]) => `${assertIdentifier('setting', k)} = ${renderSettingValue(v)}`).join(', ')}`);
  }
  const statements = [lines.join('\n')];
  if (ctx.cluster !== undefined) statements.push(renderDistributedTable(def, ctx, ctx.cluster));
  return statements;
}

function renderDistributedTable(def: TableDef, ctx: SchemaContext, cluster: string): string {
  const local = storageTableName(def.name, ctx);
  const args = [quoteString(cluster), quoteString(ctx.database), quoteString(local), def.shardingKey ?? 'rand()'];
  return (
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(ctx.database, def.name)}${onCluster(cluster)}\n` +
    `AS ${qualifiedName(ctx.database, local)}\n` +
    `ENGINE = Distributed(${args.join(', ')})`
  );
}

/** `CREATE MATERIALIZED VIEW IF NOT EXISTS ... TO ...`, reading and writing the `_local` tables on a cluster. */
export function renderCreateMaterializedView(def: MaterializedViewDef, ctx: SchemaContext): string[] {
  assertIdentifier('view', def.name);
  const select = def.select.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_m, table: string) =>
    qualifiedName(ctx.database, storageTableName(table, ctx)),
  );
  if (/\{\{|\}\}/.test(select)) throw new Error(`materialized view ${def.name}: malformed {{table}} reference`);
  return [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualifiedName(ctx.database, def.name)}${onCluster(ctx.cluster)}\n` +
      `TO ${qualifiedName(ctx.database, storageTableName(def.to, ctx))}\n` +
      `AS ${select.trim()}`,
  ];
}

export function renderCreateDatabase(ctx: Pick<SchemaContext, 'database' | 'cluster'>): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdent(assertIdentifier('database', ctx.database))}${onCluster(ctx.cluster)}`;
}

/**
 * `ALTER TABLE` for later migrations. Single node: one statement on `<table>`. Cluster: on
 * `<table>_local` ON CLUSTER, plus (when `alsoDistributed`, i.e. for column changes) the same
 * actions on the Distributed `<table>` so its structure keeps matching.
 */
export function renderAlterTable(
  table: string,
  actions: readonly string[],
  ctx: SchemaContext,
  options: { alsoDistributed?: boolean } = {},
): string[] {
  if (actions.length === 0) return [];
  const alter = (name: string): string =>
    `ALTER TABLE ${qualifiedName(ctx.database, name)}${onCluster(ctx.cluster)}\n${actions.map((a) => `    ${a}`).join(',\n')}`;
  const out = [alter(storageTableName(table, ctx))];
  if (ctx.cluster !== undefined && options.alsoDistributed === true) out.push(alter(table));
  return out;
}

/** Statements that create every table (in order), then every materialized view. */
export function renderObjects(
  tables: readonly TableDef[],
  views: readonly MaterializedViewDef[],
  ctx: SchemaContext,
): string[] {
  return [...tables.flatMap((t) => renderCreateTable(t, ctx)), ...views.flatMap((v) => renderCreateMaterializedView(v, ctx))];
}

/** Column names as ClickHouse lists them (Nested columns flattened to `Parent.child`). */
export function flattenColumnNames(def: TableDef): string[] {
  const out: string[] = [];
  for (const c of def.columns) {
    const nested = /^Nested\s*\(([\s\S]*)\)$/.exec(c.type.trim());
    if (nested?.[1] === undefined) {
      out.push(c.name);
      continue;
    }
    for (const field of splitTopLevel(nested[1])) {
      const name = field.trim().split(/\s+/)[0];
      if (name !== undefined && name !== '') out.push(`${c.name}.${name}`);
    }
  }
  return out;
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}
