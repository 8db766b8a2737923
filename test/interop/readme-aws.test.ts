// The README's "Use it from the AWS SDK and CLI" as a new user runs it: each shell block there,
// with Debian's `aws` CLI, mosquitto_pub and qpid-proton, against a broker with every protocol;
// only the default ports are swapped for the test broker's. Each block must print what its
// "# prints:" comments say.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startTestServer } from '../helpers/server.ts';

const run = promisify(execFile);

function section(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## Use it from the AWS SDK and CLI');
  if (start < 0) throw new Error('README.md has no "Use it from the AWS SDK and CLI" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

const blocks = [...section().matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);

let server: JunctionServer;
let directory: string;
beforeAll(async () => {
  const ephemeral = { port: 0, tls: false };
  directory = mkdtempSync(join(tmpdir(), 'junction-readme-firehose-'));
  ({ server } = await startTestServer(
    [mqttAdapter, amqpAdapter, awsAdapter],
    { mqtt: ephemeral, amqp: ephemeral, aws: ephemeral, websocket: { enabled: false } },
    { firehose: { directory } },
  ));
});
afterAll(async () => {
  await server?.stop();
  rmSync(directory, { recursive: true, force: true });
});

function onTestPorts(block: string): string {
  const port = (p: string): number => server.listeners.port(p, 'tcp') as number;
  return block
    .replace(/localhost:4566\b/g, `localhost:${port('aws')}`)
    .replace(/-p 1883\b/g, `-p ${port('mqtt')}`)
    .replace(/localhost:5672\b/g, `localhost:${port('amqp')}`);
}

describe("the README's AWS examples", () => {
  it('has a block for SQS, one for SNS, one for Firehose and one for Kinesis', () => {
    expect(blocks.map((b) => /aws --endpoint-url \S+ (sqs|sns|firehose|kinesis)/.exec(b)?.[1])).toEqual([
      'sqs',
      'sns',
      'firehose',
      'kinesis',
    ]);
  });

  for (const [i, block] of blocks.entries()) {
    it(`block ${i + 1} prints what it says`, async () => {
      const script = onTestPorts(block);
      const expected = [...script.matchAll(/# prints: (.+)$/gm)].map((m) => (m[1] as string).trim());
      expect(expected.length).toBeGreaterThan(0);
      // Debian's awscli (v2, what the README names) before any other `aws` on the PATH: v1 would put a blob's base64 text as it is.
      const env = { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` };
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { timeout: 60_000, env });
      for (const line of expected) expect(stdout.split('\n')).toContain(line);
    }, 70_000);
  }
});
