import { resolve } from 'node:path';
import express from 'express';
import { createBus, type Bus } from '../bus/index.ts';
import { createStore, migrate, renderMigrationsForCluster, type Store } from '../store/index.ts';
import type { Component, ReadinessCheck } from './component.ts';
import { parseListen, type Config } from './config.ts';
import { createAuthenticator, type Origin } from '../collector/auth/origin.ts';
import { createDelivery, type Delivery } from '../collector/delivery/delivery.ts';
import { openSpool } from '../collector/delivery/spool.ts';
import { grpcServerComponent } from '../collector/grpc/server.ts';
import { createIntake } from '../collector/intake.ts';
import { otlpGrpcServices } from '../collector/otlp/grpc-receiver.ts';
import { otlpHttpRoutes } from '../collector/otlp/http-receiver.ts';
import { httpServerComponent } from './http-server.ts';
import type { Logger } from './log.ts';
import { createRegistry, type Registry } from './metrics.ts';
import { opsRoutes } from './ops-routes.ts';

export type Role = 'all-in-one' | 'collector' | 'processor' | 'query';

/** Shared handles of one process, filled in as its components start. */
interface ProcessContext {
  config: Config;
  log: Logger;
  registry: Registry;
  checks: ReadinessCheck[];
  store?: Store;
  bus?: Bus;
}

/**
 * The components of one process, in start order: storage and bus first, then the parts that use
 * them, and the HTTP server last so `/readyz` only answers once everything below it is up.
 */
export async function buildProcess(role: Role, config: Config, log: Logger): Promise<Component[]> {
  const ctx: ProcessContext = { config, log, registry: createRegistry(), checks: [] };
  const components: Component[] = [];
  if (role !== 'collector') components.push(storeComponent(ctx));
  if (role !== 'query') components.push(busComponent(ctx, role));
  if (role === 'all-in-one' || role === 'collector') components.push(...collectorComponents(ctx, role));

  const app = express();
  app.disable('x-powered-by');
  app.use(opsRoutes(ctx.registry, () => ctx.checks));
  const listen = role === 'all-in-one' || role === 'query' ? config.query.listen : config.ops.listen;
  components.push(httpServerComponent(`${role}-http`, listen, app, log));
  return Promise.resolve(components);
}

/**
 * Delivery first (it replays the spool), then the listeners. Receivers are built at start, once the
 * bus exists; until then nothing listens, so nothing can be accepted that could not be kept.
 */
function collectorComponents(ctx: ProcessContext, role: Role): Component[] {
  const { config, log } = ctx;
  const c = config.collector;
  let delivery: Delivery | undefined;
  const lazy: { http?: Component; grpc?: Component } = {};
  const deliveryComponent: Component = {
    name: 'delivery',
    async start() {
      const spool = openSpool(resolve(c.spoolDir ?? resolve(config.dataDir, 'spool')), c.spoolMaxBytes);
      const { spans, logs, metrics } = config.bus.topics;
      delivery = createDelivery({
        bus: ctx.bus!,
        topics: { traces: spans, logs, metrics },
        partitions: config.kafka.partitions,
        spool,
        log: log.child({ component: 'delivery' }),
        registry: ctx.registry,
      });
      await delivery.start();
    },
    shutdown: () => delivery?.shutdown() ?? Promise.resolve(),
  };
  const receivers: Component = {
    name: 'receivers',
    async start() {
      const intake = createIntake({ delivery: delivery!, limits: c.limits, registry: ctx.registry, log });
      const authenticator = createAuthenticator({ tokens: c.auth.tokens, anonymous: anonymousOrigin(config, role, log) });
      const bodyLimits = { maxWireBytes: c.limits.maxRequestBytes, maxDecodedBytes: c.limits.maxDecodedBytes };
      const app = express();
      app.disable('x-powered-by');
      if (c.otlp.enabled) app.use(otlpHttpRoutes({ intake, authenticator, limits: bodyLimits, log }));
      if (role === 'collector') app.use(opsRoutes(ctx.registry, () => ctx.checks));
      lazy.http = httpServerComponent('collector-http', c.httpListen, app, log);
      await lazy.http.start();
      if (c.otlp.enabled) {
        lazy.grpc = grpcServerComponent('otlp-grpc', c.otlp.grpcListen, otlpGrpcServices({ intake, authenticator, log }), {
          maxMessageBytes: c.limits.maxRequestBytes,
          log,
        });
        await lazy.grpc.start();
      }
    },
    async shutdown() {
      await Promise.all([lazy.http?.shutdown(), lazy.grpc?.shutdown()]);
    },
  };
  return [deliveryComponent, receivers];
}

/**
 * Unauthenticated senders are accepted only when configured, or in an all-in-one that has no tokens
 * and listens on loopback only (a laptop demo), never on a reachable address by default.
 */
function anonymousOrigin(config: Config, role: Role, log: Logger): Origin | undefined {
  const c = config.collector;
  if (c.auth.allowUnauthenticated) return c.auth.anonymousOrigin;
  const loopbackOnly = [c.httpListen, c.otlp.grpcListen, c.envoyAls.listen].every((l) => isLoopback(parseListen(l).host));
  if (role === 'all-in-one' && c.auth.tokens.length === 0 && loopbackOnly) {
    log.warn({ origin: c.auth.anonymousOrigin }, 'no collector tokens configured: accepting unauthenticated data on loopback');
    return c.auth.anonymousOrigin;
  }
  return undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function storeComponent(ctx: ProcessContext): Component {
  return {
    name: 'clickhouse',
    async start() {
      const { config, log } = ctx;
      ctx.store = await createStore(storeOptions(config), log);
      const result = await migrate(ctx.store, { ttlDays: config.clickhouse.ttlDays }, log);
      log.info({ engine: ctx.store.engine, schemaVersion: result.current, applied: result.applied.length }, 'storage ready');
      const store = ctx.store;
      ctx.checks.push({ name: 'clickhouse', check: () => store.ping() });
    },
    async shutdown() {
      await ctx.store?.close();
    },
  };
}

function busComponent(ctx: ProcessContext, role: Role): Component {
  return {
    name: 'bus',
    async start() {
      const { config, log } = ctx;
      const kind = config.bus.kind === 'auto' ? (role === 'all-in-one' ? 'memory' : 'kafka') : config.bus.kind;
      ctx.bus =
        kind === 'memory'
          ? createBus({ kind: 'memory', dir: resolve(config.dataDir, 'queue') }, log)
          : createBus({ kind: 'kafka', brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-${role}`, compression: config.kafka.compression }, log);
      const { spans, logs, metrics, deadLetter } = config.bus.topics;
      await ctx.bus.ensureTopics(
        [spans, logs, metrics, deadLetter].map((name) => ({ name, partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor })),
      );
      const bus = ctx.bus;
      ctx.checks.push({ name: `bus (${bus.kind})`, check: () => bus.ping() });
    },
    async shutdown() {
      await ctx.bus?.close();
    },
  };
}

function storeOptions(config: Config) {
  const { url, username, password, database, cluster } = config.clickhouse;
  return { url, username, password, database, cluster, dataDir: resolve(config.dataDir) };
}

/** `meshsight migrate`: applies pending migrations and reports what it did. */
export async function runMigrations(config: Config, log: Logger): Promise<void> {
  const store = await createStore(storeOptions(config), log);
  try {
    const result = await migrate(store, { ttlDays: config.clickhouse.ttlDays }, log);
    process.stdout.write(
      result.applied.length === 0
        ? `schema is up to date (version ${result.current})\n`
        : `applied ${result.applied.map((m) => `${m.version} ${m.name}`).join(', ')}; schema version ${result.current}\n`,
    );
  } finally {
    await store.close();
  }
}

/** `meshsight migrate --print`: the DDL for the configured (or given) cluster. */
export function printClusterDdl(config: Config, cluster: string | undefined): string {
  const name = cluster ?? config.clickhouse.cluster;
  if (!name) throw new Error('migrate --print needs a cluster: pass --cluster <name> or set clickhouse.cluster');
  return `${renderMigrationsForCluster(name, config.clickhouse.database, { ttlDays: config.clickhouse.ttlDays }).join(';\n\n')};\n`;
}
