import { z } from 'zod';

/**
 * The configuration schema. Defaults live here; a file only says what differs. Every object is strict,
 * so a typo is an error naming the key. `describe` texts feed the generated configuration reference.
 */

const listen = (fallback: string) =>
  z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected host:port, like "localhost:8080" or ":8080"')
    .default(fallback);

const positiveInt = (fallback: number, max: number) => z.int().min(1).max(max).default(fallback);

const logSchema = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info').describe('Minimum level written to the JSON log on stdout.'),
  })
  .prefault({});

const clickhouseSchema = z
  .strictObject({
    url: z.url().optional().describe('ClickHouse server URL (http or https). Unset: the embedded chDB engine, data under dataDir/clickhouse.'),
    username: z.string().default('default').describe('ClickHouse user (server only).'),
    password: z.string().default('').describe('ClickHouse password (server only).'),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier').default('meshsight').describe('Database holding every Meshsight table.'),
    cluster: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier').optional().describe('ClickHouse cluster name: DDL runs ON CLUSTER with Replicated and Distributed tables.'),
    ttlDays: z
      .strictObject({
        raw: positiveInt(7, 3650).describe('Days raw spans, logs and metrics are kept.'),
        calls: positiveInt(30, 3650).describe('Days calls and data-access rows are kept.'),
        rollups: positiveInt(90, 3650).describe('Days per-minute rollups are kept.'),
      })
      .prefault({}),
  })
  .prefault({});

const kafkaSchema = z
  .strictObject({
    brokers: z.array(z.string().min(1)).default(['127.0.0.1:19092']).describe('Bootstrap brokers (env KAFKA_BROKERS, comma separated).'),
    clientId: z.string().default('meshsight').describe('Kafka client id prefix.'),
    partitions: positiveInt(12, 10_000).describe('Partitions of topics Meshsight creates.'),
    replicationFactor: positiveInt(1, 16).describe('Replication factor of topics Meshsight creates.'),
    compression: z.enum(['gzip', 'none']).default('gzip').describe('Compression of produced batches.'),
  })
  .prefault({});

const topicsSchema = z
  .strictObject({
    spans: z.string().min(1).default('otlp_spans').describe('Topic of OTLP trace batches.'),
    logs: z.string().min(1).default('otlp_logs').describe('Topic of OTLP log batches (access logs become log records).'),
    metrics: z.string().min(1).default('otlp_metrics').describe('Topic of OTLP metric batches.'),
    deadLetter: z.string().min(1).default('meshsight_dead_letter').describe('Topic of records that could not be processed, with the reason.'),
  })
  .prefault({});

const busSchema = z
  .strictObject({
    kind: z.enum(['auto', 'memory', 'kafka']).default('auto').describe('auto: the in-process queue in all-in-one, Kafka for separate components.'),
    topics: topicsSchema,
  })
  .prefault({});

const originSchema = z.strictObject({
  mesh: z.string().min(1).describe('Mesh id.'),
  cluster: z.string().min(1).describe('Kubernetes cluster or VM group.'),
  network: z.string().min(1).optional().describe('Network name.'),
  kind: z.enum(['cluster', 'vm']).default('cluster').describe('Whether the origin is a Kubernetes cluster or a VM group.'),
});

const receiverToggle = (fallback: boolean) => z.boolean().default(fallback);

const collectorSchema = z
  .strictObject({
    otlp: z
      .strictObject({
        enabled: receiverToggle(true).describe('Receive OTLP over gRPC and HTTP.'),
        grpcListen: listen('localhost:4317').describe('OTLP/gRPC listen address.'),
      })
      .prefault({}),
    httpListen: listen('localhost:4318').describe('HTTP listen address of OTLP/HTTP, access-log lines, remote-write and Zipkin.'),
    envoyAls: z
      .strictObject({
        enabled: receiverToggle(true).describe('Receive Envoy gRPC access logs (ALS v3).'),
        listen: listen('localhost:9001').describe('Envoy ALS gRPC listen address.'),
      })
      .prefault({}),
    auth: z
      .strictObject({
        tokens: z
          .array(
            z.strictObject({
              token: z.string().min(16).optional().describe('The bearer token itself (prefer tokenFile).'),
              tokenFile: z.string().optional().describe('File holding the bearer token.'),
              origin: originSchema,
            }),
          )
          .default([])
          .describe('Bearer tokens and the origin (mesh, cluster or VM group, network) each one stands for.'),
        allowUnauthenticated: z
          .boolean()
          .default(false)
          .describe('Accept senders without a credential, as anonymousOrigin. For demos only; all-in-one on loopback with no tokens does this by itself.'),
        anonymousOrigin: originSchema.prefault({ mesh: 'default', cluster: 'local', kind: 'cluster' }),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxRequestBytes: positiveInt(16 * 1024 ** 2, 1024 ** 3).describe('Largest request body or gRPC message as sent.'),
        maxDecodedBytes: positiveInt(64 * 1024 ** 2, 4 * 1024 ** 3).describe('Largest body after decompression (gzip, snappy).'),
        maxItemsPerRequest: positiveInt(100_000, 10_000_000).describe('Most spans, data points or log records in one request.'),
        maxAttributesPerItem: positiveInt(128, 10_000).describe('Most attributes on one span, data point or log record; more drops the item (reported as partial success).'),
        maxStringLength: positiveInt(16_384, 1024 ** 2).describe('Longest attribute key or string value.'),
        itemsPerSecondPerOrigin: positiveInt(200_000, 100_000_000).describe('Rate limit per origin; over it senders are told to retry later.'),
      })
      .prefault({}),
    spoolDir: z.string().optional().describe('Disk spool used while the bus is away. Default: dataDir/spool.'),
    spoolMaxBytes: positiveInt(1024 ** 3, 1024 ** 4).describe('Spool size above which senders are asked to retry later.'),
  })
  .prefault({});

const processorSchema = z
  .strictObject({
    groupId: z.string().min(1).default('meshsight-processor').describe('Consumer group shared by processor instances.'),
  })
  .prefault({});

const querySchema = z
  .strictObject({
    listen: listen('localhost:8080').describe('Query API and web UI listen address (all-in-one also serves health and metrics here).'),
  })
  .prefault({});

const opsSchema = z
  .strictObject({
    listen: listen('localhost:8888').describe('Health and metrics address of a separate collector or processor process.'),
  })
  .prefault({});

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data').describe('Folder of local state: embedded ClickHouse, in-process queue, spool.'),
  log: logSchema,
  clickhouse: clickhouseSchema,
  kafka: kafkaSchema,
  bus: busSchema,
  collector: collectorSchema,
  processor: processorSchema,
  query: querySchema,
  ops: opsSchema,
});

export type Config = z.infer<typeof configSchema>;
