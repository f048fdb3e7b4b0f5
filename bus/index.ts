/**
 * The bus: the port, its two adapters and a factory that picks one from plain configuration.
 */
import type { Logger } from '../runtime/log.ts';
import { createKafkaBus, type KafkaBusOptions } from './kafka.ts';
import { createMemoryBus, type MemoryBusOptions } from './memory.ts';
import type { Bus } from './port.ts';

export { BusUnavailableError } from './port.ts';
export type {
  BatchHandler,
  Bus,
  BusRecord,
  ConsumedBatch,
  ConsumedRecord,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './port.ts';
export { createKafkaBus, type KafkaBusOptions } from './kafka.ts';
export { createMemoryBus, type MemoryBusOptions } from './memory.ts';

/** The in-process queue: memory only, or durable files under `dir`. */
export type MemoryBusConfig = { kind: 'memory' } & Omit<MemoryBusOptions, 'log'>;

/** A Kafka cluster. */
export type KafkaBusConfig = { kind: 'kafka' } & Omit<KafkaBusOptions, 'log'>;

/** Which bus to use, as plain data (config files, environment). */
export type BusConfig = MemoryBusConfig | KafkaBusConfig;

/** Creates the bus `config` describes; it logs through `log`. */
export function createBus(config: BusConfig, log: Logger): Bus {
  switch (config.kind) {
    case 'memory': {
      const { kind: _kind, ...options } = config;
      return createMemoryBus({ ...options, log });
    }
    case 'kafka': {
      const { kind: _kind, ...options } = config;
      return createKafkaBus({ ...options, log });
    }
  }
}
