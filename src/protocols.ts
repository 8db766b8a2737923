// The composition root's view of the protocols: the adapter registry (adapters/index.ts), the
// whole configuration schema built from it, and the binding of an adapter's descriptor to the
// handler the listeners route connections to. With src/server.ts, the only place in src/ that
// knows the adapters.
import type { z } from 'zod';
import { ADAPTERS, type AdapterContext, type AdapterDescriptor } from '../adapters/index.ts';
import { filterToCore } from '../adapters/mqtt/topics.ts';
import { InvalidDestinationError } from './shared/errors.ts';
import { buildConfigSchema, protocolListenerSchema, type CoreConfig, type ProtocolListenerConfig } from './config/schema.ts';
import type { ProtocolHandler } from './net/connection.ts';

export { ADAPTERS };
export type { AdapterDescriptor };

/** Every key of the configuration, the registered protocols' sections included. */
export const configSchema = buildConfigSchema(ADAPTERS);

export type JunctionConfig = z.output<typeof configSchema>;

/** The adapter's listener as configured (its defaults for an adapter the registry lacks). */
function listenerOf(d: AdapterDescriptor, config: CoreConfig): ProtocolListenerConfig {
  const listeners = config.listeners as CoreConfig['listeners'] & Record<string, ProtocolListenerConfig | undefined>;
  return listeners[d.name] ?? protocolListenerSchema(d.listener).parse(undefined);
}

/** Whether an adapter serves anything under this configuration: its own listener, or the WebSocket port. */
export function serves(d: AdapterDescriptor, config: CoreConfig): boolean {
  return d.listener.webSocket !== undefined || listenerOf(d, config).enabled;
}

/**
 * A descriptor made into the handler of one epoch: the adapter's settings and listener come from
 * the configuration's sections of its name (their defaults for an adapter the registry lacks).
 */
export function bindAdapter(d: AdapterDescriptor, ctx: AdapterContext): ProtocolHandler {
  const config = ctx.config as CoreConfig & Record<string, unknown>;
  const settings: unknown = config[d.name] ?? d.configSchema.parse({});
  const listener = listenerOf(d, config);
  const ws = d.listener.webSocket;
  return {
    ...d.create(ctx, settings as z.output<typeof d.configSchema>),
    protocol: d.name,
    listener,
    subprotocols: ws?.subprotocols ?? [],
    paths: ws?.paths ?? [],
    webSocketFraming: ws?.framing ?? 'stream',
  };
}

/** The core topic pattern an MQTT topic filter reads (a topic rule's `mqttTopicFilter`); no shared subscriptions. */
export function mqttFilterToPattern(filter: string): string {
  const f = filterToCore(filter);
  if (f.group !== undefined)
    throw new InvalidDestinationError(`a topic rule reads every message: "${filter}" is a shared subscription`, { filter });
  return f.pattern;
}
