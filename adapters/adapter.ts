// The contract between the composition root and a protocol adapter: the factory each adapter folder
// exports, and what it is given. An adapter returns a ProtocolHandler (src/net/connection.ts); the
// registry of adapters is index.ts.
import type { Logger } from 'pino';
import type { JunctionConfig } from '../src/config/schema.ts';
import type { Broker } from '../src/core/broker.ts';
import type { ProtocolHandler } from '../src/net/connection.ts';
import type { SecurityService } from '../src/security/security-service.ts';

export interface AdapterContext {
  broker: Broker;
  security: SecurityService;
  config: JunctionConfig;
  log: Logger;
}

export type AdapterFactory = (ctx: AdapterContext) => ProtocolHandler;
