import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Response } from 'express';

/** gRPC status codes used in `google.rpc.Status` bodies (OTLP/HTTP errors carry one). */
export const GRPC_CODE = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNAUTHENTICATED: 16,
  UNAVAILABLE: 14,
  UNIMPLEMENTED: 12,
} as const;

const HTTP_TO_GRPC: Record<number, number> = {
  400: GRPC_CODE.INVALID_ARGUMENT,
  401: GRPC_CODE.UNAUTHENTICATED,
  403: GRPC_CODE.UNAUTHENTICATED,
  413: GRPC_CODE.INVALID_ARGUMENT,
  415: GRPC_CODE.UNIMPLEMENTED,
  429: GRPC_CODE.RESOURCE_EXHAUSTED,
  503: GRPC_CODE.UNAVAILABLE,
};

/**
 * Sends an error as the OTLP/HTTP specification asks: a `google.rpc.Status` in the request's own
 * encoding (protobuf or JSON), with `Retry-After` on throttling answers. Non-OTLP endpoints get the
 * JSON form, which also carries an `error` field with the reason.
 */
export function sendError(res: Response, status: number, message: string, options: { protobuf?: boolean; retryAfterSeconds?: number | undefined } = {}): void {
  if (options.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(options.retryAfterSeconds));
  const code = HTTP_TO_GRPC[status] ?? GRPC_CODE.INVALID_ARGUMENT;
  if (options.protobuf) {
    const body = new BinaryWriter().tag(1, WireType.Varint).int32(code).tag(2, WireType.LengthDelimited).string(message).finish();
    res.status(status).type('application/x-protobuf').send(Buffer.from(body));
    return;
  }
  res.status(status).json({ code, message, error: message });
}
