/**
 * The in-process bus of the all-in-one mode: Kafka's semantics (keyed partitions, consumer groups,
 * commit after the handler resolves) without a broker. With `dir`, partitions are append-only
 * segment files and committed offsets are files too, so a restart resumes at the last commit and
 * keeps every record `produce` resolved for.
 */
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../runtime/log.ts';
import {
  BusUnavailableError,
  type BatchHandler,
  type Bus,
  type BusRecord,
  type ConsumedBatch,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './port.ts';

/** Options of {@link createMemoryBus}. */
export interface MemoryBusOptions {
  /** Folder for partition logs and committed offsets. Without it everything lives in memory and ends with the process. */
  dir?: string;
  /** Most records handed to one handler call (default 500). */
  maxBatchRecords?: number;
  /**
   * Without `dir`: once a topic's records not yet committed by every group take more than this many
   * bytes, `produce` to it rejects with {@link BusUnavailableError} until consumers catch up
   * (default 256 MiB per topic).
   */
  maxBufferedBytes?: number;
  /** With `dir`: size at which a partition starts a new segment file (default 64 MiB). */
  segmentBytes?: number;
  /** Delay before a rejected batch is delivered again: doubles from `initialMs` up to `maxMs`. */
  retryBackoff?: { initialMs: number; maxMs: number };
  /** Where handler failures and recovery notes go (default: nowhere). */
  log?: Logger;
}

const DEFAULT_MAX_BATCH_RECORDS = 500;
const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 ** 2;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 ** 2;
const DEFAULT_RETRY_BACKOFF = { initialMs: 100, maxMs: 30_000 };
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Creates the in-process bus. Handlers of different partitions run concurrently; one partition's
 * batches are delivered in offset order, one at a time, to a single member of each group.
 *
 * Records are let go of once every group that has read the partition committed past them (in
 * memory at once, on disk a whole segment at a time). A topic nobody consumes keeps growing: in
 * memory until `maxBufferedBytes`, on disk without limit; so does one whose group never returns.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  return new MemoryBus(options);
}

interface StoredRecord {
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string> | undefined;
  timestamp: number;
}

/** One partition's records, addressed by offset. */
interface PartitionLog {
  /** Lowest offset still held. */
  readonly startOffset: number;
  /** Offset of the next record; everything below it is readable (and durable, for files). */
  readonly endOffset: number;
  append(records: StoredRecord[]): Promise<void>;
  /** Up to `max` records from `from` on; fewer (never zero while `from < endOffset`) at segment ends. */
  read(from: number, max: number): Promise<StoredRecord[]>;
  /** Lets go of records below `offset` where that is cheap: all of them in memory, whole segments on disk. */
  releaseBefore(offset: number): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Partitioning

/** Kafka's murmur2 (Utils.murmur2), so keys land on the same partition numbers as with Kafka. */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const tail = length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data.readUInt8(tail + 2) << 16;
  if (rest >= 2) h ^= data.readUInt8(tail + 1) << 8;
  if (rest >= 1) h = Math.imul(h ^ data.readUInt8(tail), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

class Topic {
  private nextUnkeyed = 0;

  constructor(
    readonly name: string,
    readonly logs: PartitionLog[],
    /** Only for topics held in memory. */
    readonly budget?: ByteBudget,
  ) {}

  /** The record's explicit partition, else the key's, else the next in turn. */
  partitionFor(record: BusRecord): number {
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= this.logs.length) {
        throw new Error(`partition ${record.partition} is out of range for topic "${this.name}" (${this.logs.length} partitions)`);
      }
      return record.partition;
    }
    if (record.key === null) return this.nextUnkeyed++ % this.logs.length;
    return (murmur2(record.key) & 0x7fffffff) % this.logs.length;
  }
}

// ---------------------------------------------------------------------------------------------
// In-memory log

/** Accounting for the records of one topic held in memory. */
class ByteBudget {
  private used = 0;

  constructor(
    private readonly topic: string,
    private readonly limit: number,
  ) {}

  reserve(bytes: number): void {
    // An empty buffer accepts one oversized produce, otherwise it could never be written.
    if (this.used > 0 && this.used + bytes > this.limit) {
      throw new BusUnavailableError(
        `memory bus topic ${this.topic} is full: ${this.used} bytes wait for consumers (limit ${this.limit}); retry later`,
      );
    }
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}

function approximateBytes(record: StoredRecord): number {
  let bytes = 64 + (record.key?.length ?? 0) + record.value.length;
  for (const [name, value] of Object.entries(record.headers ?? {})) bytes += name.length + value.length;
  return bytes;
}

class MemoryLog implements PartitionLog {
  startOffset = 0;
  endOffset = 0;
  // records[head] has offset startOffset; the released prefix is cut off once it is half the array.
  private records: StoredRecord[] = [];
  private head = 0;

  constructor(private readonly budget: ByteBudget) {}

  append(records: StoredRecord[]): Promise<void> {
    this.records.push(...records);
    this.endOffset += records.length;
    return Promise.resolve();
  }

  read(from: number, max: number): Promise<StoredRecord[]> {
    if (from < this.startOffset) return Promise.resolve([]);
    const first = this.head + (from - this.startOffset);
    return Promise.resolve(this.records.slice(first, first + max));
  }

  releaseBefore(offset: number): Promise<void> {
    const count = Math.min(offset, this.endOffset) - this.startOffset;
    if (count <= 0) return Promise.resolve();
    for (let i = this.head; i < this.head + count; i++) this.budget.release(approximateBytes(this.records[i]!));
    this.head += count;
    this.startOffset += count;
    if (this.head >= 1024 && this.head * 2 >= this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------------------------------------
// File log
//
// A partition is a folder of segment files named by their first offset. A record is
//   u32 body length | u32 CRC-32 of body | body
// and a body is
//   f64 timestamp | i32 key length (-1: null) | key | u32 value length | value | u32 headers length | headers (JSON)

const HEADER_BYTES = 8;
const MIN_BODY_BYTES = 8 + 4 + 4 + 4;
const READ_CHUNK_BYTES = 1024 * 1024;
// Every INDEX_INTERVAL-th record's file position is kept, so memory stays a small fraction of the log.
const INDEX_INTERVAL = 64;

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32(data: Buffer): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function encodeRecord(record: StoredRecord): Buffer {
  const headers = record.headers ? Buffer.from(JSON.stringify(record.headers)) : Buffer.alloc(0);
  const keyLength = record.key?.length ?? 0;
  const bodyLength = MIN_BODY_BYTES + keyLength + record.value.length + headers.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + bodyLength);
  let at = HEADER_BYTES;
  at = out.writeDoubleBE(record.timestamp, at);
  at = out.writeInt32BE(record.key ? keyLength : -1, at);
  if (record.key) at += record.key.copy(out, at);
  at = out.writeUInt32BE(record.value.length, at);
  at += record.value.copy(out, at);
  at = out.writeUInt32BE(headers.length, at);
  headers.copy(out, at);
  out.writeUInt32BE(bodyLength, 0);
  out.writeUInt32BE(crc32(out.subarray(HEADER_BYTES)), 4);
  return out;
}

function decodeRecord(body: Buffer): StoredRecord {
  let at = 0;
  const timestamp = body.readDoubleBE(at);
  at += 8;
  const keyLength = body.readInt32BE(at);
  at += 4;
  // Copies, so a record kept by a handler does not pin a whole read chunk.
  const key = keyLength < 0 ? null : Buffer.from(body.subarray(at, at + keyLength));
  at += Math.max(keyLength, 0);
  const valueLength = body.readUInt32BE(at);
  at += 4;
  const value = Buffer.from(body.subarray(at, at + valueLength));
  at += valueLength;
  const headersLength = body.readUInt32BE(at);
  at += 4;
  const headers =
    headersLength > 0 ? (JSON.parse(body.toString('utf8', at, at + headersLength)) as Record<string, string>) : undefined;
  return { key, value, headers, timestamp };
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) return buffer.subarray(0, done);
    done += bytesRead;
  }
  return buffer;
}

/** Walks the records stored in [from, to) of a segment file; stops at a record that does not fit. */
async function* walkRecords(
  handle: FileHandle,
  from: number,
  to: number,
): AsyncGenerator<{ position: number; crc: number; body: Buffer }> {
  let position = from;
  while (position + HEADER_BYTES <= to) {
    let chunk = await readAt(handle, position, Math.min(READ_CHUNK_BYTES, to - position));
    if (chunk.length < HEADER_BYTES) return;
    let at = 0;
    while (at + HEADER_BYTES <= chunk.length) {
      const end = at + HEADER_BYTES + chunk.readUInt32BE(at);
      if (end > chunk.length) break;
      yield { position: position + at, crc: chunk.readUInt32BE(at + 4), body: chunk.subarray(at + HEADER_BYTES, end) };
      at = end;
    }
    if (at === 0) {
      // A single record larger than a chunk.
      const size = HEADER_BYTES + chunk.readUInt32BE(0);
      if (position + size > to) return;
      chunk = await readAt(handle, position, size);
      yield { position, crc: chunk.readUInt32BE(4), body: chunk.subarray(HEADER_BYTES) };
      at = size;
    }
    position += at;
  }
}

async function writeFully(handle: FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    // Segment files are opened for appending, so writes always land at the end.
    const { bytesWritten } = await handle.write(data, done, data.length - done, null);
    done += bytesWritten;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a file so that it is either wholly the old or wholly the new content after a crash. */
async function writeFileAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

interface Segment {
  base: number;
  path: string;
  handle: FileHandle;
  /** Bytes of complete, synced records. */
  size: number;
  count: number;
  /** File position of records base, base + INDEX_INTERVAL, ... */
  index: number[];
}

function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.log`;
}

class FileLog implements PartitionLog {
  // Appends run one after another; a failed one does not block the next.
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
  ) {}

  get startOffset(): number {
    return this.segments[0]!.base;
  }

  get endOffset(): number {
    const last = this.active;
    return last.base + last.count;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Opens (or creates) a partition folder; a torn record at the end of the last segment is cut off. */
  static async open(dir: string, segmentBytes: number, log: Logger): Promise<FileLog> {
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((name) => /^\d{20}\.log$/.test(name)).sort();
    if (names.length === 0) {
      const segment = await FileLog.createSegment(dir, 0);
      return new FileLog(dir, segmentBytes, [segment]);
    }
    const segments: Segment[] = [];
    try {
      for (const [i, name] of names.entries()) {
        const base = Number(name.slice(0, 20));
        const previous = segments[segments.length - 1];
        if (previous && previous.base + previous.count !== base) {
          throw new Error(`segment ${name} starts at offset ${base}, expected ${previous.base + previous.count}`);
        }
        const segment = await FileLog.recoverSegment(join(dir, name), base);
        segments.push(segment);
        const { size: fileSize } = await segment.handle.stat();
        if (segment.size < fileSize) {
          if (i < names.length - 1) {
            throw new Error(`segment ${name} is corrupt at byte ${segment.size} of ${fileSize}`);
          }
          log.warn({ segment: segment.path, validBytes: segment.size, fileBytes: fileSize }, 'truncating torn end of bus log');
          await segment.handle.truncate(segment.size);
          await segment.handle.sync();
        }
      }
    } catch (err) {
      await Promise.all(segments.map((segment) => segment.handle.close()));
      throw new Error(`cannot open bus log ${dir}: ${(err as Error).message}`, { cause: err });
    }
    return new FileLog(dir, segmentBytes, segments);
  }

  private static async createSegment(dir: string, base: number): Promise<Segment> {
    const path = join(dir, segmentName(base));
    const handle = await open(path, 'a+');
    // The new file's directory entry must survive a crash as well as its content.
    await syncDirectory(dir);
    return { base, path, handle, size: 0, count: 0, index: [] };
  }

  private static async recoverSegment(path: string, base: number): Promise<Segment> {
    const handle = await open(path, 'a+');
    const segment: Segment = { base, path, handle, size: 0, count: 0, index: [] };
    const { size } = await handle.stat();
    for await (const record of walkRecords(handle, 0, size)) {
      if (record.body.length < MIN_BODY_BYTES || crc32(record.body) !== record.crc) break;
      if (segment.count % INDEX_INTERVAL === 0) segment.index.push(record.position);
      segment.count++;
      segment.size = record.position + HEADER_BYTES + record.body.length;
    }
    return segment;
  }

  append(records: StoredRecord[]): Promise<void> {
    const done = this.tail.then(() => this.write(records));
    this.tail = done.catch(() => undefined);
    return done;
  }

  private async write(records: StoredRecord[]): Promise<void> {
    const encoded = records.map(encodeRecord);
    const data = Buffer.concat(encoded);
    let segment = this.active;
    if (segment.count > 0 && segment.size + data.length > this.segmentBytes) {
      segment = await FileLog.createSegment(this.dir, this.endOffset);
      this.segments.push(segment);
    }
    try {
      await writeFully(segment.handle, data);
      await segment.handle.datasync();
    } catch (err) {
      // Cut a partial write off so the next append starts at a record boundary.
      await segment.handle.truncate(segment.size).catch(() => undefined);
      throw err;
    }
    let position = segment.size;
    for (const record of encoded) {
      if (segment.count % INDEX_INTERVAL === 0) segment.index.push(position);
      position += record.length;
      segment.count++;
    }
    segment.size = position;
  }

  async read(from: number, max: number): Promise<StoredRecord[]> {
    if (from < this.startOffset || from >= this.endOffset) return [];
    let i = this.segments.length - 1;
    while (this.segments[i]!.base > from) i--;
    const segment = this.segments[i]!;
    const relative = from - segment.base;
    const slot = Math.floor(relative / INDEX_INTERVAL);
    let skip = relative - slot * INDEX_INTERVAL;
    const wanted = Math.min(max, segment.count - relative);
    // The index entry at or after the last wanted record bounds how much of the file to read.
    const end = segment.index[Math.ceil((relative + wanted) / INDEX_INTERVAL)] ?? segment.size;
    const out: StoredRecord[] = [];
    for await (const record of walkRecords(segment.handle, segment.index[slot]!, end)) {
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(decodeRecord(record.body));
      if (out.length >= wanted) break;
    }
    return out;
  }

  async releaseBefore(offset: number): Promise<void> {
    // The active segment stays, so the log always knows its end offset.
    while (this.segments.length > 1 && this.segments[1]!.base <= offset) {
      const [segment] = this.segments.splice(0, 1);
      await segment!.handle.close();
      await rm(segment!.path, { force: true });
    }
  }

  async close(): Promise<void> {
    await this.tail;
    await Promise.all(this.segments.map((segment) => segment.handle.close()));
  }
}

// ---------------------------------------------------------------------------------------------
// Consumer groups

/** Wakes one sleeping loop; a wake-up sent while nobody sleeps is kept for the next sleep. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  notify(): void {
    if (this.resolve) {
      const resolve = this.resolve;
      this.resolve = undefined;
      resolve();
    } else {
      this.pending = true;
    }
  }

  /** Resolves on the next notify, or after `timeoutMs` when given. */
  sleep(timeoutMs?: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.notify(), timeoutMs);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** A file with one group's committed offsets; concurrent saves share writes. */
class OffsetFile {
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => string,
  ) {}

  /** Resolves once a write that started after this call has finished. */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.inFlight) return this.start();
    const queued = this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<void> {
    const write = writeFileAtomically(this.path, this.snapshot()).finally(() => {
      if (this.inFlight === write) this.inFlight = undefined;
    });
    this.inFlight = write;
    return write;
  }
}

class Group {
  /** Committed offsets: topic -> partition -> next offset to consume. */
  readonly committed = new Map<string, Map<number, number>>();
  readonly members: Member[] = [];
  readonly owners = new Map<string, Member>();
  readonly workers = new Map<string, PartitionWorker>();
  readonly file: OffsetFile | undefined;

  constructor(
    readonly id: string,
    dir: string | undefined,
  ) {
    this.file = dir
      ? new OffsetFile(join(dir, `${encodeURIComponent(id)}.json`), () => JSON.stringify(this.toJSON()))
      : undefined;
  }

  toJSON(): { groupId: string; offsets: Record<string, Record<string, number>> } {
    const offsets: Record<string, Record<string, number>> = {};
    for (const [topic, partitions] of this.committed) offsets[topic] = Object.fromEntries(partitions);
    return { groupId: this.id, offsets };
  }

  position(topic: string, partition: number): number | undefined {
    return this.committed.get(topic)?.get(partition);
  }

  async commit(topic: string, partition: number, offset: number): Promise<void> {
    let partitions = this.committed.get(topic);
    if (!partitions) this.committed.set(topic, (partitions = new Map<number, number>()));
    partitions.set(partition, offset);
    await this.file?.save();
  }
}

class Member implements Subscription {
  readonly inFlight = new Set<Promise<unknown>>();
  owned: string[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    readonly group: Group,
    readonly topics: string[],
    readonly handler: BatchHandler,
    readonly fromBeginning: boolean,
    private readonly leave: (member: Member) => void,
  ) {}

  assignment(): string[] {
    return [...this.owned];
  }

  stop(): Promise<void> {
    // Like a Kafka member leaving: partitions move now, and stop resolves once the batches this
    // member is still handling have finished (and were committed, when they succeeded).
    this.stopping ??= (async () => {
      this.leave(this);
      await Promise.all(this.inFlight);
    })();
    return this.stopping;
  }
}

interface DeliveryContext {
  readonly log: Logger;
  readonly maxBatchRecords: number;
  readonly retryBackoff: { initialMs: number; maxMs: number };
  isClosed(): boolean;
  /** Called after a commit so that records every group has passed can be let go. */
  committed(topic: string, partition: number): Promise<void>;
}

/** Delivers one partition to whichever member of one group owns it, a batch at a time. */
class PartitionWorker {
  readonly wakeup = new Wakeup();
  readonly done: Promise<void>;

  constructor(
    private readonly context: DeliveryContext,
    private readonly group: Group,
    private readonly topic: string,
    private readonly partition: number,
    private readonly partitionLog: PartitionLog,
  ) {
    this.done = this.run();
  }

  private get key(): string {
    return `${this.topic}:${this.partition}`;
  }

  private async run(): Promise<void> {
    let failures = 0;
    for (;;) {
      const owner = this.group.owners.get(this.key);
      // No owner means no member subscribes to the topic any more.
      if (this.context.isClosed() || !owner) break;
      let ok: boolean;
      try {
        const position = await this.position(owner);
        const records = await this.partitionLog.read(position, this.context.maxBatchRecords);
        if (records.length === 0) {
          await this.wakeup.sleep();
          continue;
        }
        // The partition may have moved, or its owner stopped, while the records were read.
        if (this.context.isClosed() || this.group.owners.get(this.key) !== owner) continue;
        const delivery = this.deliver(owner, position, records);
        owner.inFlight.add(delivery);
        ok = await delivery.finally(() => owner.inFlight.delete(delivery));
      } catch (err) {
        this.context.log.error({ err, groupId: this.group.id, topic: this.topic, partition: this.partition }, 'bus delivery failed');
        ok = false;
      }
      if (ok) {
        failures = 0;
        continue;
      }
      failures++;
      const { initialMs, maxMs } = this.context.retryBackoff;
      await this.backOff(owner, Math.min(maxMs, initialMs * 2 ** (failures - 1)));
    }
    this.group.workers.delete(this.key);
  }

  /** The group's committed offset; on first use the start is chosen and committed. */
  private async position(owner: Member): Promise<number> {
    const committed = this.group.position(this.topic, this.partition);
    const { startOffset, endOffset } = this.partitionLog;
    if (committed !== undefined && committed >= startOffset && committed <= endOffset) return committed;
    let start: number;
    if (committed === undefined) {
      start = owner.fromBeginning ? startOffset : endOffset;
    } else {
      // Records were let go of, or the log lost its end (files removed by hand): resume at the nearest edge.
      start = committed < startOffset ? startOffset : endOffset;
      this.context.log.warn(
        { groupId: this.group.id, topic: this.topic, partition: this.partition, committed, startOffset, endOffset },
        'committed offset is outside the log; resetting',
      );
    }
    // Committing the start keeps it stable when the partition moves before the first batch.
    await this.group.commit(this.topic, this.partition, start);
    return start;
  }

  /** Resolves true when the batch was handled and committed; never rejects. */
  private async deliver(owner: Member, position: number, records: StoredRecord[]): Promise<boolean> {
    const batch: ConsumedBatch = {
      topic: this.topic,
      partition: this.partition,
      records: records.map((record, i) => ({
        key: record.key,
        value: record.value,
        ...(record.headers ? { headers: { ...record.headers } } : {}),
        offset: BigInt(position + i),
        timestamp: record.timestamp,
      })),
    };
    const where = { groupId: this.group.id, topic: this.topic, partition: this.partition, offset: position };
    try {
      await owner.handler(batch);
    } catch (err) {
      this.context.log.warn({ err, ...where, records: records.length }, 'batch handler failed; the batch will be delivered again');
      return false;
    }
    try {
      await this.group.commit(this.topic, this.partition, position + records.length);
      await this.context.committed(this.topic, this.partition);
    } catch (err) {
      this.context.log.error({ err, ...where }, 'committing bus offset failed');
      return false;
    }
    return true;
  }

  /** Waits before a redelivery; cut short when the bus closes or the partition changes hands. */
  private async backOff(owner: Member, delayMs: number): Promise<void> {
    const until = Date.now() + delayMs;
    while (Date.now() < until && !this.context.isClosed() && this.group.owners.get(this.key) === owner) {
      await this.wakeup.sleep(until - Date.now());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The bus

class MemoryBus implements Bus {
  readonly kind = 'memory';
  private readonly log: Logger;
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private readonly context: DeliveryContext;
  private loaded: Promise<void> | undefined;
  private topicChanges: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: MemoryBusOptions) {
    this.log = (options.log ?? silentLogger()).child({ component: 'bus', bus: 'memory' });
    this.context = {
      log: this.log,
      maxBatchRecords: options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
      retryBackoff: options.retryBackoff ?? DEFAULT_RETRY_BACKOFF,
      isClosed: () => this.closing !== undefined,
      committed: (topic, partition) => this.release(topic, partition),
    };
  }

  private get dir(): string | undefined {
    return this.options.dir;
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    for (const spec of topics) {
      if (!TOPIC_NAME.test(spec.name)) throw new Error(`invalid topic name "${spec.name}": use 1-249 of [a-zA-Z0-9._-]`);
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        throw new Error(`topic "${spec.name}": partitions must be a positive integer, got ${spec.partitions}`);
      }
    }
    await this.ready();
    // Serialized, so two callers creating the same topic do not open its files twice.
    const change = this.topicChanges.then(async () => {
      for (const spec of topics) {
        if (!this.topics.has(spec.name)) this.topics.set(spec.name, await this.createTopic(spec));
      }
    });
    this.topicChanges = change.catch(() => undefined);
    await change;
  }

  async produce(topic: string, records: BusRecord[]): Promise<void> {
    await this.ready();
    const target = this.topics.get(topic);
    if (!target) throw new Error(`unknown topic "${topic}": create it with ensureTopics before producing`);
    if (records.length === 0) return;
    const timestamp = Date.now();
    const byPartition = new Map<number, StoredRecord[]>();
    let bytes = 0;
    for (const record of records) {
      const stored = { key: record.key, value: record.value, headers: record.headers, timestamp };
      const partition = target.partitionFor(record);
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, (list = []));
      list.push(stored);
      bytes += approximateBytes(stored);
    }
    target.budget?.reserve(bytes);
    await Promise.all(
      [...byPartition].map(async ([partition, list]) => {
        try {
          await target.logs[partition]!.append(list);
        } catch (err) {
          throw new BusUnavailableError(
            `memory bus could not store ${list.length} records in ${topic}/${partition}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        for (const group of this.groups.values()) group.workers.get(`${topic}:${partition}`)?.wakeup.notify();
      }),
    );
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    await this.ready();
    if (options.groupId === '') throw new Error('subscribe needs a non-empty groupId');
    for (const topic of options.topics) {
      if (!this.topics.has(topic)) throw new Error(`cannot subscribe to unknown topic "${topic}": create it with ensureTopics first`);
    }
    let group = this.groups.get(options.groupId);
    if (!group) this.groups.set(options.groupId, (group = new Group(options.groupId, this.groupsDir())));
    const member = new Member(group, [...options.topics], options.handler, options.fromBeginning ?? true, (leaving) => {
      const members = leaving.group.members;
      const at = members.indexOf(leaving);
      if (at >= 0) members.splice(at, 1);
      leaving.owned = [];
      this.rebalance(leaving.group);
    });
    group.members.push(member);
    this.rebalance(group);
    return member;
  }

  async ping(): Promise<void> {
    if (this.closing) throw new BusUnavailableError('memory bus is closed');
    await this.ready();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Members first: each finishes and commits its in-flight batches, as on a Kafka leave.
    const groups = [...this.groups.values()];
    await Promise.all(groups.flatMap((group) => group.members.map((member) => member.stop())));
    const workers = groups.flatMap((group) => [...group.workers.values()]);
    for (const worker of workers) worker.wakeup.notify();
    await Promise.all(workers.map((worker) => worker.done));
    if (this.loaded) await this.loaded.catch(() => undefined);
    await this.topicChanges;
    await Promise.all([...this.topics.values()].flatMap((topic) => topic.logs.map((log) => log.close())));
  }

  private ready(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('memory bus is closed'));
    this.loaded ??= this.load();
    return this.loaded;
  }

  private groupsDir(): string | undefined {
    return this.dir ? join(this.dir, 'groups') : undefined;
  }

  /** Reopens the topics and committed offsets kept in `dir`. */
  private async load(): Promise<void> {
    if (!this.dir) return;
    const topicsDir = join(this.dir, 'topics');
    const groupsDir = join(this.dir, 'groups');
    try {
      await mkdir(topicsDir, { recursive: true });
      await mkdir(groupsDir, { recursive: true });
      for (const name of await readdir(groupsDir)) {
        if (!name.endsWith('.json')) continue;
        const saved = JSON.parse(await readFile(join(groupsDir, name), 'utf8')) as ReturnType<Group['toJSON']>;
        const group = new Group(saved.groupId, groupsDir);
        for (const [topic, partitions] of Object.entries(saved.offsets)) {
          group.committed.set(topic, new Map(Object.entries(partitions).map(([p, offset]): [number, number] => [Number(p), offset])));
        }
        this.groups.set(group.id, group);
      }
      for (const name of await readdir(topicsDir)) {
        const metaPath = join(topicsDir, name, 'topic.json');
        const meta = await readFile(metaPath, 'utf8').catch(() => undefined);
        // A folder without topic.json is a creation that did not finish; ensureTopics redoes it.
        if (meta === undefined) continue;
        const { partitions } = JSON.parse(meta) as { partitions: number };
        this.topics.set(name, await this.openTopic(name, partitions));
      }
    } catch (err) {
      throw new Error(`memory bus cannot open ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
    this.log.info({ dir: this.dir, topics: this.topics.size, groups: this.groups.size }, 'memory bus opened');
  }

  private async createTopic(spec: TopicSpec): Promise<Topic> {
    if (!this.dir) {
      const budget = new ByteBudget(spec.name, this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
      return new Topic(spec.name, Array.from({ length: spec.partitions }, () => new MemoryLog(budget)), budget);
    }
    const topic = await this.openTopic(spec.name, spec.partitions);
    // topic.json is written last: it marks the topic as complete.
    await writeFileAtomically(join(this.dir, 'topics', spec.name, 'topic.json'), JSON.stringify({ partitions: spec.partitions }));
    return topic;
  }

  private async openTopic(name: string, partitions: number): Promise<Topic> {
    const dir = join(this.dir!, 'topics', name);
    const segmentBytes = this.options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    const logs = await Promise.all(
      Array.from({ length: partitions }, (_, p) => FileLog.open(join(dir, String(p)), segmentBytes, this.log)),
    );
    return new Topic(name, logs);
  }

  /** Hands each partition of the group's topics to one member, round robin in join order. */
  private rebalance(group: Group): void {
    group.owners.clear();
    const owned = new Map<Member, string[]>(group.members.map((member) => [member, []]));
    const subscribed = new Set(group.members.flatMap((member) => member.topics));
    for (const topicName of subscribed) {
      const topic = this.topics.get(topicName)!;
      const members = group.members.filter((member) => member.topics.includes(topicName));
      for (let partition = 0; partition < topic.logs.length; partition++) {
        const owner = members[partition % members.length]!;
        const key = `${topicName}:${partition}`;
        group.owners.set(key, owner);
        owned.get(owner)!.push(key);
        if (!group.workers.has(key) && !this.closing) {
          group.workers.set(key, new PartitionWorker(this.context, group, topicName, partition, topic.logs[partition]!));
        }
      }
    }
    for (const member of group.members) member.owned = owned.get(member)!;
    for (const worker of group.workers.values()) worker.wakeup.notify();
    this.log.debug({ groupId: group.id, members: group.members.length, partitions: group.owners.size }, 'bus group rebalanced');
  }

  /** Lets go of records every group that reads the partition has committed past. */
  private async release(topic: string, partition: number): Promise<void> {
    let lowest = Infinity;
    for (const group of this.groups.values()) {
      const committed = group.position(topic, partition);
      if (committed !== undefined) lowest = Math.min(lowest, committed);
      // A group reading this partition without a commit yet may still need everything.
      else if (group.owners.has(`${topic}:${partition}`)) return;
    }
    if (lowest !== Infinity) await this.topics.get(topic)?.logs[partition]?.releaseBefore(lowest);
  }
}
