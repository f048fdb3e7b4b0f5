import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BusRecord } from '../../bus/index.ts';

/** A batch waiting for the bus: one produce call's worth of records for one topic. */
export interface SpooledBatch {
  topic: string;
  records: BusRecord[];
}

/** The spool has no room left: the sender must retry later. */
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
  readonly retryable = true;
}

/**
 * Accepted data that the bus could not take yet, kept on disk so that neither a bus outage nor a
 * collector crash loses anything a sender was told was received. One file per batch, named by a
 * sequence number so replay keeps the order. A batch is written to a temporary name, fsynced and
 * renamed (with the folder fsynced) before `append` returns, so a crash leaves either the whole batch
 * or nothing; a file is deleted only after the bus has accepted it.
 */
export interface Spool {
  /** Writes the batch durably; throws SpoolFullError when it would pass the size bound. */
  append(batch: SpooledBatch): void;
  /** The oldest batch, or undefined when empty. */
  peek(): SpooledBatch | undefined;
  /** Drops the oldest batch once the bus has accepted it. */
  shift(): void;
  size(): { batches: number; bytes: number };
}

const SUFFIX = '.spool';
const TEMPORARY = '.partial';

export function openSpool(dir: string, maxBytes: number): Spool {
  mkdirSync(dir, { recursive: true });
  // A partial file is a batch whose append never returned, so its sender was never told it was kept.
  for (const name of readdirSync(dir)) if (name.endsWith(TEMPORARY)) unlinkSync(join(dir, name));
  const queue: Array<{ seq: number; bytes: number }> = readdirSync(dir)
    .filter((name) => name.endsWith(SUFFIX))
    .map((name) => ({ seq: Number(name.slice(0, -SUFFIX.length)), bytes: statSync(join(dir, name)).size }))
    .filter((entry) => Number.isSafeInteger(entry.seq))
    .sort((a, b) => a.seq - b.seq);
  let bytes = queue.reduce((sum, e) => sum + e.bytes, 0);
  let nextSeq = (queue.at(-1)?.seq ?? 0) + 1;
  const pathOf = (seq: number) => join(dir, `${String(seq).padStart(16, '0')}${SUFFIX}`);

  return {
    append(batch) {
      const encoded = encodeBatch(batch);
      if (bytes + encoded.length > maxBytes) {
        throw new SpoolFullError(`spool ${dir} is full (${bytes} of ${maxBytes} bytes used); retry later`);
      }
      const seq = nextSeq++;
      const temporary = `${pathOf(seq)}${TEMPORARY}`;
      const fd = openSync(temporary, 'w');
      try {
        writeSync(fd, encoded);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, pathOf(seq));
      fsyncFolder(dir);
      queue.push({ seq, bytes: encoded.length });
      bytes += encoded.length;
    },
    peek() {
      const head = queue[0];
      return head ? decodeBatch(readFileSync(pathOf(head.seq)), pathOf(head.seq)) : undefined;
    },
    shift() {
      const head = queue.shift();
      if (!head) return;
      unlinkSync(pathOf(head.seq));
      bytes -= head.bytes;
    },
    size: () => ({ batches: queue.length, bytes }),
  };
}

function fsyncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// File layout: u32 topic length, topic, u32 record count, then per record: i32 key length (-1 for
// null), key, u32 value length, value, u32 headers-JSON length, headers JSON.
function encodeBatch({ topic, records }: SpooledBatch): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n);
    return b;
  };
  const topicBytes = Buffer.from(topic, 'utf8');
  parts.push(u32(topicBytes.length), topicBytes, u32(records.length));
  for (const record of records) {
    const keyLength = Buffer.allocUnsafe(4);
    keyLength.writeInt32BE(record.key ? record.key.length : -1);
    parts.push(keyLength);
    if (record.key) parts.push(record.key);
    parts.push(u32(record.value.length), record.value);
    const headers = Buffer.from(record.headers ? JSON.stringify(record.headers) : '', 'utf8');
    parts.push(u32(headers.length), headers);
  }
  return Buffer.concat(parts);
}

function decodeBatch(buffer: Buffer, path: string): SpooledBatch {
  let at = 0;
  const need = (n: number) => {
    if (at + n > buffer.length) throw new Error(`spool file ${path} is truncated at byte ${at}`);
  };
  const u32 = () => {
    need(4);
    const n = buffer.readUInt32BE(at);
    at += 4;
    return n;
  };
  const bytes = (n: number) => {
    need(n);
    const b = buffer.subarray(at, at + n);
    at += n;
    return b;
  };
  const topic = bytes(u32()).toString('utf8');
  const count = u32();
  const records: BusRecord[] = [];
  for (let i = 0; i < count; i++) {
    need(4);
    const keyLength = buffer.readInt32BE(at);
    at += 4;
    const key = keyLength < 0 ? null : Buffer.from(bytes(keyLength));
    const value = Buffer.from(bytes(u32()));
    const headersText = bytes(u32()).toString('utf8');
    records.push(headersText ? { key, value, headers: JSON.parse(headersText) as Record<string, string> } : { key, value });
  }
  return { topic, records };
}
