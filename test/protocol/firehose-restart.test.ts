// Delivery streams across a broker restart on a real redis-server: records buffered and not yet
// delivered are delivered by the next broker; and a broker that stopped after writing an object
// but before its acknowledgements reached the store (the journal names the object, the object is
// there) does not write those records again: the next broker acknowledges them from the journal.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { lines, readBucket, waitForObjects } from '../helpers/firehose.ts';
import { startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer } from '../helpers/server.ts';

let redis: TestRedis;
let directory: string;

beforeAll(async () => {
  redis = await startRedis();
  directory = mkdtempSync(join(tmpdir(), 'junction-firehose-restart-'));
});

afterAll(async () => {
  await redis?.stop();
  rmSync(directory, { recursive: true, force: true });
});

async function start(intervalSeconds: number): Promise<{ server: JunctionServer; client: FirehoseClient }> {
  const { server } = await startTestServer(
    [awsAdapter],
    { aws: { port: 0, tls: false }, websocket: { enabled: false } },
    {
      store: { type: 'redis', redis: { url: redis.url } },
      firehose: {
        directory,
        deliveryStreams: [{ name: 'kept', destination: { bucket: 'kept', bufferingIntervalSeconds: intervalSeconds, delimiter: '\n' } }],
      },
    },
  );
  const client = new FirehoseClient({
    endpoint: `http://127.0.0.1:${server.listeners.port('aws', 'tcp') as number}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return { server, client };
}

describe('delivery streams across a restart', () => {
  it('deliver what was buffered, and do not write again what the last object already holds', async () => {
    // A broker that buffers (a 900 s interval) and stops before delivering.
    const first = await start(900);
    const ids: string[] = [];
    for (const r of ['one', 'two', 'three', 'four']) {
      const out = await first.client.send(new PutRecordCommand({ DeliveryStreamName: 'kept', Record: { Data: Buffer.from(r) } }));
      ids.push(out.RecordId as string);
    }
    // As if it had written an object with the first two and stopped before acknowledging them:
    // the journal names the object, and the object is there.
    const key = '2026/12/07/10/kept-1-2026-12-07-10-00-00-00000000-0000-0000-0000-000000000000';
    await first.server.activeBroker()?.putSession({
      id: 'firehose:writing:kept',
      data: { bucket: 'kept', key, ids: ids.slice(0, 2) },
      updatedAt: Date.now(),
      expiresAt: 0,
    });
    await mkdir(dirname(join(directory, 'kept', key)), { recursive: true });
    writeFileSync(join(directory, 'kept', key), 'one\ntwo\n');
    first.client.destroy();
    await first.server.stop();
    expect((await readBucket(directory, 'kept')).map((o) => o.key)).toEqual([key]);

    // The next broker delivers at once: the other two, once; the first two are acknowledged from the journal.
    const second = await start(0);
    try {
      const objects = await waitForObjects(directory, 'kept', (o) => lines(o).length >= 4);
      expect(lines(objects).sort()).toEqual(['four', 'one', 'three', 'two']);
      const view = second.server.activeDeliveryStreams()?.view('kept');
      expect(view?.stats?.skipped).toBe(2);
      expect(view?.stats?.records).toBe(2);
      // The skipped ones are acknowledged too: nothing of the four is left in the stream's buffer.
      await second.server.activeBroker()?.flush();
      expect(second.server.activeBroker()?.getQueue('firehose.kept')?.messages).toBe(0);
      await second.client.send(new PutRecordCommand({ DeliveryStreamName: 'kept', Record: { Data: Buffer.from('five') } }));
      expect(lines(await waitForObjects(directory, 'kept', (o) => lines(o).length >= 5)).sort()).toEqual([
        'five',
        'four',
        'one',
        'three',
        'two',
      ]);
    } finally {
      second.client.destroy();
      await second.server.stop();
    }
  });
});
