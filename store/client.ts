/**
 * The storage connection: in-process chDB with a persistent data directory by default, or a
 * ClickHouse server (single node or cluster) when a URL is configured. Both are driven through
 * the same `@clickhouse/client` API, so every query the product issues runs unchanged on both.
 *
 * Table references in product SQL must be qualified with `store.database` (or a bound
 * `{db:Identifier}`): the client has no default database on either engine.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Logger } from '../runtime/log.ts';
import { renderCreateDatabase } from './schema.ts';
import { assertClusterName, assertIdentifier } from './sql.ts';

export interface StoreConfig {
  /** ClickHouse server URL (`http(s)://host:8123`). Absent: embedded chDB under `dataDir`. */
  readonly url?: string;
  readonly username?: string;
  readonly password?: string;
  readonly database: string;
  /** Product data directory; chDB keeps its files in `<dataDir>/clickhouse`. */
  readonly dataDir: string;
  /** Cluster name for ON CLUSTER DDL and Distributed tables; only with `url`. */
  readonly cluster?: string;
  /** HTTP request timeout for the server client. Default 30 s. */
  readonly requestTimeoutMs?: number;
}

export type StoreEngine = 'chdb' | 'server';

export interface Store {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly engine: StoreEngine;
  readonly cluster?: string;
  /** Resolves when the engine answers a `SELECT` (credentials included), rejects otherwise. */
  ping(): Promise<void>;
  /** Releases the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Settings both engines get, so results look the same on both: 64-bit integers come back as
 * JSON strings (the server's default; chDB would otherwise emit numbers).
 */
const SHARED_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

// chDB binds one data directory per process; a second session on the same directory would
// work but is pointless, one on another directory is refused by the engine. Stores opened on
// the same path therefore share one client, reference-counted.
interface ChdbHandle {
  readonly path: string;
  readonly client: ClickHouseClient;
  refs: number;
}
let chdbHandle: ChdbHandle | undefined;

/** Absolute directory chDB uses for a given product data directory. */
export function chdbPath(dataDir: string): string {
  return resolve(dataDir, 'clickhouse');
}

function acquireChdb(path: string): ChdbHandle {
  if (chdbHandle !== undefined) {
    if (chdbHandle.path !== path) {
      throw new Error(
        `chDB is already open at ${chdbHandle.path} in this process and binds one data directory per process; ` +
          `close that store before opening ${path}`,
      );
    }
    chdbHandle.refs++;
    return chdbHandle;
  }
  mkdirSync(path, { recursive: true });
  let connection;
  try {
    connection = createChdbConnection({ path });
  } catch (err) {
    throw new Error(`cannot open chDB at ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // chdb types its connection against the standalone @clickhouse/client-common package, the
  // client bundles its own copy of the same interface: structurally identical, nominally not.
  const client = createClient({
    connection: connection as unknown as ClickHouseClientConfigOptions['connection'],
    clickhouse_settings: SHARED_SETTINGS,
  });
  chdbHandle = { path, client, refs: 1 };
  return chdbHandle;
}

async function releaseChdb(handle: ChdbHandle): Promise<void> {
  handle.refs--;
  if (handle.refs > 0) return;
  if (chdbHandle === handle) chdbHandle = undefined;
  await handle.client.close();
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

/** Opens the store and creates its database if missing. */
export async function createStore(config: StoreConfig, log: Logger): Promise<Store> {
  const database = assertIdentifier('database', config.database);
  const cluster = config.cluster === undefined ? undefined : assertClusterName(config.cluster);
  const slog = log.child({ component: 'store' });

  let client: ClickHouseClient;
  let engine: StoreEngine;
  let release: () => Promise<void>;

  if (config.url === undefined || config.url === '') {
    if (cluster !== undefined) throw new Error('store: cluster requires a ClickHouse server url (chDB is a single node)');
    if (config.dataDir === '') throw new Error('store: dataDir is required for chDB');
    const path = chdbPath(config.dataDir);
    if (!isAbsolute(path)) throw new Error(`store: chDB path ${path} is not absolute`);
    const handle = acquireChdb(path);
    client = handle.client;
    engine = 'chdb';
    release = () => releaseChdb(handle);
    slog.info({ engine, path, database, shared: handle.refs > 1 }, 'store opened');
  } else {
    client = createClient({
      url: config.url,
      username: config.username,
      password: config.password,
      application: 'meshsight',
      request_timeout: config.requestTimeoutMs ?? 30_000,
      compression: { request: true, response: true },
      keep_alive: { enabled: true },
      max_open_connections: 10,
      clickhouse_settings: SHARED_SETTINGS,
    });
    engine = 'server';
    release = () => client.close();
    slog.info({ engine, url: redactUrl(config.url), database, cluster }, 'store opened');
  }

  let closed = false;
  const store: Store = {
    client,
    database,
    engine,
    ...(cluster === undefined ? {} : { cluster }),
    async ping() {
      if (closed) throw new Error('store is closed');
      const result = await client.ping({ select: true });
      if (!result.success) throw new Error(`store ping failed: ${result.error.message}`, { cause: result.error });
    },
    async close() {
      if (closed) return;
      closed = true;
      await release();
      slog.info({ engine, database }, 'store closed');
    },
  };

  try {
    await client.command({ query: renderCreateDatabase({ database, cluster }) });
  } catch (err) {
    await store.close();
    throw new Error(`store: cannot create database ${database}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return store;
}
