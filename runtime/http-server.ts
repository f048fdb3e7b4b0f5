import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseListen } from './config.ts';
import type { Component } from './component.ts';
import type { Logger } from './log.ts';

/** An HTTP server as a component: listens on start, drains open requests on shutdown. */
export interface HttpServerComponent extends Component {
  /** The bound port (useful with port 0 in tests). */
  port(): number;
}

export function httpServerComponent(name: string, listen: string, handler: RequestListener, log: Logger): HttpServerComponent {
  let server: Server | undefined;
  let closed: Promise<void> | undefined;
  return {
    name,
    async start() {
      const { host, port } = parseListen(listen);
      server = createServer(handler);
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', (err) => reject(new Error(`${name}: cannot listen on ${listen}: ${err.message}`)));
        server!.listen(port, host, resolve);
      });
      log.info({ component: name, listen, port: (server.address() as AddressInfo).port }, 'listening');
    },
    shutdown() {
      if (!server) return Promise.resolve();
      const s = server;
      closed ??= new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeIdleConnections();
      });
      return closed;
    },
    port() {
      return (server?.address() as AddressInfo | null)?.port ?? 0;
    },
  };
}
