// The registry of protocol adapters: one descriptor per adapter folder. Everything else that varies
// by protocol (the configuration's sections, the listeners, metric labels, the message mapping
// table) is derived from this list, so a new protocol is its folder plus one line here.
import type { AdapterDescriptor } from './adapter.ts';
import { amqpAdapter } from './amqp/index.ts';
import { awsAdapter } from './aws/index.ts';
import { mappingRows, type MappingColumn, type MappingRow } from './message-mapping.ts';
import { mqttAdapter } from './mqtt/index.ts';
import { openwireAdapter } from './openwire/index.ts';
import { stompAdapter } from './stomp/index.ts';

export type { AdapterContext, AdapterDescriptor, AdapterHandler } from './adapter.ts';

export const ADAPTERS = [
  mqttAdapter,
  stompAdapter,
  amqpAdapter,
  openwireAdapter,
  awsAdapter,
] as const satisfies readonly AdapterDescriptor[];

/** The mapping table's columns, in the registry's order. */
export const MAPPING_COLUMNS: readonly MappingColumn[] = ADAPTERS.flatMap((a) => a.mapping);

/** The mapping table: a row per field of the core message, a cell per column. */
export const MAPPING: readonly MappingRow[] = mappingRows(MAPPING_COLUMNS);
