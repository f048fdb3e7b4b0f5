import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout, one line per event. Components take a child logger
 * (`log.child({ component: 'otlp' })`) so every line says where it came from.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'meshsight',
    level: options.level ?? process.env['MESHSIGHT_LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A logger that writes nothing, for unit tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
