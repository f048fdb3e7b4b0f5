import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Component } from '../../runtime/component.ts';
import type { Logger } from '../../runtime/log.ts';

export interface GrpcServerComponent extends Component {
  port(): number;
}

/**
 * A gRPC listener as a component. Message size is bounded here (grpc-js refuses larger messages with
 * RESOURCE_EXHAUSTED before the handler runs). Shutdown lets calls in flight finish, then forces.
 */
export function grpcServerComponent(
  name: string,
  listen: string,
  services: Array<{ definition: ServiceDefinition; implementation: UntypedServiceImplementation }>,
  options: { maxMessageBytes: number; log: Logger },
): GrpcServerComponent {
  let server: Server | undefined;
  let boundPort = 0;
  let stopped: Promise<void> | undefined;
  return {
    name,
    async start() {
      server = new Server({
        'grpc.max_receive_message_length': options.maxMessageBytes,
        'grpc.max_concurrent_streams': 1000,
        'grpc.keepalive_time_ms': 60_000,
      });
      for (const { definition, implementation } of services) server.addService(definition, implementation);
      const address = listen.startsWith(':') ? `0.0.0.0${listen}` : listen;
      boundPort = await new Promise<number>((resolve, reject) => {
        server!.bindAsync(address, ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(new Error(`${name}: cannot listen on ${listen}: ${err.message}`)) : resolve(port),
        );
      });
      options.log.info({ component: name, listen, port: boundPort }, 'listening');
    },
    shutdown() {
      if (!server) return Promise.resolve();
      const s = server;
      stopped ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => s.forceShutdown(), 5_000);
        s.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopped;
    },
    port: () => boundPort,
  };
}
