// OpenWire scenario: ActiveMQ's own JMS client (bench/lib/OpenWireBench.java, compiled here against
// Debian's activemq-client.jar) drives persistent messages through a queue 1 -> 1 with synchronous
// sends (JMS's default for persistent messages) and with useAsyncSend=true, and through a topic
// 1 -> 10. The same shapes run against a Junction process started here and, when
// ../shared/anchors/start-activemq.sh has started it, against ActiveMQ on 26616; Junction's own STOMP
// persistent queue on the same process is the reference the issue asks OpenWire not to fall behind.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ACTIVEMQ_CLIENT_JARS } from '../../test/helpers/openwire.ts';
import { startJunctionProcess } from '../lib/junction-process.ts';
import { reachable } from '../lib/reachable.ts';
import { driveStomp } from './stomp.ts';

export interface OpenWireScenario {
  seconds: number;
  size: number;
  store: 'embedded' | 'memory';
  activemqPort: number;
}

interface Shape {
  name: string;
  destination: string;
  mode: 'sync' | 'async';
  consumers: number;
}

const SHAPES: Shape[] = [
  { name: 'queue 1->1, sync sends', destination: 'queue:bench.ow.sync', mode: 'sync', consumers: 1 },
  { name: 'queue 1->1, async sends', destination: 'queue:bench.ow.async', mode: 'async', consumers: 1 },
  { name: 'topic 1->10, async sends', destination: 'topic:bench.ow.fanout', mode: 'async', consumers: 10 },
];

async function compile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-openwire-bench-'));
  await promisify(execFile)('javac', [
    '-d',
    dir,
    '-cp',
    ACTIVEMQ_CLIENT_JARS.join(':'),
    join(import.meta.dirname, '../lib/OpenWireBench.java'),
  ]);
  return [dir, ...ACTIVEMQ_CLIENT_JARS].join(':');
}

async function drive(cp: string, url: string, shape: Shape, s: OpenWireScenario, login: string[]): Promise<Record<string, number>> {
  const destination = `${shape.destination}.${Date.now()}`;
  const { stdout } = await promisify(execFile)(
    'java',
    ['-cp', cp, 'OpenWireBench', url, destination, String(s.seconds), String(s.size), shape.mode, String(shape.consumers), ...login],
    { timeout: (s.seconds + 120) * 1000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
}

export async function runOpenWireScenario(s: OpenWireScenario): Promise<Record<string, unknown>> {
  const cp = await compile();
  const anchor = await reachable(s.activemqPort);
  const shapes: Record<string, unknown> = {};
  for (const shape of SHAPES) {
    const junction = await startJunctionProcess(s.store, 'openwire');
    try {
      const j = await drive(cp, `tcp://127.0.0.1:${junction.port}`, shape, s, []);
      const a = anchor
        ? await drive(cp, `tcp://127.0.0.1:${s.activemqPort}`, shape, s, ['admin', 'admin'])
        : 'not running (../shared/anchors/start-activemq.sh)';
      shapes[shape.name] = { junction: j, activemq: a };
    } finally {
      await junction.stop();
    }
  }
  const stomp = await startJunctionProcess(s.store, 'stomp');
  let stompReference: unknown;
  try {
    stompReference = await driveStomp(stomp.port, { seconds: s.seconds, size: s.size, window: 100 }, {});
  } finally {
    await stomp.stop();
  }
  return {
    scenario: 'openwire',
    persistent: true,
    bodyBytes: s.size,
    seconds: s.seconds,
    store: s.store,
    shapes,
    junctionStompQueue: stompReference,
    node: process.version,
  };
}
