import {
  loadPackageDefinition,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type ClientWritableStream,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { StreamAccessLogsMessage } from './types.ts';

/** gRPC method path of the ALS stream Envoy opens. */
export const STREAM_ACCESS_LOGS_PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

const SERVICE = 'envoy.service.accesslog.v3.AccessLogService';

/**
 * Options for `@grpc/proto-loader`; decode.ts and types.ts depend on them: proto field names kept,
 * 64-bit integers as decimal strings (turned into bigint by the converters), enums as names, no
 * default values (absent stays absent), and the name of each set oneof member.
 */
export const PROTO_LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true } as const;

let packageDefinition: PackageDefinition | undefined;

/**
 * Loads `envoy/service/accesslog/v3/als.proto` and its imports from the proto tree that
 * `@grpc/grpc-js-xds` ships (envoy-api, xds, protoc-gen-validate, googleapis). About 100 ms, once;
 * the result is cached.
 */
export function alsPackageDefinition(): PackageDefinition {
  if (packageDefinition === undefined) {
    const require = createRequire(import.meta.url);
    const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
    packageDefinition = loadSync('envoy/service/accesslog/v3/als.proto', {
      ...PROTO_LOADER_OPTIONS,
      includeDirs: ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'].map((dir) => path.join(deps, dir)),
    });
  }
  return packageDefinition;
}

function method(): MethodDefinition<StreamAccessLogsMessage, Record<string, never>> {
  const service = alsPackageDefinition()[SERVICE] as unknown as Record<string, MethodDefinition<StreamAccessLogsMessage, Record<string, never>>>;
  return service.StreamAccessLogs!;
}

/** The client constructor grpc-js builds from the definition (used by tests and any ALS sender). */
export type AccessLogServiceClientConstructor = new (address: string, credentials: ChannelCredentials, options?: ClientOptions) => Client & {
  StreamAccessLogs(callback: (error: Error | null, response?: Record<string, never>) => void): ClientWritableStream<StreamAccessLogsMessage>;
};

let clientConstructor: AccessLogServiceClientConstructor | undefined;

/** AccessLogService as `grpc.loadPackageDefinition` gives it: a client constructor with `.service`. */
export function accessLogServiceClient(): AccessLogServiceClientConstructor {
  if (clientConstructor === undefined) {
    const grpcObject = loadPackageDefinition(alsPackageDefinition()) as unknown as {
      envoy: { service: { accesslog: { v3: { AccessLogService: AccessLogServiceClientConstructor } } } };
    };
    clientConstructor = grpcObject.envoy.service.accesslog.v3.AccessLogService;
  }
  return clientConstructor;
}

/**
 * The service definition to pass to `Server.addService`: grpc-js decodes each
 * StreamAccessLogsMessage with proto-loader before the handler sees it (shapes in types.ts).
 */
export function accessLogServiceDefinition(): ServiceDefinition {
  return (accessLogServiceClient() as unknown as { service: ServiceDefinition }).service;
}

/** Encodes a StreamAccessLogsMessage to protobuf bytes (what an Envoy, or a test client, sends). */
export function encodeStreamAccessLogsMessage(message: StreamAccessLogsMessage): Buffer {
  return method().requestSerialize(message);
}

/** Decodes protobuf bytes into a StreamAccessLogsMessage; throws on malformed input. */
export function decodeStreamAccessLogsMessage(bytes: Uint8Array): StreamAccessLogsMessage {
  return method().requestDeserialize(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
