import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../../runtime/log.ts';
import { AuthenticationError, bearerToken, type Authenticator, type Origin } from '../auth/origin.ts';
import { RefusedError, type Intake } from '../intake.ts';
import {
  createExportResponse,
  decodeProtobuf,
  decodeResponseProtobuf,
  encodeResponseProtobuf,
  OTLP_GRPC_METHOD_PATHS,
  OtlpDecodeError,
  type OtlpResponse,
  type OtlpSignal,
} from './codec.ts';

/**
 * The OTLP/gRPC services (TraceService, MetricsService, LogsService). Requests arrive as raw bytes
 * and are decoded in the handler, so a bad payload becomes INVALID_ARGUMENT with a reason rather than
 * a transport error. Throttling answers UNAVAILABLE, which OTLP exporters retry with backoff.
 */
export function otlpGrpcServices(deps: { intake: Intake; authenticator: Authenticator; log: Logger }): Array<{
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}> {
  return (['traces', 'metrics', 'logs'] as const).map((signal) => ({
    definition: serviceDefinition(signal),
    implementation: { Export: exportHandler(signal, deps) },
  }));
}

function serviceDefinition(signal: OtlpSignal): ServiceDefinition {
  return {
    Export: {
      path: OTLP_GRPC_METHOD_PATHS[signal],
      requestStream: false,
      responseStream: false,
      requestSerialize: (bytes: Buffer) => bytes,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (response: OtlpResponse) => Buffer.from(encodeResponseProtobuf(signal, response)),
      responseDeserialize: (bytes: Buffer) => decodeResponseProtobuf(signal, bytes),
    },
  };
}

function exportHandler(signal: OtlpSignal, deps: { intake: Intake; authenticator: Authenticator; log: Logger }) {
  const receiver = 'otlp_grpc';
  return (call: ServerUnaryCall<Buffer, OtlpResponse>, callback: sendUnaryData<OtlpResponse>): void => {
    let origin: Origin | undefined;
    const fail = (code: status, details: string) => callback({ code, details });
    try {
      origin = deps.authenticator.authenticate({ bearer: bearerToken(call.metadata.get('authorization')[0] as string | undefined) });
      const request = decodeProtobuf(signal, call.request);
      deps.intake.accept(receiver, signal, request, origin).then(
        (result) => callback(null, createExportResponse(signal, result.rejected, result.rejectedReason ?? '')),
        (err: unknown) => {
          if (err instanceof RefusedError) fail(err.retryable ? status.UNAVAILABLE : status.INVALID_ARGUMENT, err.message);
          else {
            deps.log.error({ err, signal }, 'OTLP/gRPC export failed');
            fail(status.UNAVAILABLE, `internal error: ${(err as Error).message}; retry later`);
          }
        },
      );
    } catch (err) {
      if (err instanceof AuthenticationError) {
        deps.intake.refused(receiver, 'unauthenticated');
        fail(status.UNAUTHENTICATED, err.message);
      } else if (err instanceof OtlpDecodeError) {
        deps.intake.refused(receiver, 'decode_error', origin);
        fail(status.INVALID_ARGUMENT, err.message);
      } else {
        deps.log.error({ err, signal }, 'OTLP/gRPC export failed');
        fail(status.INTERNAL, (err as Error).message);
      }
    }
  };
}
