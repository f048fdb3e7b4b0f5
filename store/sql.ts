/**
 * Identifier and literal helpers for DDL. Values in product queries are always bound
 * parameters (`{name:Type}`); identifiers (database, table, cluster names) cannot be bound in
 * DDL, so they are validated against a strict pattern and back-quoted instead.
 */

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CLUSTER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Throws unless `value` is a plain identifier (letters, digits, underscore; not starting with a digit). */
export function assertIdentifier(kind: string, value: string): string {
  if (!PLAIN_IDENTIFIER.test(value) || value.length > 200) {
    throw new Error(`invalid ${kind} name ${JSON.stringify(value)}: use letters, digits and '_' only, not starting with a digit`);
  }
  return value;
}

/** Throws unless `value` is an acceptable cluster name (as in `<remote_servers>`: letters, digits, '_', '.', '-'). */
export function assertClusterName(value: string): string {
  if (!CLUSTER_NAME.test(value) || value.length > 200) {
    throw new Error(`invalid cluster name ${JSON.stringify(value)}: use letters, digits, '_', '.' and '-' only`);
  }
  return value;
}

/** Back-quotes an identifier. Column names may contain dots (`__otel_materialized_k8s.pod.name`). */
export function quoteIdent(name: string): string {
  if (name.length === 0 || /[\r\n\0]/.test(name)) throw new Error(`invalid identifier ${JSON.stringify(name)}`);
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** `` `db`.`table` `` after validating both parts. */
export function qualifiedName(database: string, table: string): string {
  return `${quoteIdent(assertIdentifier('database', database))}.${quoteIdent(assertIdentifier('table', table))}`;
}

/**
 * A single-quoted string literal, for static schema text only (column comments, ZooKeeper
 * paths, Distributed() arguments). Never use it for data values: bind those as parameters.
 */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `ON CLUSTER `c`` or the empty string. */
export function onCluster(cluster: string | undefined): string {
  return cluster === undefined ? '' : ` ON CLUSTER ${quoteIdent(assertClusterName(cluster))}`;
}
