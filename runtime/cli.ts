import { Command, CommanderError } from '@commander-js/extra-typings';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { configReference } from './config-reference.ts';
import { createLogger } from './log.ts';
import { runUntilSignal } from './component.ts';
import { buildProcess, runMigrations, printClusterDdl, type Role } from './roles.ts';

/**
 * The `meshsight` command. This is the only place that decides the exit code: everything below it
 * throws errors with context, and this turns them into one readable line.
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('meshsight')
    .description('Service-mesh observability: collector, processor, query API and web UI.')
    .option('-c, --config <file>', 'YAML configuration file (default: $MESHSIGHT_CONFIG, else built-in defaults)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const serve = (role: Role, description: string) =>
    program
      .command(role)
      .description(description)
      .action(async () => {
        const config = loadConfig({ file: program.opts().config });
        exitCode = await serveRole(role, config);
      });
  serve('all-in-one', 'Run collector, processor, query API and web UI in one process, on embedded ClickHouse (chDB) and an in-process queue.');
  serve('collector', 'Receive OTLP, Envoy access logs, Prometheus and Zipkin data, and produce it to Kafka.');
  serve('processor', 'Consume Kafka, turn telemetry into calls and insert them into ClickHouse.');
  serve('query', 'Serve the query API, the web UI and alerting.');

  program
    .command('migrate')
    .description('Apply the ClickHouse schema migrations that are not applied yet (also done at start-up).')
    .option('--print', 'print the DDL instead of applying it')
    .option('--cluster <name>', 'with --print: the DDL for a ClickHouse cluster (ON CLUSTER, Replicated, Distributed)')
    .action(async (options) => {
      const config = loadConfig({ file: program.opts().config });
      if (options.print) {
        process.stdout.write(printClusterDdl(config, options.cluster));
        return;
      }
      await runMigrations(config, createLogger({ level: config.log.level }));
    });

  const configCommand = program.command('config').description('Work with the configuration.');
  configCommand
    .command('check')
    .description('Validate the configuration (file and environment) and print a summary.')
    .action(() => {
      const config = loadConfig({ file: program.opts().config });
      process.stdout.write(`configuration OK\n${summarize(config)}\n`);
    });
  configCommand
    .command('reference')
    .description('Print every configuration key with its type, default and meaning (Markdown).')
    .action(() => {
      process.stdout.write(`${configReference()}\n`);
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      process.stderr.write(`meshsight: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`meshsight: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

async function serveRole(role: Role, config: Config): Promise<number> {
  const log = createLogger({ level: config.log.level }).child({ role });
  log.info({ config: summary(config) }, 'starting');
  const components = await buildProcess(role, config, log);
  return runUntilSignal(components, log);
}

function summary(config: Config) {
  return {
    dataDir: config.dataDir,
    clickhouse: config.clickhouse.url ? { url: redact(config.clickhouse.url), cluster: config.clickhouse.cluster } : 'chdb (embedded)',
    kafka: config.kafka.brokers,
    query: config.query.listen,
    otlp: config.collector.otlp.enabled ? { grpc: config.collector.otlp.grpcListen, http: config.collector.httpListen } : 'off',
    envoyAls: config.collector.envoyAls.enabled ? config.collector.envoyAls.listen : 'off',
  };
}

function summarize(config: Config): string {
  return Object.entries(summary(config))
    .map(([key, value]) => `  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('\n');
}

/** URLs may carry credentials; logs must not. */
function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
