// Client certificates as identities (tls.identityFrom): a certificate the configured CA signed
// names the user, with no password, over MQTT (mqtt.js, TLS and WebSocket), STOMP (raw frames over
// TLS) and AMQP (rhea, SASL EXTERNAL); a listed user keeps its groups, an unlisted one gets
// tls.identityGroups, and the fleet pattern `devices.%u.>` then holds. A certificate from
// another CA, an expired or a revoked one, or none at all is refused at the TLS handshake (the
// client hears the TLS alert, never a CONNACK).
import { once } from 'node:events';
import tls from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import rhea, { type Connection, type EventContext } from 'rhea';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { certificateIdentity } from '../../src/net/certificate-identity.ts';
import type { JunctionServer } from '../../src/server.ts';
import { Pki, type Issued } from '../helpers/pki.ts';
import { startAllProtocols } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

const pki = new Pki();
const serverCert = pki.server();
const listed = pki.issue('/O=Fleet/CN=device-17', { san: 'DNS:device-17.fleet,URI:urn:dev:17' });
const unlisted = pki.issue('/CN=device-99');
const expired = pki.issue('/CN=device-old', { startDate: '20200101000000Z', endDate: '20200102000000Z' });
const revoked = pki.issue('/CN=device-lost');
const stranger = new Pki('Another CA').issue('/CN=device-17');
pki.revoke(revoked);

let server: JunctionServer;
const mqttClients: MqttClient[] = [];
const amqpConnections: Connection[] = [];

beforeAll(async () => {
  ({ server } = await startAllProtocols({
    tls: {
      cert: serverCert.certFile,
      key: serverCert.keyFile,
      ca: pki.caFile,
      crl: pki.crl(),
      requestCert: true,
      rejectUnauthorized: true,
      identityFrom: 'cn',
      identityGroups: ['devices'],
    },
    listeners: {
      host: '127.0.0.1',
      mqtt: { port: 0, tlsPort: 0 },
      stomp: { port: 0, tlsPort: 0 },
      amqp: { port: 0, tlsPort: 0 },
      websocket: { port: 0, tls: true },
    },
    security: {
      users: [{ username: 'device-17', groups: ['devices'] }],
      authorization: [{ topic: 'devices.%u.>', read: ['devices'], write: ['devices'], admin: ['devices'] }],
    },
  }));
});

afterEach(() => {
  for (const c of mqttClients.splice(0)) c.end(true);
  for (const c of amqpConnections.splice(0)) c.close();
});

afterAll(async () => {
  await server?.stop();
});

const tlsPort = (protocol: string): number => server.listeners.port(protocol, 'tls') as number;

function mqttWith(cert: Issued | undefined, url = `mqtts://127.0.0.1:${tlsPort('mqtt')}`, extra: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    ca: pki.ca,
    ...(cert ? { cert: cert.cert, key: cert.key } : {}),
    servername: 'localhost',
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
  mqttClients.push(client);
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

describe('client certificates', () => {
  it('reads the identity a certificate names, by CN, SAN or DN', async () => {
    const seen: Array<string | undefined> = [];
    const probe = tls.createServer({ cert: serverCert.cert, key: serverCert.key, ca: pki.ca, requestCert: true }, (s) => {
      seen.push(
        certificateIdentity(s, 'cn'),
        certificateIdentity(s, 'san-dns'),
        certificateIdentity(s, 'san-uri'),
        certificateIdentity(s, 'dn'),
      );
      s.end();
    });
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const c = tls.connect({
      port: (probe.address() as { port: number }).port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: pki.ca,
      cert: listed.cert,
      key: listed.key,
    });
    await once(c, 'close');
    probe.close();
    // openssl's CA writes the subject in its policy's order: CN, then O.
    expect(seen).toEqual(['device-17', 'device-17.fleet', 'urn:dev:17', 'CN=device-17,O=Fleet']);
  });

  it('MQTT: the certificate is the login; the fleet rule holds for a listed and an unlisted device', async () => {
    const dev = await mqttWith(listed);
    await dev.publishAsync('devices/device-17/temp', '21.5', { qos: 1 });
    const other = await mqttWith(unlisted, `wss://127.0.0.1:${server.listeners.port('websocket', 'wss')}/mqtt`, {
      username: 'someone-else',
    });
    await other.publishAsync('devices/device-99/temp', '19.0', { qos: 1 });
    const users = server.broker.connections.list().map((c) => c.user);
    expect(users).toEqual(expect.arrayContaining(['device-17', 'device-99']));
    const closed = new Promise<void>((resolve) => dev.once('close', () => resolve()));
    dev.publish('devices/device-99/temp', 'forged', { qos: 1 });
    await closed;
  });

  it('STOMP: CONNECT without login or passcode is the certificate’s user', async () => {
    const socket = tls.connect({
      port: tlsPort('stomp'),
      host: '127.0.0.1',
      servername: 'localhost',
      ca: pki.ca,
      cert: listed.cert,
      key: listed.key,
    });
    await once(socket, 'secureConnect');
    const stomp = RawStomp.wrap(socket);
    stomp.send('CONNECT', { 'accept-version': '1.2', host: 'localhost' });
    await stomp.expect('CONNECTED');
    stomp.send('SEND', { destination: '/topic/devices.device-17.temp', receipt: 'r' }, '21.5');
    await stomp.expect('RECEIPT');
    expect(server.broker.connections.list().find((c) => c.protocol === 'stomp')?.user).toBe('device-17');
    socket.destroy();
  });

  it('AMQP: SASL EXTERNAL takes the certificate’s user', async () => {
    const conn = rhea.create_container({ id: 'cert-client' }).connect({
      host: '127.0.0.1',
      port: tlsPort('amqp'),
      transport: 'tls',
      servername: 'localhost',
      ca: pki.ca,
      cert: listed.cert,
      key: listed.key,
      enable_sasl_external: true,
      reconnect: false,
    } as never);
    amqpConnections.push(conn);
    conn.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      conn.once('connection_open', () => resolve());
      conn.once('disconnected', (e: EventContext) => reject(new Error(String(e.error ?? 'disconnected'))));
    });
    const sender = conn.open_sender('topic://devices.device-17.temp');
    await once(sender as never, 'sendable');
    expect(server.broker.connections.list().find((c) => c.protocol === 'amqp')?.user).toBe('device-17');
  });

  it('refuses at the handshake a certificate of another CA, an expired one, a revoked one, and none', async () => {
    await expect(mqttWith(listed)).resolves.toBeDefined();
    for (const cert of [stranger, expired, revoked, undefined]) await expect(mqttWith(cert)).rejects.toThrow();
  });
});
