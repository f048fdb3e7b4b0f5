import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parse as parseYamlValue, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './config-schema.ts';

export type { Config };

/** Where a configuration value came from, so an error can point at it. */
type Source = { kind: 'file'; file: string } | { kind: 'env'; variable: string } | { kind: 'default' };

/** A configuration that cannot be used. `problems` holds one line per bad key, each naming it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Environment variables that map onto keys under their usual names. */
const WELL_KNOWN_ENV: Record<string, { path: string[]; list?: boolean }> = {
  KAFKA_BROKERS: { path: ['kafka', 'brokers'], list: true },
  CLICKHOUSE_URL: { path: ['clickhouse', 'url'] },
};

const ENV_PREFIX = 'MESHSIGHT_';
/** Variables with the prefix that are not configuration keys. */
const ENV_NOT_CONFIG = new Set(['MESHSIGHT_CONFIG', 'MESHSIGHT_LOG_LEVEL', 'MESHSIGHT_CACHE_DIR']);

export interface LoadOptions {
  /** YAML file; unset means defaults plus environment. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads, merges and validates the configuration: file, then environment overrides
 * (`MESHSIGHT_SECTION__KEY`, for example `MESHSIGHT_CLICKHOUSE__URL`, plus `KAFKA_BROKERS` and
 * `CLICKHOUSE_URL`). Validates everything and throws one ConfigError listing every problem.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env['MESHSIGHT_CONFIG'];
  let raw: Record<string, unknown> = {};
  let doc: Document | undefined;
  let lines: LineCounter | undefined;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`cannot read configuration file ${file}: ${(err as Error).message}`]);
    }
    lines = new LineCounter();
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((e) => {
          const pos = lines!.linePos(e.pos[0]);
          return `${file}:${pos.line}:${pos.col}: YAML syntax error: ${e.message.split('\n')[0]}`;
        }),
      );
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError([`${file}: the top level must be a mapping of keys, got ${Array.isArray(value) ? 'a list' : typeof value}`]);
      }
      raw = value as Record<string, unknown>;
    }
  }

  const envSources = new Map<string, string>();
  const envProblems: string[] = [];
  for (const [variable, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const known = WELL_KNOWN_ENV[variable];
    let path: string[] | undefined;
    let parsed: unknown;
    if (known) {
      path = known.path;
      parsed = known.list ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;
    } else if (variable.startsWith(ENV_PREFIX) && !ENV_NOT_CONFIG.has(variable)) {
      path = variable.slice(ENV_PREFIX.length).split('__').map(envSegmentToKey);
      parsed = parseEnvValue(value);
    }
    if (!path) continue;
    if (!setIn(raw, path, parsed)) {
      envProblems.push(`${variable}: ${path.slice(0, -1).join('.')} is not a section that holds keys`);
      continue;
    }
    envSources.set(path.join('.'), variable);
  }
  if (envProblems.length > 0) throw new ConfigError(envProblems);

  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;

  const sourceOf = (path: PropertyKey[]): Source => {
    for (let i = path.length; i > 0; i--) {
      const variable = envSources.get(path.slice(0, i).join('.'));
      if (variable) return { kind: 'env', variable };
    }
    return file ? { kind: 'file', file } : { kind: 'default' };
  };
  throw new ConfigError(result.error.issues.flatMap((issue) => describeIssue(issue, sourceOf, doc, lines)));
}

function describeIssue(
  issue: z.core.$ZodIssue,
  sourceOf: (path: PropertyKey[]) => Source,
  doc: Document | undefined,
  lines: LineCounter | undefined,
): string[] {
  const where = (path: PropertyKey[], keyItself: boolean): string => {
    const source = sourceOf(path);
    if (source.kind === 'env') return ` (from environment variable ${source.variable})`;
    if (source.kind === 'file' && doc && lines) {
      const offset = locate(doc, path, keyItself);
      if (offset !== undefined) {
        const pos = lines.linePos(offset);
        return ` (${source.file}:${pos.line}:${pos.col})`;
      }
      return ` (${source.file})`;
    }
    return '';
  };
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(issue.path);
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      const hint = closest(key, allowed);
      return (
        `${path.join('.')}${where(path, true)}: unknown key "${key}"` +
        (hint ? `; did you mean "${hint}"?` : '') +
        ` Allowed keys${issue.path.length ? ` in ${issue.path.join('.')}` : ' at the top level'}: ${allowed.join(', ')}`
      );
    });
  }
  const path = issue.path.length ? issue.path.join('.') : '(top level)';
  return [`${path}${where(issue.path, false)}: ${describeExpectation(issue)}`];
}

function describeExpectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}, got ${describeValue(issue.input)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}, got ${describeValue(issue.input)}`;
    default:
      return `${issue.message}, got ${describeValue(issue.input)}`;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Offset in the file of a key (for unknown keys) or of its value. */
function locate(doc: Document, path: PropertyKey[], keyItself: boolean): number | undefined {
  if (!keyItself) {
    const node = doc.getIn(path as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return node.range[0];
  }
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1) as unknown[], true) : doc.contents;
  if (isMap(parent)) {
    const last = path[path.length - 1];
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
    if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
  }
  return undefined;
}

/** The keys the schema allows at a path, for "allowed keys" hints. */
function allowedKeysAt(path: PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (!shape || typeof segment !== 'string') return [];
    schema = shape[segment];
  }
  const shape = (unwrap(schema) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema as { def?: { innerType?: unknown } } | undefined;
  while (current?.def?.innerType) current = current.def.innerType;
  return current;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** `GRPC_LISTEN` -> `grpcListen`. */
function envSegmentToKey(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Environment values are YAML scalars or flow collections, so `12`, `true` and `[a, b]` keep their types. */
function parseEnvValue(value: string): unknown {
  try {
    return parseYamlValue(value) as unknown;
  } catch {
    return value;
  }
}

function setIn(target: Record<string, unknown>, path: string[], value: unknown): boolean {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) return false;
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
  return true;
}

/** Splits `host:port` (`:8080` means every interface). */
export function parseListen(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(at + 1)) };
}
