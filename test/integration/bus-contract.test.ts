/**
 * One contract for every bus adapter: the in-process queue (in memory and on disk) and a real
 * Kafka broker (provided by test/helpers/kafka-global-setup.ts). Every test uses its own topics
 * and groups, so nothing depends on what ran before on the same broker.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import {
  BusUnavailableError,
  createKafkaBus,
  createMemoryBus,
  type BatchHandler,
  type Bus,
  type BusRecord,
  type ConsumedBatch,
  type ConsumedRecord,
  type MemoryBusOptions,
} from '../../bus/index.ts';
import { createLogger, silentLogger } from '../../runtime/log.ts';

// MESHSIGHT_TEST_LOG=debug shows what the adapters log.
const log = process.env['MESHSIGHT_TEST_LOG'] ? createLogger({ level: process.env['MESHSIGHT_TEST_LOG'] }) : silentLogger();
const retryBackoff = { initialMs: 50, maxMs: 1_000 };

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const VALUE_BYTES = 100;

/** A ~100-byte value starting with `seq`; the rest is noise so that compression has real work. */
function valueFor(seq: number): Buffer {
  const value = Buffer.allocUnsafe(VALUE_BYTES);
  value.writeUInt32BE(seq, 0);
  let x = (Math.imul(seq, 2654435761) >>> 0) | 1;
  for (let i = 4; i < VALUE_BYTES; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    value.writeUInt8(x & 0xff, i);
  }
  return value;
}

const seqOf = (record: ConsumedRecord): number => record.value.readUInt32BE(0);

function records(from: number, to: number, key: (seq: number) => string | null): BusRecord[] {
  return Array.from({ length: to - from }, (_, i) => {
    const k = key(from + i);
    return { key: k === null ? null : Buffer.from(k), value: valueFor(from + i), headers: { seq: String(from + i) } };
  });
}

/** Produces [from, to) in calls of `perCall` records, a few calls at a time. */
async function produceRange(bus: Bus, topic: string, from: number, to: number, perCall = 1_000): Promise<void> {
  const starts: number[] = [];
  for (let start = from; start < to; start += perCall) starts.push(start);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let start = starts.shift(); start !== undefined; start = starts.shift()) {
        await bus.produce(topic, records(start, Math.min(to, start + perCall), (seq) => `key-${seq % 1_000}`));
      }
    }),
  );
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** How often each sequence number was handled. */
class Tally {
  private readonly counts: Uint8Array;
  unique = 0;
  deliveries = 0;

  constructor(size: number) {
    this.counts = new Uint8Array(size);
  }

  add(seq: number): void {
    this.deliveries++;
    const before = this.counts[seq] ?? 0;
    this.counts[seq] = before + 1;
    if (before === 0) this.unique++;
  }

  /** Sequence numbers handled other than exactly once (at most `limit` of them). */
  notOnce(limit = 10): number[] {
    const out: number[] = [];
    for (let seq = 0; seq < this.counts.length && out.length < limit; seq++) if (this.counts[seq] !== 1) out.push(seq);
    return out;
  }
}

/** The behaviour every adapter must show. `open` returns a fresh bus; the suite closes it. */
function busContract(name: string, open: () => Bus): void {
  describe(`bus contract: ${name}`, () => {
    const buses: Bus[] = [];
    const newBus = (): Bus => {
      const bus = open();
      buses.push(bus);
      return bus;
    };
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((bus) => bus.close()));
    });

    it('ensureTopics creates missing topics and accepts existing ones', async () => {
      const bus = newBus();
      const topic = unique('ensure');
      const spec = [{ name: topic, partitions: 3, replicationFactor: 1 }];
      await bus.ensureTopics(spec);
      await bus.ensureTopics(spec);
      await bus.produce(topic, records(0, 10, () => null));
      await bus.ping();
    });

    it('rejects produce to an unknown topic with a clear, non-retryable error', async () => {
      const bus = newBus();
      const topic = unique('missing');
      const attempt = bus.produce(topic, records(0, 1, () => null));
      await expect(attempt).rejects.toThrow(new RegExp(`unknown topic "${topic}"`));
      await expect(attempt).rejects.not.toBeInstanceOf(BusUnavailableError);
    });

    it('keeps the records of one key on one partition, in order', async () => {
      const bus = newBus();
      const topic = unique('order');
      await bus.ensureTopics([{ name: topic, partitions: 4, replicationFactor: 1 }]);
      const keys = ['alpha', 'beta', 'gamma'];
      // Three produce calls, each interleaving the keys.
      for (let call = 0; call < 3; call++) {
        await bus.produce(topic, records(call * 300, (call + 1) * 300, (seq) => keys[seq % keys.length]!));
      }
      const seen = new Map<string, { partition: number; seq: number; offset: bigint }[]>();
      await bus.subscribe({
        groupId: unique('order'),
        topics: [topic],
        handler: (batch) => {
          for (const record of batch.records) {
            const key = record.key!.toString();
            if (!seen.has(key)) seen.set(key, []);
            seen.get(key)!.push({ partition: batch.partition, seq: seqOf(record), offset: record.offset });
          }
          return Promise.resolve();
        },
      });
      await waitFor('900 records', () => [...seen.values()].reduce((n, list) => n + list.length, 0) >= 900);
      for (const key of keys) {
        const list = seen.get(key)!;
        expect(list).toHaveLength(300);
        expect(new Set(list.map((entry) => entry.partition)).size).toBe(1);
        const seqs = list.map((entry) => entry.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        const offsets = list.map((entry) => entry.offset);
        expect(offsets.every((offset, i) => i === 0 || offset > offsets[i - 1]!)).toBe(true);
      }
    });

    it('puts records with an explicit partition there, whatever their key, and refuses one out of range', async () => {
      const bus = newBus();
      const topic = unique('explicit');
      await bus.ensureTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
      const pinned = records(0, 50, (seq) => `key-${seq}`).map((record) => ({ ...record, partition: 2 }));
      await bus.produce(topic, pinned);
      const partitions = new Set<number>();
      let handled = 0;
      await bus.subscribe({
        groupId: unique('explicit'),
        topics: [topic],
        handler: (batch) => {
          partitions.add(batch.partition);
          handled += batch.records.length;
          return Promise.resolve();
        },
      });
      await waitFor('50 records', () => handled === 50);
      expect([...partitions]).toEqual([2]);
      const outside = { ...records(50, 51, () => 'key')[0]!, partition: 3 };
      await expect(bus.produce(topic, [outside])).rejects.toThrow(/partition 3 is out of range/);
    });

    it('shares partitions in a group, hands a leaving member’s partitions over and delivers every record once', async () => {
      const total = 100_000;
      const half = total / 2;
      const bus = newBus();
      const topic = unique('group');
      const groupId = unique('group');
      await bus.ensureTopics([{ name: topic, partitions: 6, replicationFactor: 1 }]);

      const tally = new Tally(total);
      const perMember = { a: 0, b: 0 };
      const gate = deferred();
      let gated = false;
      const handledByA = new Set<number>();
      // After the stop, which partitions member b handled records of.
      const handledByBAfterStop = new Set<number>();
      let stopped = false;
      const handler =
        (member: 'a' | 'b'): BatchHandler =>
        async (batch) => {
          // Holds every handler once part of the first half is in, so the stop below lands mid-stream.
          if (gated || tally.unique >= half / 2) {
            gated = true;
            await gate.promise;
          }
          for (const record of batch.records) tally.add(seqOf(record));
          perMember[member] += batch.records.length;
          if (member === 'a') handledByA.add(batch.partition);
          if (member === 'b' && stopped) handledByBAfterStop.add(batch.partition);
        };

      const a = await bus.subscribe({ groupId, topics: [topic], handler: handler('a') });
      const b = await bus.subscribe({ groupId, topics: [topic], handler: handler('b') });
      const settled = (): boolean =>
        a.assignment().length > 0 && b.assignment().length > 0 && a.assignment().length + b.assignment().length === 6;
      await waitFor('both members to own partitions', settled, 30_000);
      const ownedByA = a.assignment();
      expect([...ownedByA, ...b.assignment()].sort()).toEqual([0, 1, 2, 3, 4, 5].map((p) => `${topic}:${p}`).sort());

      await produceRange(bus, topic, 0, half);
      await waitFor('the first records to be handled', () => gated);
      expect(tally.unique).toBeLessThan(half);

      // stop() must let a's batches in progress finish; they wait on the gate, so open it after.
      const stopping = a.stop();
      stopped = true;
      gate.resolve();
      await stopping;
      await a.stop(); // idempotent
      expect(a.assignment()).toEqual([]);
      await waitFor('b to own every partition', () => b.assignment().length === 6, 30_000);

      await produceRange(bus, topic, half, total);
      await waitFor(`all ${total} records`, () => tally.unique === total, 60_000);
      // Give duplicates a moment to show up before counting.
      await sleep(300);
      expect(tally.notOnce()).toEqual([]);
      expect(tally.deliveries).toBe(total);
      expect(perMember.a).toBeGreaterThan(0);
      expect(perMember.b).toBeGreaterThan(0);
      const partitionsOfA = ownedByA.map((key) => Number(key.split(':')[1]));
      expect([...handledByA].every((partition) => partitionsOfA.includes(partition))).toBe(true);
      for (const partition of partitionsOfA) expect(handledByBAfterStop).toContain(partition);
    });

    it('delivers a rejected batch again and skips nothing', async () => {
      const bus = newBus();
      const topic = unique('retry');
      await bus.ensureTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
      await bus.produce(topic, records(0, 200, (seq) => `key-${seq % 10}`));
      const calls: { batch: ConsumedBatch; ok: boolean }[] = [];
      const tally = new Tally(200);
      await bus.subscribe({
        groupId: unique('retry'),
        topics: [topic],
        handler: (batch) => {
          const ok = calls.length > 0;
          calls.push({ batch, ok });
          if (!ok) return Promise.reject(new Error('ClickHouse is away'));
          for (const record of batch.records) tally.add(seqOf(record));
          return Promise.resolve();
        },
      });
      await waitFor('all 200 records', () => tally.unique === 200);
      await sleep(200);
      expect(tally.notOnce()).toEqual([]);

      const rejected = calls[0]!.batch;
      const again = calls.slice(1).find((call) => call.batch.partition === rejected.partition)!.batch;
      expect(again.records[0]!.offset).toBe(rejected.records[0]!.offset);
      const common = Math.min(again.records.length, rejected.records.length);
      expect(again.records.slice(0, common).map(seqOf)).toEqual(rejected.records.slice(0, common).map(seqOf));
      expect(again.records[0]!.headers).toEqual({ seq: String(seqOf(rejected.records[0]!)) });
    });
  });
}

const directories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meshsight-bus-'));
  directories.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

const memoryOptions = (extra: Partial<MemoryBusOptions> = {}): MemoryBusOptions => ({ maxBatchRecords: 500, retryBackoff, log, ...extra });

busContract('memory', () => createMemoryBus(memoryOptions()));

// Each bus gets a folder of its own, which it creates on first use.
busContract('memory with dir', () => {
  const dir = join(tmpdir(), `meshsight-bus-${randomUUID()}`);
  directories.push(dir);
  return createMemoryBus(memoryOptions({ dir }));
});

busContract('kafka', () =>
  createKafkaBus({
    brokers: inject('kafkaBrokers').split(','),
    clientId: 'bus-contract',
    log,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 10_000,
    maxWaitMs: 250,
    // Small fetches make many batches, so a member can stop between them.
    maxBytesPerPartition: 64 * 1024,
    retryBackoff,
  }),
);

describe('memory bus with dir', () => {
  const buses: Bus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });
  const open = (options: MemoryBusOptions): Bus => {
    const bus = createMemoryBus(options);
    buses.push(bus);
    return bus;
  };

  it('after a restart delivers what was not committed, and not what was', async () => {
    const dir = await temporaryDirectory();
    const topic = unique('restart');
    const groupId = unique('restart');
    const first = open(memoryOptions({ dir, maxBatchRecords: 10 }));
    await first.ensureTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
    await first.produce(topic, records(0, 100, () => null));

    // Batches below offset 20 are accepted (committed), later ones are refused.
    let accepted = 0;
    const refused = new Set<number>();
    await first.subscribe({
      groupId,
      topics: [topic],
      handler: (batch) => {
        if (batch.records[0]!.offset >= 20n) {
          refused.add(batch.partition);
          return Promise.reject(new Error('refused'));
        }
        accepted += batch.records.length;
        return Promise.resolve();
      },
    });
    await waitFor('the first 20 records of each partition, and a refusal on each', () => accepted === 40 && refused.size === 2);
    await first.close();

    const second = open(memoryOptions({ dir }));
    // The topic is known from disk without ensureTopics.
    await second.produce(topic, records(100, 110, () => null));
    const delivered: { partition: number; offset: bigint; seq: number }[] = [];
    await second.subscribe({
      groupId,
      topics: [topic],
      handler: (batch) => {
        for (const record of batch.records) delivered.push({ partition: batch.partition, offset: record.offset, seq: seqOf(record) });
        return Promise.resolve();
      },
    });
    await waitFor('the 70 uncommitted records', () => delivered.length >= 70);
    await sleep(100);
    expect(delivered).toHaveLength(70);
    expect(Math.min(...delivered.map((record) => Number(record.offset)))).toBe(20);
    expect(new Set(delivered.map((record) => record.seq)).size).toBe(70);
  });

  it('recovers from a torn write at the end of a segment', async () => {
    const dir = await temporaryDirectory();
    const topic = unique('torn');
    const first = open(memoryOptions({ dir }));
    await first.ensureTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    await first.produce(topic, records(0, 50, () => null));
    await first.close();
    // A crash in the middle of a write leaves part of a record behind.
    const partitionDir = join(dir, 'topics', topic, '0');
    const [segment] = await readdir(partitionDir);
    await appendFile(join(partitionDir, segment!), Buffer.from([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));

    const second = open(memoryOptions({ dir }));
    await second.produce(topic, records(50, 60, () => null));
    const tally = new Tally(60);
    await second.subscribe({
      groupId: unique('torn'),
      topics: [topic],
      handler: (batch) => {
        for (const record of batch.records) tally.add(seqOf(record));
        return Promise.resolve();
      },
    });
    await waitFor('60 records', () => tally.unique === 60);
    expect(tally.notOnce()).toEqual([]);
  });

  it('deletes segments every group has committed past', async () => {
    const dir = await temporaryDirectory();
    const topic = unique('retention');
    const bus = open(memoryOptions({ dir, segmentBytes: 4_096 }));
    await bus.ensureTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    await produceRange(bus, topic, 0, 1_000, 50);
    const partitionDir = join(dir, 'topics', topic, '0');
    expect((await readdir(partitionDir)).length).toBeGreaterThan(10);
    let handled = 0;
    await bus.subscribe({
      groupId: unique('retention'),
      topics: [topic],
      handler: (batch) => {
        handled += batch.records.length;
        return Promise.resolve();
      },
    });
    await waitFor('1000 records', () => handled === 1_000);
    // Only the active segment, and perhaps the one before it, may remain.
    await waitFor('consumed segments to be deleted', async () => (await readdir(partitionDir)).length <= 2, 5_000);
  });
});

describe('memory bus without dir', () => {
  it('bounds what it holds: produce says "unavailable" until consumers catch up', async () => {
    const bus = createMemoryBus(memoryOptions({ maxBufferedBytes: 64 * 1024 }));
    try {
      const topic = unique('bounded');
      await bus.ensureTopics([{ name: topic, partitions: 2, replicationFactor: 1 }]);
      await bus.produce(topic, records(0, 300, () => null));
      await expect(bus.produce(topic, records(300, 600, () => null))).rejects.toBeInstanceOf(BusUnavailableError);
      let handled = 0;
      await bus.subscribe({
        groupId: unique('bounded'),
        topics: [topic],
        handler: (batch) => {
          handled += batch.records.length;
          return Promise.resolve();
        },
      });
      await waitFor('300 records', () => handled === 300);
      await bus.produce(topic, records(300, 600, () => null));
      await waitFor('600 records', () => handled === 600);
    } finally {
      await bus.close();
    }
  });
});

describe('kafka bus', () => {
  it('reports an unreachable cluster as BusUnavailableError', async () => {
    const bus = createKafkaBus({ brokers: ['127.0.0.1:1'], clientId: 'bus-contract-unreachable', log });
    try {
      await Promise.all([
        expect(bus.ping()).rejects.toBeInstanceOf(BusUnavailableError),
        expect(bus.produce(unique('away'), records(0, 1, () => null))).rejects.toBeInstanceOf(BusUnavailableError),
      ]);
    } finally {
      await bus.close();
    }
  });
});
