// A Junction server for protocol tests: loopback listeners on ephemeral ports, a throwaway TLS
// certificate, no admin port, the memory store unless the test gives a store or a store config,
// and immediate redelivery unless the test sets its own destination defaults.
import type { Logger } from 'pino';
import { validateConfig } from '../../src/config/load.ts';
import type { AdapterDescriptor } from '../../adapters/adapter.ts';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import { JunctionServer } from '../../src/server.ts';
import type { Store } from '../../src/store/store.ts';
import { silent } from './core.ts';
import { makeTestCert, type TestCert } from './tls.ts';

export async function startTestServer(
  adapters: readonly AdapterDescriptor[],
  listeners: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  store?: Store,
  log: Logger = silent,
): Promise<{ server: JunctionServer; cert: TestCert }> {
  const cert = makeTestCert();
  const config = validateConfig({
    store: { type: 'memory' },
    admin: { enabled: false },
    tls: { cert: cert.certFile, key: cert.keyFile },
    listeners: { host: '127.0.0.1', ...listeners },
    ...extra,
    destinations: { defaults: { redeliveryDelayMs: 0 }, ...(extra.destinations as object | undefined) },
  });
  const server = await JunctionServer.start(config, { log, adapters, ...(store ? { store } : {}) });
  return { server, cert };
}

/** A server with STOMP, MQTT, AMQP and the AWS APIs on ephemeral ports (TCP and TLS) and the WebSocket port. */
export function startAllProtocols(
  extra: Record<string, unknown> = {},
  store?: Store,
  log?: Logger,
): Promise<{ server: JunctionServer; cert: TestCert }> {
  const ephemeral = { port: 0, tlsPort: 0 };
  return startTestServer(
    [stompAdapter, mqttAdapter, amqpAdapter, awsAdapter],
    { stomp: ephemeral, mqtt: ephemeral, amqp: ephemeral, aws: ephemeral, websocket: { port: 0 } },
    extra,
    store,
    log,
  );
}
