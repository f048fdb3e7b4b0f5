import type { IncomingMessage } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { uncompressSync } from 'snappy';

/** A request the receiver refuses for good: the sender must not retry it unchanged. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
  constructor(
    message: string,
    readonly status: 400 | 401 | 403 | 413 | 415 = 400,
  ) {
    super(message);
  }
}

export interface BodyLimits {
  /** Largest body accepted as sent on the wire. */
  maxWireBytes: number;
  /** Largest body after decompression: a small gzip or snappy bomb is refused before it inflates. */
  maxDecodedBytes: number;
}

/** Reads a request body up to the wire limit, without buffering more than it allows. */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxWireBytes) {
    req.resume();
    throw new BadRequestError(`body of ${declared} bytes is larger than the limit of ${limits.maxWireBytes} bytes`, 413);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limits.maxWireBytes) {
      req.resume();
      throw new BadRequestError(`body is larger than the limit of ${limits.maxWireBytes} bytes`, 413);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

/** Undoes `Content-Encoding` (gzip, deflate, snappy block format), bounded by `maxDecodedBytes`. */
export function decompress(body: Buffer, encoding: string | undefined, limits: BodyLimits): Buffer {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  try {
    switch (name) {
      case '':
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, { maxOutputLength: limits.maxDecodedBytes });
      case 'deflate':
        return inflateSync(body, { maxOutputLength: limits.maxDecodedBytes });
      case 'snappy': {
        // The block format starts with the decoded length as a varint: check it before inflating.
        const decodedLength = snappyDecodedLength(body);
        if (decodedLength > limits.maxDecodedBytes) {
          throw new BadRequestError(`snappy body would decode to ${decodedLength} bytes, more than the limit of ${limits.maxDecodedBytes}`, 413);
        }
        return uncompressSync(body, { asBuffer: true }) as Buffer;
      }
      default:
        throw new BadRequestError(`unsupported Content-Encoding "${name}"; use gzip, deflate, snappy or none`, 415);
    }
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    const message = (err as Error).message;
    if (err instanceof RangeError || /maxOutputLength|larger than/i.test(message)) {
      throw new BadRequestError(`${name} body decodes to more than the limit of ${limits.maxDecodedBytes} bytes`, 413);
    }
    throw new BadRequestError(`cannot decode ${name} body: ${message}`);
  }
}

function snappyDecodedLength(body: Buffer): number {
  let value = 0;
  for (let i = 0, shift = 0; i < Math.min(body.length, 5); i++, shift += 7) {
    const byte = body[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
  }
  throw new BadRequestError('snappy body has no valid length preamble');
}

/** `application/json; charset=utf-8` -> `application/json`. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}
