import type { Logger } from './log.ts';

/**
 * One part of a running process (a receiver, the processor, the query server). `shutdown` flushes
 * what the component holds, is idempotent and is safe without `start`.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A dependency a readiness probe asks; `check` rejects when the dependency does not answer. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/**
 * Starts components in order and stops them in reverse on SIGTERM or SIGINT, so that receivers stop
 * accepting before the bus and the store they write to are flushed and closed. Resolves with the exit
 * code once everything has stopped.
 */
export async function runUntilSignal(components: Component[], log: Logger): Promise<number> {
  const started: Component[] = [];
  let stopping: Promise<number> | undefined;
  const stop = async (reason: string): Promise<number> => {
    log.info({ reason }, 'shutting down');
    let code = 0;
    for (const component of [...started].reverse()) {
      try {
        await component.shutdown();
        log.info({ component: component.name }, 'stopped');
      } catch (err) {
        code = 1;
        log.error({ component: component.name, err }, 'shutdown failed');
      }
    }
    return code;
  };
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      stopping ??= stop(signal);
      stopping.then(resolve, () => resolve(1));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    for (const component of components) {
      await component.start();
      started.push(component);
      log.info({ component: component.name }, 'started');
    }
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    stopping ??= stop('start-up failed');
    await stopping;
    return 1;
  }
  return done;
}
