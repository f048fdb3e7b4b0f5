/**
 * Vitest global setup of the integration project: makes a Kafka broker available and provides its
 * address as `kafkaBrokers`. With KAFKA_BROKERS set, that cluster is used as it is; otherwise
 * `scripts/kafka` starts a local broker, which is stopped again afterwards only if this run started it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap brokers, comma separated. */
    kafkaBrokers: string;
  }
}

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/kafka', import.meta.url));

async function kafka(command: 'start' | 'stop' | 'status' | 'brokers'): Promise<string> {
  try {
    const { stdout } = await run(script, [command], { timeout: 180_000 });
    return stdout.trim();
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`scripts/kafka ${command} failed${stderr ? `:\n${stderr.trim()}` : ''}`, { cause: err });
  }
}

async function isRunning(): Promise<boolean> {
  // `status` exits non-zero when no local broker runs.
  return kafka('status').then(
    () => true,
    () => false,
  );
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env['KAFKA_BROKERS'];
  if (external) {
    project.provide('kafkaBrokers', external);
    return undefined;
  }
  const wasRunning = await isRunning();
  await kafka('start');
  project.provide('kafkaBrokers', await kafka('brokers'));
  if (wasRunning) return undefined;
  return async () => {
    await kafka('stop');
  };
}
