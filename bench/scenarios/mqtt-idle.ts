// Many idle MQTT connections: a Junction process, then N raw TCP clients that CONNECT (clean
// session, keep-alive 60 s) and subscribe at QoS 1 to their own command topic, as devices do, and
// then stay silent (MQTT 3.1.1, or 5 with `version: 5`). Reports the broker's resident memory
// before and after, and per connection.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import mqttPacket from 'mqtt-packet';
import { startJunctionProcess } from '../lib/junction-process.ts';

export interface MqttIdleScenario {
  connections: number;
  /** Each device subscribes to its own command topic (default), or only connects. */
  subscribe: boolean;
  store: 'embedded' | 'memory';
  /** The devices' MQTT protocol level: 4 (3.1.1) or 5. */
  version: 4 | 5;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects one device and resolves once its SUBACK is in. */
function device(port: number, id: string, subscribe: boolean, version: 4 | 5): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p) => {
      if (p.cmd === 'connack' && !subscribe) {
        resolve(sock);
      } else if (p.cmd === 'connack') {
        sock.write(
          mqttPacket.generate(
            { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `devices/${id}/cmd`, qos: 1 }] },
            { protocolVersion: version },
          ),
        );
      } else if (p.cmd === 'suback') {
        resolve(sock);
      }
    });
    sock.on('data', (d: Buffer) => parser.parse(d));
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.write(
        mqttPacket.generate(
          { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: id, keepalive: 60 },
          { protocolVersion: version },
        ),
      );
    });
  });
}

export async function runMqttIdleScenario(s: MqttIdleScenario): Promise<Record<string, unknown>> {
  const junction = await startJunctionProcess(s.store, 'mqtt');
  const sockets: net.Socket[] = [];
  try {
    await settle(2000);
    const before = rssBytes(junction.pid);
    const t0 = performance.now();
    for (let i = 0; i < s.connections; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(s.connections, i + 200); j++) batch.push(device(junction.port, `dev-${j}`, s.subscribe, s.version));
      sockets.push(...(await Promise.all(batch)));
    }
    const connectSeconds = (performance.now() - t0) / 1000;
    await settle(5000);
    const after = rssBytes(junction.pid);
    return {
      scenario: 'mqtt-idle',
      connections: s.connections,
      subscribed: s.subscribe,
      mqttVersion: s.version === 5 ? '5' : '3.1.1',
      store: s.store,
      connectPerSec: Math.round(s.connections / connectSeconds),
      brokerRssBeforeMB: +(before / 2 ** 20).toFixed(1),
      brokerRssAfterMB: +(after / 2 ** 20).toFixed(1),
      bytesPerConnection: Math.round((after - before) / s.connections),
      node: process.version,
    };
  } finally {
    for (const sock of sockets) sock.destroy();
    await junction.stop();
  }
}
