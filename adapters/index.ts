// The registry of protocol adapters the server wires in: one factory per adapter folder (mqtt/,
// amqp/, stomp/). The contract they implement is adapter.ts.
import type { AdapterFactory } from './adapter.ts';
import { amqpAdapter } from './amqp/index.ts';
import { mqttAdapter } from './mqtt/index.ts';
import { stompAdapter } from './stomp/index.ts';

export type { AdapterContext, AdapterFactory } from './adapter.ts';

export const ADAPTERS: readonly AdapterFactory[] = [mqttAdapter, stompAdapter, amqpAdapter];
