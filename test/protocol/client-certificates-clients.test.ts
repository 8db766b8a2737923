// Certificate identities with clients not built on mqtt.js or rhea: mosquitto_pub/sub, Debian's
// python3-paho-mqtt, stomp.py and qpid-proton (SASL EXTERNAL), each presenting only a client
// certificate. The certificate names the user, the fleet rule `devices.%u.>` holds for it
// (retained messages included), and a certificate naming nobody listed is refused while
// tls.identityGroups is empty.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JunctionServer } from '../../src/server.ts';
import { Pki, type Issued } from '../helpers/pki.ts';
import { startAllProtocols } from '../helpers/server.ts';

const run = promisify(execFile);
const pki = new Pki();
const serverCert = pki.server();
const device17 = pki.issue('/CN=device-17');
const device18 = pki.issue('/CN=device-18');
const unlisted = pki.issue('/CN=device-99');
const script = new URL('../fixtures/cert_identity_clients.py', import.meta.url).pathname;

let server: JunctionServer;

beforeAll(async () => {
  ({ server } = await startAllProtocols({
    tls: {
      cert: serverCert.certFile,
      key: serverCert.keyFile,
      ca: pki.caFile,
      requestCert: true,
      rejectUnauthorized: true,
      identityFrom: 'cn',
    },
    listeners: {
      host: '127.0.0.1',
      mqtt: { port: 0, tlsPort: 0 },
      stomp: { port: 0, tlsPort: 0 },
      amqp: { port: 0, tlsPort: 0 },
    },
    security: {
      users: [
        { username: 'device-17', groups: ['devices'] },
        { username: 'device-18', groups: ['devices'] },
      ],
      authorization: [{ topic: 'devices.%u.>', read: ['devices'], write: ['devices'], admin: ['devices'] }],
    },
  }));
  await mosquittoPub(device18, ['-t', 'devices/device-18/config', '-m', 'not yours', '-r']);
  await mosquittoPub(device17, ['-t', 'devices/device-17/config', '-m', 'own config', '-r']);
});

afterAll(async () => {
  await server?.stop();
});

const tlsPort = (protocol: string): number => server.listeners.port(protocol, 'tls') as number;

function certArgs(cert: Issued): string[] {
  return ['-h', '127.0.0.1', '-p', String(tlsPort('mqtt')), '--cafile', pki.caFile, '--cert', cert.certFile, '--key', cert.keyFile];
}

function mosquittoPub(cert: Issued, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('mosquitto_pub', [...certArgs(cert), '-q', '1', ...args], { timeout: 10_000 });
}

async function python(mode: string, protocol: string): Promise<Record<string, unknown>> {
  const args = [script, mode, String(tlsPort(protocol)), pki.caFile, device17.certFile, device17.keyFile, 'device-17', 'device-18'];
  const { stdout } = await run('/usr/bin/python3', args, { timeout: 30_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('client certificates with independent clients', () => {
  it('mosquitto_sub on devices/# gets only its own retained and live messages; mosquitto_pub signs in by certificate', async () => {
    const sub = spawn('mosquitto_sub', [...certArgs(device17), '-t', 'devices/#', '-q', '1', '-v', '-W', '20']);
    const lines: string[] = [];
    const reader = createInterface({ input: sub.stdout });
    const seen = (line: string) =>
      new Promise<void>((resolve) => {
        const check = (l: string) => {
          if (l !== line) return;
          reader.off('line', check);
          resolve();
        };
        reader.on('line', check);
      });
    reader.on('line', (l) => lines.push(l));
    try {
      // The retained message arrives only after the SUBACK: from then on a live message reaches it.
      await seen('devices/device-17/config own config');
      const live = seen('devices/device-17/temp mine');
      await mosquittoPub(device17, ['-t', 'devices/device-17/temp', '-m', 'mine']);
      await live;
      expect(lines).toEqual(['devices/device-17/config own config', 'devices/device-17/temp mine']);
    } finally {
      sub.kill();
      await once(sub, 'close');
    }
  });

  it('mosquitto_pub: a certificate naming nobody listed is refused (tls.identityGroups is empty)', async () => {
    const refused = await mosquittoPub(unlisted, ['-t', 'devices/device-99/temp', '-m', 'x']).catch((e: { stderr: string }) => e);
    expect(refused.stderr).toMatch(/not authori[sz]ed/i);
  });

  it('paho: CONNACK 0 with no username; devices/# brings its own retained message and its own publish; a forged topic ends the connection', async () => {
    const r = await python('paho', 'mqtt');
    expect(r).toEqual({
      received: [
        ['devices/device-17/config', 'own config'],
        ['devices/device-17/temp', 'mine'],
      ],
      connack: 0,
      granted: [1],
      forged: 'connection closed',
    });
  });

  it('stomp.py: CONNECT without login is the certificate’s user; SEND outside its subtree is an ERROR', async () => {
    const r = await python('stomp', 'stomp');
    expect(r.received).toEqual([['/topic/devices.device-17.temp', 'mine']]);
    expect(r.forged).toMatch(/device-17 is not authorized to write to topic:\/\/devices\.device-18\.temp/);
  });

  it('qpid-proton: SASL EXTERNAL with the certificate; a sender outside its subtree is refused', async () => {
    const r = await python('proton', 'amqp');
    expect(r.received).toEqual([['topic://devices.device-17.temp', 'mine']]);
    expect(r.forged).toMatch(/unauthorized-access|not authorized/);
  });
});
