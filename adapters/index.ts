// The protocol adapters the server wires in. Each adapter folder (mqtt/, amqp/, stomp/) exports a
// ProtocolHandler factory over the broker core; the composition root asks this file for all of them.
import type { Logger } from 'pino';
import type { JunctionConfig } from '../src/config/schema.ts';
import type { Broker } from '../src/core/broker.ts';
import type { ProtocolHandler } from '../src/net/listeners.ts';
import type { SecurityService } from '../src/security/security-service.ts';
import { amqpAdapter } from './amqp/index.ts';
import { mqttAdapter } from './mqtt/index.ts';
import { stompAdapter } from './stomp/index.ts';

export interface AdapterContext {
  broker: Broker;
  security: SecurityService;
  config: JunctionConfig;
  log: Logger;
}

export type AdapterFactory = (ctx: AdapterContext) => ProtocolHandler;

export const ADAPTERS: readonly AdapterFactory[] = [mqttAdapter, stompAdapter, amqpAdapter];
