// The contract between the composition root and a protocol adapter: the descriptor each adapter
// folder exports from its index.ts, and what its factory is given. A descriptor says everything the
// rest of the broker needs to know of a protocol (its name, listeners, settings and mapping columns),
// so a new protocol is one folder here plus one line in the registry, index.ts.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { CoreConfig, ListenerDefaults } from '../src/config/schema.ts';
import type { Broker } from '../src/core/broker.ts';
import type { DeliveryStreams } from '../src/firehose/delivery-streams.ts';
import type { Streams } from '../src/streams/streams.ts';
import type { ProtocolHandler, WebSocketFraming } from '../src/net/connection.ts';
import type { SecurityService } from '../src/security/security-service.ts';
import type { MappingColumn } from './message-mapping.ts';

export interface AdapterContext {
  broker: Broker;
  /** The active broker's delivery streams (Firehose and SNS put records to them). */
  deliveryStreams: DeliveryStreams;
  /** The active broker's streams (Kinesis, and stream consumers and publishers of every protocol). */
  streams: Streams;
  security: SecurityService;
  /** The sections no protocol owns (limits, tls, destinations...); the adapter's own come as settings. */
  config: CoreConfig;
  log: Logger;
}

/** What an adapter's factory returns: its connection handling (the listeners route to it). */
export type AdapterHandler = Omit<ProtocolHandler, 'protocol' | 'subprotocols' | 'paths' | 'webSocketFraming' | 'listener'>;

export interface AdapterListeners extends ListenerDefaults {
  /** How WebSocket clients reach the protocol on the shared WebSocket port; absent, they cannot. */
  readonly webSocket?: {
    /** Subprotocols a client offers in Sec-WebSocket-Protocol. */
    readonly subprotocols: readonly string[];
    /** URL paths that select the protocol when a client offers no subprotocol. */
    readonly paths: readonly string[];
    readonly framing: WebSocketFraming;
  };
}

export interface AdapterDescriptor<S extends z.ZodObject = z.ZodObject, N extends string = string> {
  /** The protocol's name: its configuration sections (`listeners.<name>`, `<name>`) and metric label. */
  readonly name: N;
  /** What a person calls it (help texts, logs). */
  readonly title: string;
  readonly listener: AdapterListeners;
  /** The adapter's own settings, the configuration's `<name>` section (every key with a default). */
  readonly configSchema: S;
  /** Its columns of the message mapping table (adapters/message-mapping.ts). */
  readonly mapping: readonly MappingColumn[];
  /** Built once per epoch, with the broker of that epoch and the adapter's validated settings. */
  create(ctx: AdapterContext, settings: z.output<S>): AdapterHandler;
}
